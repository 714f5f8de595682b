/** Model calls as a goal's history records them: what each call was sent and what it returned, decoded. */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ModelReply, ModelRequest } from '../../src/activities/index.js';
import { eventsOf } from './history.js';

/** One callModel activity: its input, its result (when it completed), its attempts and its last failure. */
export interface RecordedModelCall {
  activityId: string;
  request: ModelRequest;
  reply?: ModelReply;
  attempt?: number;
  failure?: { type: string; message: string; nonRetryable: boolean };
}

/** Every callModel activity of a goal's latest run, in order. */
export async function modelCallsOf(client: Client, workflowId: string): Promise<RecordedModelCall[]> {
  const events = await eventsOf(client, workflowId);
  const calls = new Map<string, RecordedModelCall>();
  for (const e of events) {
    const id = String(e.eventId);
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'callModel') {
      const payload = s.input?.payloads?.[0];
      calls.set(id, {
        activityId: s.activityId ?? '?',
        request: payload ? defaultPayloadConverter.fromPayload<ModelRequest>(payload) : ({} as ModelRequest),
      });
    }
    const started = e.activityTaskStartedEventAttributes;
    const startedCall = started ? calls.get(String(started.scheduledEventId)) : undefined;
    if (started && startedCall) startedCall.attempt = started.attempt ?? 1;
    const done = e.activityTaskCompletedEventAttributes;
    const doneCall = done ? calls.get(String(done.scheduledEventId)) : undefined;
    const result = done?.result?.payloads?.[0];
    if (doneCall && result) doneCall.reply = defaultPayloadConverter.fromPayload<ModelReply>(result);
    const failed = e.activityTaskFailedEventAttributes;
    const failedCall = failed ? calls.get(String(failed.scheduledEventId)) : undefined;
    if (failed && failedCall) {
      failedCall.failure = {
        type: failed.failure?.applicationFailureInfo?.type ?? '',
        message: failed.failure?.message ?? '',
        nonRetryable: failed.failure?.applicationFailureInfo?.nonRetryable ?? false,
      };
    }
  }
  return [...calls.values()];
}
