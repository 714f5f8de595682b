/**
 * Resolving External Storage references in raw history. The SDK resolves them where it decodes (workflow activations,
 * query and update results), but `fetchHistory()` returns the history as the server holds it: the audit and the
 * codec server put the stored payloads back in place here, each checked against its hash by the driver.
 */
import { StorageDriverClaim, type ExternalStorage, type Payload } from '@temporalio/common';
import type { ConversationStore } from './conversation-store.js';
import { StoredPayloadError } from './payload-store.js';

const REFERENCE_TYPE = 'temporal.api.sdk.v1.ExternalStorageReference';

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return undefined;
}

interface Reference {
  driverName: string;
  claimData: Record<string, string>;
}

/** The reference a payload carries, or undefined when it is an ordinary payload. */
export function storedReference(payload: Payload): Reference | undefined {
  const meta = payload.metadata as Record<string, unknown> | null | undefined;
  if (text(meta?.messageType) !== REFERENCE_TYPE) return undefined;
  const body = text(payload.data);
  if (body === undefined) return undefined;
  const ref = JSON.parse(body) as Partial<Reference>;
  if (typeof ref.driverName !== 'string') return undefined;
  return { driverName: ref.driverName, claimData: ref.claimData ?? {} };
}

function isPayload(value: object): value is Payload {
  return 'metadata' in value && 'data' in value;
}

function collect(value: unknown, found: Payload[]): void {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (isPayload(value)) {
    found.push(value);
    return;
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) collect(child, found);
}

/**
 * Replaces, in place, every reference payload under `root` (a history, an event list, a list of payloads) with the
 * payload it stands for. Returns how many were resolved. Throws when a stored object is missing or altered.
 */
export async function resolveStoredPayloads(root: unknown, storage: ExternalStorage | undefined): Promise<number> {
  const payloads: Payload[] = [];
  collect(root, payloads);
  let resolved = 0;
  for (const payload of payloads) {
    const ref = storedReference(payload);
    if (!ref) continue;
    if (!storage) {
      throw new StoredPayloadError(
        'this history keeps large payloads in a payload store: set BATON_PAYLOAD_STORE to the store the workers use',
      );
    }
    const driver = storage.getDriver(ref.driverName);
    if (!driver)
      throw new StoredPayloadError(`no payload store named ${ref.driverName} is configured to read this history`);
    const [stored] = await driver.retrieve({}, [new StorageDriverClaim(ref.claimData)]);
    if (!stored)
      throw new StoredPayloadError(
        `payload store ${ref.driverName} returned nothing for ${JSON.stringify(ref.claimData)}`,
      );
    const target = payload as { metadata?: unknown; data?: unknown; externalPayloads?: unknown };
    target.metadata = stored.metadata;
    target.data = stored.data;
    delete target.externalPayloads;
    resolved++;
  }
  return resolved;
}

/** A tool result whose whole output the conversation store keeps (`output` is its preview). */
interface StoredResult {
  output: string;
  idempotencyKey: string;
  stored: { sha256: string };
}

function storedResult(payload: Payload): StoredResult | undefined {
  if (text(payload.metadata?.encoding) !== 'json/plain') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.data ?? []).toString('utf8'));
  } catch {
    return undefined;
  }
  const v = value as Partial<StoredResult> | null;
  return v &&
    typeof v.output === 'string' &&
    typeof v.idempotencyKey === 'string' &&
    typeof v.stored?.sha256 === 'string'
    ? (v as StoredResult)
    : undefined;
}

/**
 * Puts, in place, the whole output back into every tool result under `root` whose output the conversation store
 * keeps, each text checked against its hash (src/codec/conversation-store.ts). Returns how many. Throws when a text is
 * missing or altered, or when there is no store to read them from.
 */
export async function resolveStoredTexts(root: unknown, store: ConversationStore | undefined): Promise<number> {
  const payloads: Payload[] = [];
  collect(root, payloads);
  let resolved = 0;
  for (const payload of payloads) {
    const result = storedResult(payload);
    if (!result) continue;
    if (!store) {
      throw new StoredPayloadError(
        'this history keeps long tool outputs in the conversation store: set BATON_PAYLOAD_STORE to the store the workers use',
      );
    }
    result.output = await store.get<string>(result.stored.sha256);
    (payload as { data?: unknown }).data = Buffer.from(JSON.stringify(result), 'utf8');
    resolved++;
  }
  return resolved;
}
