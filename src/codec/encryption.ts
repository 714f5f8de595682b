/**
 * AES-256-GCM payload encryption with key ids. The first key encrypts; every key decrypts, so keys rotate by putting
 * a new one first and keeping the old ones until no history needs them.
 *
 * Ciphertexts are bound to their context with associated data: the key id and the namespace and workflow id the SDK
 * names when it encodes (kept, authenticated, in the `encryption-context` metadata). Decoding checks the tag over
 * them, and where the SDK names the context it decodes for, that it is the same one: a payload copied into another
 * workflow's history does not decrypt there. Payloads written before this (no `encryption-context`) still decrypt,
 * without that check; set `legacy: false` once no history holds them.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ValueError, type Payload, type PayloadCodec, type SerializationContext } from '@temporalio/common';
import proto from '@temporalio/proto';

/** The `encoding` of an encrypted payload's metadata. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const CONTEXT = 'encryption-context';

interface BoundContext {
  v: 2;
  ns?: string;
  wf?: string;
}

function boundContext(context: SerializationContext | undefined): BoundContext {
  return {
    v: 2,
    ...(context?.namespace ? { ns: context.namespace } : {}),
    ...(context?.workflowId ? { wf: context.workflowId } : {}),
  };
}

function associatedData(keyId: string, context: string): Buffer {
  return Buffer.from(`baton-aes-gcm|${keyId}|${context}`);
}
const { Payload: PayloadProto } = proto.temporal.api.common.v1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A named 256-bit key. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** A key list that cannot be used. */
export class EncryptionKeyError extends Error {
  override readonly name = 'EncryptionKeyError';
}

/**
 * Parses `id=base64key,old-id=base64key` (BATON_ENCRYPTION_KEYS). Each key must be 32 bytes; generate one with
 * `openssl rand -base64 32`.
 */
export function parseKeys(text: string): EncryptionKey[] {
  const keys = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      const id = part.slice(0, eq).trim();
      if (eq <= 0 || !/^[A-Za-z0-9._-]+$/.test(id)) {
        throw new EncryptionKeyError('BATON_ENCRYPTION_KEYS entries look like key-id=BASE64KEY, separated by commas');
      }
      const key = Buffer.from(part.slice(eq + 1).trim(), 'base64');
      if (key.length !== 32) {
        throw new EncryptionKeyError(`key ${id} is ${key.length} bytes; AES-256 needs 32 (openssl rand -base64 32)`);
      }
      return { id, key };
    });
  if (keys.length === 0) throw new EncryptionKeyError('BATON_ENCRYPTION_KEYS is set but holds no key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new EncryptionKeyError('key ids must be unique');
  return keys;
}

/** Encrypts every payload with the current key; decrypts with whichever key id a payload names. */
export class AesGcmCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: EncryptionKey;

  constructor(
    keys: EncryptionKey[],
    private readonly options: { legacy?: boolean } = {},
  ) {
    const first = keys[0];
    if (!first) throw new EncryptionKeyError('at least one key is needed');
    this.current = first;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const bound = JSON.stringify(boundContext(context));
    return new Promise((resolve) =>
      resolve(
        payloads.map((payload) => {
          const iv = randomBytes(IV_BYTES);
          const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
          cipher.setAAD(associatedData(this.current.id, bound));
          const plain = PayloadProto.encode(payload).finish();
          const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
          return {
            metadata: {
              encoding: Buffer.from(ENCRYPTED_ENCODING),
              [KEY_ID]: Buffer.from(this.current.id),
              [CONTEXT]: Buffer.from(bound),
            },
            data,
          };
        }),
      ),
    );
  }

  /** Decrypts; a payload that is not encrypted passes through, so unencrypted history stays readable. */
  decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const expected = boundContext(context);
    // The Promise constructor turns a throw (unknown key, tampered data) into a rejection.
    return new Promise((resolve) =>
      resolve(
        payloads.map((payload) => {
          if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
          const id = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
          const key = this.byId.get(id);
          if (!key) {
            throw new ValueError(`payload is encrypted with key "${id}", which is not in BATON_ENCRYPTION_KEYS`);
          }
          const data = Buffer.from(payload.data ?? []);
          if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is truncated');
          const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
          const stored = payload.metadata?.[CONTEXT];
          if (stored) {
            const text = Buffer.from(stored).toString();
            decipher.setAAD(associatedData(id, text));
            checkContext(text, expected);
          } else if (this.options.legacy === false) {
            throw new ValueError('payload was encrypted without a bound context, and legacy payloads are refused');
          }
          decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
          const plain = Buffer.concat([
            decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
            decipher.final(),
          ]);
          const { metadata, data: inner } = PayloadProto.decode(plain);
          return { metadata, data: inner };
        }),
      ),
    );
  }
}

/** Refuses a payload bound to another namespace or workflow than the one it is decoded for (when both are known). */
function checkContext(stored: string, expected: BoundContext): void {
  let bound: BoundContext;
  try {
    bound = JSON.parse(stored) as BoundContext;
  } catch {
    throw new ValueError('encrypted payload has an unreadable encryption-context');
  }
  for (const [field, what] of [
    ['ns', 'namespace'],
    ['wf', 'workflow'],
  ] as const) {
    const have = bound[field];
    const want = expected[field];
    if (have !== undefined && want !== undefined && have !== want) {
      throw new ValueError(`encrypted payload belongs to another ${what} (${have}), not ${want}; refused`);
    }
  }
}
