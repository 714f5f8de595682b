/**
 * The recorded histories in test/histories/, and what they hold, read as the worker wrote it: events by type, and
 * payloads (results, update and signal inputs, patch markers, the audit's facts) decoded with the payload converter
 * the recorder's worker used (no codec: the default one), never searched as raw JSON.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { asFact, FACT_MEMO_KEY, type AuditFact } from '../../src/workflows/facts.js';

export const histories = readdirSync('test/histories')
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(`test/histories/${f}`, 'utf8'))),
  }));

export const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The events of one type in a recorded history. */
export function eventsOf(workflowId: string, type: temporal.api.enums.v1.EventType): HistoryEvent[] {
  const history = histories.find((h) => h.workflowId === workflowId)?.history;
  if (!history) throw new Error(`no recorded history ${workflowId}`);
  return (history.events ?? []).filter((e) => e.eventType === type);
}

/** Payloads decoded as the worker wrote them. */
export function decoded(payloads: { payloads?: Payload[] | null } | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));
}

/** A search attribute a start or an upsert event carries, decoded; undefined when it carries none. */
export function decodedAttribute(event: HistoryEvent, key: string): unknown {
  const fields =
    event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ??
    event.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields;
  const payload = fields?.[key];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
}

/** The goal's result, from its completion event. */
export function resultOf(workflowId: string): { status?: string; answer?: string } | undefined {
  const [done] = eventsOf(workflowId, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  return decoded(done?.workflowExecutionCompletedEventAttributes?.result)[0] as { status?: string } | undefined;
}

/** The decisions sent through the `decide` update. */
export function decisions(workflowId: string): unknown[] {
  return eventsOf(workflowId, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input)
    .filter((input) => input?.name === 'decide')
    .map((input) => (decoded(input?.args)[0] as { decision?: string }).decision);
}

/** The inputs of the signals of one name, in history order. */
export function signalled(workflowId: string, name: string): unknown[] {
  return eventsOf(workflowId, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    .map((e) => e.workflowExecutionSignaledEventAttributes)
    .filter((s) => s?.signalName === name)
    .map((s) => decoded(s?.input)[0]);
}

/** The `patched()` markers the history carries (core's `patch-data` detail). */
export function patchesOf(workflowId: string): string[] {
  return eventsOf(workflowId, EventType.EVENT_TYPE_MARKER_RECORDED)
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_patch')
    .map((m) => (decoded(m?.details?.['patch-data'])[0] as { id?: string } | undefined)?.id ?? '?');
}

/** The activity types scheduled, in history order. */
export function activitiesOf(workflowId: string): string[] {
  return eventsOf(workflowId, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
  );
}

/** The audit's facts: one per memo upsert under `batonFact`, in history order. */
export function factsOf(workflowId: string): AuditFact[] {
  return eventsOf(workflowId, EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED).flatMap((e) => {
    const field = e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.[FACT_MEMO_KEY];
    const fact = field ? asFact(defaultPayloadConverter.fromPayload(field)) : undefined;
    return fact ? [fact] : [];
  });
}

/** The facts of one kind. */
export function factsOfKind<K extends AuditFact['fact']>(
  workflowId: string,
  kind: K,
): Extract<AuditFact, { fact: K }>[] {
  return factsOf(workflowId).filter((f): f is Extract<AuditFact, { fact: K }> => f.fact === kind);
}
