/**
 * A goal's Temporal history as plain events: read from the server across continue-as-new runs, or from the JSON
 * that `temporal workflow show --output json` writes. Both arrive in one shape, with payloads decoded, so the
 * audit is built the same way from either.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { conversationStoreFrom } from '../codec/conversation-store.js';
import { resolveStoredPayloads, resolveStoredTexts } from '../codec/stored-references.js';

/** One history event. */
export interface HistoryEvent {
  id: number;
  /** When the server recorded it, RFC 3339 with the precision Temporal stores (as `temporal workflow show` prints). */
  time: string;
  /** The event type without prefix, e.g. `ActivityTaskScheduled`. */
  type: string;
  /** The event's attributes as received; read them with the helpers below. */
  attrs: Record<string, unknown>;
  /** The Web UI summary attached to the event (activity or timer summary, workflow static summary). */
  summary?: string;
  details?: string;
}

/** One run of a goal (a goal that continued as new has several). */
export interface RunHistory {
  runId: string;
  events: HistoryEvent[];
}

/** The goal cannot be audited: unknown id, not a goal, or a history Baton cannot read. */
export class AuditError extends Error {
  override readonly name = 'AuditError';
}

const CLOSE_TYPES = new Set([
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionTerminated',
  'WorkflowExecutionTimedOut',
  'WorkflowExecutionContinuedAsNew',
]);

/** True for the event that ends a run. */
export function isCloseEvent(e: HistoryEvent): boolean {
  return CLOSE_TYPES.has(e.type);
}

/** A scalar attribute as text (strings as they are, numbers and booleans printed); anything else is empty. */
export function text(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value || fallback;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fallback;
}

/** An int64 as protobufjs (Long), JSON (string) or a number gives it. */
export function int(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (value && typeof value === 'object' && 'toNumber' in value && typeof value.toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number.NaN;
}

function bytes(value: unknown): Buffer | undefined {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return undefined;
}

/** A timestamp (RFC 3339 string, or protobuf seconds + nanos) as RFC 3339 with 0, 3, 6 or 9 fraction digits. */
export function timestamp(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '';
  const v = value as { seconds?: unknown; nanos?: unknown };
  const seconds = int(v.seconds ?? 0);
  const nanos = int(v.nanos ?? 0) || 0;
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${whole}Z`;
  const digits = nanos % 1_000_000 === 0 ? 3 : nanos % 1000 === 0 ? 6 : 9;
  return `${whole}.${String(nanos).padStart(9, '0').slice(0, digits)}Z`;
}

/** Milliseconds between two RFC 3339 times (sub-millisecond digits dropped). */
export function msBetween(from: string, to: string): number {
  return Date.parse(to) - Date.parse(from);
}

/** A protobuf duration (`"86400s"` in JSON, seconds + nanos in protobufjs) in milliseconds. */
export function protoDurationMs(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(value);
    return m ? Math.round(Number(m[1]) * 1000) : undefined;
  }
  if (value && typeof value === 'object') {
    const v = value as { seconds?: unknown; nanos?: unknown };
    return int(v.seconds ?? 0) * 1000 + Math.round((int(v.nanos ?? 0) || 0) / 1e6);
  }
  return undefined;
}

/** A payload the audit cannot read (encrypted by a codec, protobuf): recorded as such, never guessed. */
export interface OpaquePayload {
  encoding: string;
  bytes: number;
}

/** Decodes one payload: JSON as values, null as null, anything else as an {@link OpaquePayload}. */
export function decodePayload(payload: unknown): unknown {
  if (!payload || typeof payload !== 'object') return undefined;
  const p = payload as { metadata?: Record<string, unknown>; data?: unknown };
  const encoding = bytes(p.metadata?.encoding)?.toString('utf8') ?? '';
  const data = bytes(p.data) ?? Buffer.alloc(0);
  if (encoding === 'json/plain') {
    try {
      return JSON.parse(data.toString('utf8')) as unknown;
    } catch {
      return { encoding, bytes: data.length } satisfies OpaquePayload;
    }
  }
  if (encoding === 'binary/null') return null;
  return { encoding, bytes: data.length } satisfies OpaquePayload;
}

/** Decodes `{ payloads: [...] }` into its values. */
export function decodePayloads(value: unknown): unknown[] {
  const list = (value as { payloads?: unknown[] } | null | undefined)?.payloads;
  return Array.isArray(list) ? list.map(decodePayload) : [];
}

/** The first value of `{ payloads: [...] }`. */
export function firstPayload(value: unknown): unknown {
  return decodePayloads(value)[0];
}

function attributesKey(raw: Record<string, unknown>): string | undefined {
  return Object.keys(raw).find((k) => k.endsWith('EventAttributes') && raw[k] !== null && raw[k] !== undefined);
}

function metadataText(raw: Record<string, unknown>, field: 'summary' | 'details'): string | undefined {
  const meta = raw.userMetadata as Record<string, unknown> | null | undefined;
  const value = meta?.[field] ? decodePayload(meta[field]) : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Normalizes the events of one run, from protobufjs objects or from proto JSON. */
export function normalizeEvents(history: unknown): HistoryEvent[] {
  const events = (history as { events?: unknown[] } | null | undefined)?.events;
  if (!Array.isArray(events)) throw new AuditError('not a Temporal history: expected an object with an events array');
  return events.map((item, index) => {
    const raw = item as Record<string, unknown>;
    const key = attributesKey(raw);
    if (!key) throw new AuditError(`history event ${index + 1} has no attributes`);
    const type = key.slice(0, -'EventAttributes'.length);
    const summary = metadataText(raw, 'summary');
    const details = metadataText(raw, 'details');
    return {
      id: int(raw.eventId),
      time: timestamp(raw.eventTime),
      type: type.charAt(0).toUpperCase() + type.slice(1),
      attrs: raw[key] as Record<string, unknown>,
      ...(summary === undefined ? {} : { summary }),
      ...(details === undefined ? {} : { details }),
    };
  });
}

/** A cache of finished runs (their history never changes), for callers that read a goal repeatedly. */
export type RunCache = Map<string, HistoryEvent[]>;

/**
 * Every run of a goal, oldest first: the latest run, then back through `continuedExecutionRunId` to the run whose
 * id is the chain's `firstExecutionRunId`.
 */
export async function fetchRunChain(
  client: Client,
  goalId: string,
  cache: RunCache = new Map(),
): Promise<RunHistory[]> {
  return (await fetchGoal(client, goalId, cache)).runs;
}

/**
 * Every run of a goal ({@link fetchRunChain}) and Temporal's description of its latest run, read first: what the
 * history cannot say yet (calls being retried, a reply streaming) is in the description's pending activities.
 */
export async function fetchGoal(
  client: Client,
  goalId: string,
  cache: RunCache = new Map(),
): Promise<{ runs: RunHistory[]; description: WorkflowExecutionDescription }> {
  let description: WorkflowExecutionDescription;
  try {
    description = await client.workflow.getHandle(goalId).describe();
    if (description.type !== 'goalWorkflow') {
      throw new AuditError(
        `${goalId} is a ${description.type} workflow, not a Baton goal; \`baton list\` shows the goals`,
      );
    }
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') {
      throw new AuditError(`no goal with id ${goalId}; \`baton list\` shows the goals`);
    }
    throw err;
  }
  const runs: RunHistory[] = [];
  const seen = new Set<string>();
  let runId: string | undefined = description.runId;
  while (runId && !seen.has(runId)) {
    seen.add(runId);
    let events = cache.get(runId);
    if (!events) {
      const history = await client.workflow.getHandle(goalId, runId).fetchHistory();
      // Payloads over the threshold live in the payload store; each is put back, checked against its hash.
      await resolveStoredPayloads(history, client.options.loadedDataConverter.externalStorage);
      // Long tool outputs live in the conversation store: the whole text replaces each preview, checked likewise.
      await resolveStoredTexts(history, conversationStoreFrom(client.options.loadedDataConverter));
      events = normalizeEvents(history);
      const last = events.at(-1);
      if (last && isCloseEvent(last)) cache.set(runId, events);
    }
    runs.unshift({ runId, events });
    const started = events[0]?.attrs as { continuedExecutionRunId?: string; firstExecutionRunId?: string } | undefined;
    runId = runId === started?.firstExecutionRunId ? undefined : started?.continuedExecutionRunId || undefined;
  }
  return { runs, description };
}
