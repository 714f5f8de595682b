/**
 * How a model reply without tool calls ended, read from its structured finish reason: only a reply that stopped
 * on its own is an answer. A reply cut off at the token limit or withheld by the provider's filter never completes
 * a goal; the agent is told what happened and tries again (counted as a repair).
 */
import type { ModelReply } from '../activities/index.js';

/** What the loop does with a reply that has no tool calls. */
export type ReplyEnding = { kind: 'answer' } | { kind: 'truncated' | 'refused'; problem: string; instruction: string };

/** Reads a reply's finish reason (`stop`, `length`, `content_filter`, ...) as what the loop must do. */
export function replyEnding(reply: Pick<ModelReply, 'finishReason' | 'outcome' | 'refusal'>): ReplyEnding {
  // A refusal (`message.refusal`) comes with finish_reason stop: the activity's outcome says what it is.
  if (reply.outcome === 'refusal') {
    return {
      kind: 'refused',
      problem: `the model refused: ${reply.refusal ?? '(no reason given)'}`,
      instruction:
        'You declined to answer, so your reply was not taken as an answer. Answer within your instructions, or call a tool.',
    };
  }
  switch (reply.finishReason) {
    case 'length':
      return {
        kind: 'truncated',
        problem: 'a reply cut off at the token limit (finish_reason length)',
        instruction:
          'Your reply was cut off at the token limit, so it was not taken as an answer. Give a shorter complete answer, or call a tool.',
      };
    case 'content_filter':
      return {
        kind: 'refused',
        problem: "a reply withheld by the provider's content filter (finish_reason content_filter)",
        instruction:
          "Your reply was withheld by the provider's content filter, so it was not taken as an answer. Answer again within the provider's policy, or call a tool.",
      };
    default:
      return { kind: 'answer' };
  }
}
