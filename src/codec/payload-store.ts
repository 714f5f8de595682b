/**
 * Large payloads off the history: a content-addressed store behind Temporal's External Storage
 * (`DataConverter.externalStorage`). The SDK hands the driver each payload above the threshold after the codec chain
 * ran (so what is stored is already encrypted when encryption is on) and writes a small reference into the history
 * instead. The object's key is the sha256 of those encoded bytes: the same payload is stored once, and every read
 * checks the object against its key, so a stored object cannot be swapped without the audit noticing.
 *
 * The driver's name, written into every reference, names the addressing scheme and not the backend: a history
 * recorded against the filesystem store under `baton dev` resolves against any other backend holding the same objects.
 *
 * Temporal never deletes stored objects; see docs/payload-store.md for retention.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  ExternalStorage,
  StorageDriverClaim,
  type Payload,
  type StorageDriver,
  type StorageDriverRetrieveContext,
  type StorageDriverStoreContext,
} from '@temporalio/common';
import proto from '@temporalio/proto';
import { S3ObjectStore, s3OptionsFrom } from './s3-store.js';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

/** The name every Baton reference carries: content-addressed by sha256, whatever the backend. */
export const STORE_DRIVER_NAME = 'baton-sha256';

/** Payloads from this many bytes up leave the history by default (128 KiB; Temporal's own limit is 2 MiB). */
export const DEFAULT_PAYLOAD_THRESHOLD = 128 * 1024;

/** Where stored objects live: a key-value blob store. Keys are `sha256/<2 hex>/<64 hex>`. */
export interface ObjectStore {
  /** Short description for logs and errors (`file:/srv/baton/payloads`, `s3://bucket/prefix`). */
  readonly location: string;
  /** Writes the object unless one is already there under the key (content addressing makes them identical). */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
}

/** A stored object that is missing or does not match its hash: the history it belongs to cannot be trusted as read. */
export class StoredPayloadError extends Error {
  override readonly name = 'StoredPayloadError';
}

/** Objects as files under a directory (`baton dev` uses `.baton/payloads`). */
export class FileObjectStore implements ObjectStore {
  readonly location: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.location = `file:${this.root}`;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.root, key);
    if (await exists(path)) return;
    await mkdir(dirname(path), { recursive: true });
    // Write then rename, so a reader never sees half an object.
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(join(this.root, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** sha256 of bytes, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The object key of a hash. */
export function objectKey(hash: string): string {
  return `sha256/${hash.slice(0, 2)}/${hash}`;
}

/** The External Storage driver: payload bytes stored under their sha256, verified on every read. */
export class ContentAddressedDriver implements StorageDriver {
  readonly name = STORE_DRIVER_NAME;
  readonly type = 'baton.sha256';

  constructor(readonly objects: ObjectStore) {}

  async store(_context: StorageDriverStoreContext, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const bytes = PayloadProto.encode(payload).finish();
        const hash = sha256Hex(bytes);
        await this.objects.put(objectKey(hash), bytes);
        return new StorageDriverClaim({ sha256: hash, bytes: String(bytes.length) });
      }),
    );
  }

  async retrieve(_context: StorageDriverRetrieveContext, claims: StorageDriverClaim[]): Promise<Payload[]> {
    return Promise.all(claims.map((claim) => this.read(claim.claimData.sha256)));
  }

  /** One stored payload by its hash, checked against it. */
  async read(hash: string | undefined): Promise<Payload> {
    if (!hash || !/^[0-9a-f]{64}$/.test(hash)) {
      throw new StoredPayloadError(`a stored-payload reference has no valid sha256 (got ${JSON.stringify(hash)})`);
    }
    const bytes = await this.objects.get(objectKey(hash));
    if (!bytes) {
      throw new StoredPayloadError(
        `stored payload ${hash} is missing from ${this.objects.location}: point BATON_PAYLOAD_STORE at the store the goal wrote to`,
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== hash) {
      throw new StoredPayloadError(
        `stored payload ${hash} in ${this.objects.location} does not match its hash (got ${actual}): it was altered`,
      );
    }
    return PayloadProto.decode(bytes);
  }
}

/** External Storage over an object store: payloads of `threshold` bytes and more become references. */
export function batonExternalStorage(objects: ObjectStore, threshold = DEFAULT_PAYLOAD_THRESHOLD): ExternalStorage {
  return new ExternalStorage({ drivers: [new ContentAddressedDriver(objects)], payloadSizeThreshold: threshold });
}

/**
 * The object store a BATON_PAYLOAD_STORE value names: `s3://BUCKET/PREFIX` (src/codec/s3-store.ts), or a directory
 * path or `file:` URL.
 */
export function objectStoreFrom(
  spec: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ObjectStore {
  if (spec.startsWith('s3://')) return new S3ObjectStore(s3OptionsFrom(spec, env));
  return new FileObjectStore(spec.startsWith('file:') ? new URL(spec).pathname : spec);
}
