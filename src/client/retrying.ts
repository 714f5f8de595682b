/**
 * Calls that are failing and being retried, from Temporal's description of a goal (its pending activities), so that
 * `baton status` and `baton watch` show a broken model endpoint or tool instead of "running" or "thinking". Read on
 * the client; the workflow is not involved.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { clip, oneLine } from '../text.js';

/** One activity that has failed at least once and is waiting for, or running, its next attempt. */
export interface RetryingCall {
  /** Activity id: `model-3` is the model call of step 3. */
  activityId: string;
  /** `callModel`, `runTool`, ... */
  activity: string;
  /** The attempt running now or scheduled next (1-based). */
  attempt: number;
  /** 0 means unlimited. */
  maximumAttempts: number;
  /** The last attempt's failure, whole (a model endpoint's error body, capped by the activity, may span lines). */
  lastError: string;
  /** ISO time of the next attempt, while it waits for it. */
  nextAttemptAt?: string;
}

type Timestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;

function isoTime(ts: Timestamp): string | undefined {
  if (!ts?.seconds) return undefined;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/** The retrying calls of a goal: pending activities with a last failure. */
export function retryingCalls(desc: WorkflowExecutionDescription): RetryingCall[] {
  const calls: RetryingCall[] = [];
  for (const p of desc.raw.pendingActivities ?? []) {
    const message = p.lastFailure?.message;
    if (!message) continue;
    const next = isoTime(p.nextAttemptScheduleTime);
    calls.push({
      activityId: p.activityId ?? '?',
      activity: p.activityType?.name ?? '?',
      attempt: p.attempt ?? 1,
      maximumAttempts: p.maximumAttempts ?? 0,
      lastError: message,
      ...(next ? { nextAttemptAt: next } : {}),
    });
  }
  return calls;
}

/**
 * One line about a retrying call: `model call model-3 is retrying (attempt 3, next attempt in 4s); last error: …`,
 * the error on one line, whole or cut to `max` characters (a progress line must fit the terminal).
 */
export function describeRetry(call: RetryingCall, now = Date.now(), max = Number.POSITIVE_INFINITY): string {
  const what = call.activity === 'callModel' ? 'model call' : call.activity === 'runTool' ? 'tool call' : call.activity;
  const of = call.maximumAttempts > 0 ? ` of ${call.maximumAttempts}` : '';
  const next = call.nextAttemptAt
    ? `next attempt in ${Math.max(0, Math.round((Date.parse(call.nextAttemptAt) - now) / 1000))}s`
    : 'attempt running now';
  return `${what} ${call.activityId} is retrying (attempt ${call.attempt}${of}, ${next}); last error: ${clip(oneLine(call.lastError), max)}`;
}
