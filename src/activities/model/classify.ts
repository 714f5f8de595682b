/**
 * Replies classified, not assumed: what a provider's reply means for the goal loop, and tool-call ids the
 * transcript can rely on (a server that sends none, or the same one twice, gets stable ids assigned here).
 */
import type { ToolCallRequest } from '../../workflows/definitions.js';
import type { ModelOutcome, ModelReply, RawReply } from './types.js';

/** The outcome of a reply, from its finish reason first (a cut reply is cut even if it holds tool calls). */
export function outcomeOf(raw: RawReply): ModelOutcome {
  if (raw.finishReason === 'length') return 'truncated';
  if (raw.finishReason === 'content_filter') return 'content_filter';
  if (raw.refusal?.trim()) return 'refusal';
  if (raw.toolCalls.length) return 'tool_calls';
  return raw.content.trim() ? 'answer' : 'empty';
}

/**
 * Tool calls with ids unique within the reply and the transcript so far. A missing or repeated id is replaced by
 * `<prefix>_<index>` (suffixed when even that is taken): derived from the activity, so it is the same on a retry.
 */
export function withStableIds(
  raw: RawReply,
  transcriptIds: ReadonlySet<string>,
  prefix: string,
): { toolCalls: ToolCallRequest[]; reassignedIds: NonNullable<ModelReply['reassignedIds']> } {
  const taken = new Set(transcriptIds);
  const reassignedIds: NonNullable<ModelReply['reassignedIds']> = [];
  const toolCalls = raw.toolCalls.map((call, index): ToolCallRequest => {
    let id = call.id?.trim() ?? '';
    if (!id || taken.has(id)) {
      let assigned = `${prefix}_${index}`;
      for (let n = 2; taken.has(assigned); n++) assigned = `${prefix}_${index}_${n}`;
      reassignedIds.push({ index, sent: id, assigned });
      id = assigned;
    }
    taken.add(id);
    return { id, name: call.name, arguments: call.arguments || '{}' };
  });
  return { toolCalls, reassignedIds };
}
