/**
 * The validator's rules as pure functions over the goal's validation state: an answer proposed for its verdict,
 * accepted, or rejected with feedback for the agent that wrote it, a bounded number of times.
 */
import type { ChatMessage, ValidationState } from './definitions.js';

/** Holds `answer` for the validator's verdict; returns the message that asks for it. */
export function propose(v: ValidationState, answer: string, by: string, step: number): ChatMessage {
  v.candidate = { answer, by, step };
  return {
    role: 'user',
    content: `[validation] The ${by} agent proposes this final answer:\n---\n${answer}\n---\nCheck it, then call accept_answer, or reject_answer with feedback.`,
  };
}

/** What a verdict decided. */
export type Verdict =
  | { kind: 'none' }
  | { kind: 'accepted'; answer: string; by: string }
  | { kind: 'rejected'; by: string; feedback: ChatMessage }
  | { kind: 'exhausted'; by: string; reason: string };

/**
 * Records the validator's verdict on the proposed answer. A rejection past `maxRounds` is `exhausted`: the goal
 * fails with the reason.
 */
export function judge(
  v: ValidationState,
  verdict: { accepted: true; note?: string } | { accepted: false; feedback: string },
  validator: string,
  step: number,
  at: string,
  maxRounds: number,
): Verdict {
  const candidate = v.candidate;
  if (!candidate) return { kind: 'none' };
  v.candidate = undefined;
  const feedback = verdict.accepted ? (verdict.note ?? '') : verdict.feedback;
  v.verdicts.push({
    verdict: verdict.accepted ? 'accepted' : 'rejected',
    by: validator,
    answerBy: candidate.by,
    feedback,
    step,
    at,
  });
  if (verdict.accepted) return { kind: 'accepted', answer: candidate.answer, by: candidate.by };
  v.rejections += 1;
  if (v.rejections > maxRounds) {
    return {
      kind: 'exhausted',
      by: candidate.by,
      reason: `validator ${validator} rejected the answer of ${candidate.by} ${v.rejections} times (limit ${maxRounds}) at step ${step}; last feedback: ${feedback}`,
    };
  }
  return {
    kind: 'rejected',
    by: candidate.by,
    feedback: {
      role: 'user',
      content: `[validator ${validator} rejected your answer] ${feedback}\nRevise the answer and give it again.`,
    },
  };
}
