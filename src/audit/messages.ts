/**
 * Signals and updates sent to a goal, as history records them: an update's request and the outcome the workflow
 * returned, and the records of the signals and updates the trail does not read as decisions or replies (recorded as
 * sent, with who sent them).
 */
import { CLIENT_DECLARED } from './identity.js';
import { AuditKind, compact, failureInfo, type Emit, type FailureInfo, type Located } from './entry.js';
import { decodePayloads, firstPayload, text } from './history.js';
import type { HistoryIndex } from './history-index.js';

/** An update's request, as the accepted event records it. */
export type UpdateRequest =
  { meta?: { updateId?: string; identity?: string }; input?: { name?: string; args?: unknown } } | undefined;

/** How an update ended, when history has its completion. */
export interface UpdateResult {
  /** The completion event. */
  done?: Located;
  /** The value the workflow returned. */
  success?: unknown;
  /** The workflow's refusal. */
  failure?: FailureInfo;
  /** The events the update's record draws on: the accepted one and its completion. */
  events: number[];
}

/** The request of the update accepted at `loc`. */
export function updateRequest(loc: Located): UpdateRequest {
  return loc.ev.attrs.acceptedRequest as UpdateRequest;
}

/** The outcome of the update accepted at `loc`. */
export function updateResult(index: HistoryIndex, loc: Located, request: UpdateRequest): UpdateResult {
  const done = index.updateOutcome(loc, request?.meta?.updateId);
  const outcome = done?.ev.attrs.outcome as { success?: unknown; failure?: unknown } | undefined;
  const success = outcome?.success ? firstPayload(outcome.success) : undefined;
  const failure = outcome?.failure ? failureInfo(outcome.failure) : undefined;
  return {
    ...(done ? { done } : {}),
    ...(success === undefined ? {} : { success }),
    ...(failure ? { failure } : {}),
    events: [loc.ev.id, ...(done ? [done.ev.id] : [])],
  };
}

/** A signal the trail does not otherwise read: recorded as sent. */
export function emitSignal(emit: Emit, loc: Located): void {
  const a = loc.ev.attrs;
  const name = text(a.signalName);
  const payloads = decodePayloads(a.input);
  emit(loc, AuditKind.Signal, text(a.identity, 'unknown client'), `signal ${name} ${compact(payloads[0], 60)}`, {
    name,
    input: payloads,
    identity: a.identity ?? null,
    identityIs: CLIENT_DECLARED,
  });
}

/** An update the trail does not otherwise read: recorded with what the workflow returned. */
export function emitUpdate(emit: Emit, loc: Located, request: UpdateRequest, result: UpdateResult): void {
  const name = text(request?.input?.name);
  const args = decodePayloads(request?.input?.args);
  const identity = request?.meta?.identity ?? null;
  const { success, failure, events } = result;
  emit(
    loc,
    AuditKind.Update,
    identity ?? 'unknown client',
    `update ${name} ${compact(args[0], 60)}${failure ? ` → failed: ${failure.message}` : ''}`,
    {
      name,
      input: args,
      identity,
      updateId: request?.meta?.updateId ?? null,
      result: success ?? null,
      failure: failure ?? null,
    },
    events,
  );
}
