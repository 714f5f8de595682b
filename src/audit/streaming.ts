/**
 * A model reply as it streams: the model-call activity heartbeats its progress (tokens so far and the text's tail,
 * `ModelProgress`), and Temporal keeps the last heartbeat's details on the pending activity. Read here from a goal's
 * description, decoded with the client's data converter (so an encrypted goal's progress reads too), for
 * `baton status`, `baton watch` and `baton audit` of a running goal. History holds none of it until the call ends.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { ModelProgress } from '../activities/index.js';
import { AuditKind, clipLine, type AuditEntry } from './entry.js';

/** A model call whose reply is streaming, as its last heartbeat said. */
export interface StreamingCall {
  /** Activity id: `model-3` is the model call of step 3. */
  activityId: string;
  attempt: number;
  /** Output tokens so far. */
  tokens: number;
  /** The tail of the reply's text so far. */
  preview: string;
  /** When the worker last reported (heartbeats are throttled: progress may be a few seconds old). */
  reportedAt?: string;
}

function isProgress(value: unknown): value is ModelProgress {
  const p = value as Partial<ModelProgress> | null | undefined;
  return typeof p?.tokens === 'number' && typeof p.preview === 'string';
}

/** The model calls of a goal that have reported tokens, from Temporal's description of it. */
export async function streamingCalls(client: Client, desc: WorkflowExecutionDescription): Promise<StreamingCall[]> {
  const calls: StreamingCall[] = [];
  for (const p of desc.raw.pendingActivities ?? []) {
    if (p.activityType?.name !== 'callModel' || !p.heartbeatDetails?.payloads?.length) continue;
    let details: unknown;
    try {
      [details] = await decodeArrayFromPayloads(client.options.loadedDataConverter, p.heartbeatDetails.payloads);
    } catch {
      continue; // A payload this client cannot decode (another key): no progress to show, not an error.
    }
    if (!isProgress(details) || details.tokens === 0) continue;
    const seconds = p.lastHeartbeatTime?.seconds;
    const at = seconds == null ? undefined : new Date(Number(seconds) * 1000).toISOString();
    calls.push({
      activityId: p.activityId ?? '?',
      attempt: p.attempt ?? 1,
      tokens: details.tokens,
      preview: details.preview,
      ...(at ? { reportedAt: at } : {}),
    });
  }
  return calls;
}

/** `streaming, 57 tokens so far: "…the reply's tail"` (the tail on one line, `max` characters at most). */
export function describeStreaming(call: StreamingCall, max = 60): string {
  const tail = call.preview.trim() ? `: "…${clipLine(call.preview.slice(-max), max)}"` : '';
  return `streaming, ${call.tokens} tokens so far${tail}`;
}

/**
 * Marks the open model calls of a trail with their progress: `data.streaming` and the summary say how far the reply
 * has come. Only the latest run's calls can be pending, and an activity id is unique within a run.
 */
export function withStreaming(entries: AuditEntry[], calls: readonly StreamingCall[], latestRun: string): void {
  for (const call of calls) {
    const entry = entries.findLast(
      (e) =>
        e.kind === AuditKind.ModelCall &&
        e.runId === latestRun &&
        e.data.activityId === call.activityId &&
        e.data.status === 'running',
    );
    if (!entry) continue;
    const { tokens, preview, reportedAt } = call;
    entry.data.streaming = { tokens, preview, ...(reportedAt ? { reportedAt } : {}) };
    entry.summary = entry.summary.replace(/waiting for the model$/, describeStreaming(call));
  }
}
