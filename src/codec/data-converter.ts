/** The data converter for clients and workers: the same codec and payload store on both sides, or none when unset. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec, parseKeys } from './encryption.js';
import { batonExternalStorage, objectStoreFrom, type ObjectStore } from './payload-store.js';

/**
 * Path of the failure converter module that moves messages and stack traces into an (encrypted) payload. The worker
 * loads it by path, and a workflow bundle used with encryption must be built with it.
 */
export const failureConverterPath = join(fileURLToPath(new URL('.', import.meta.url)), 'failure-converter.cjs');

/** Where `baton dev` keeps large payloads (relative to where it runs), and where the CLI looks when none is set. */
export const DEV_PAYLOAD_STORE = '.baton/payloads';

/** Where large payloads go (BATON_PAYLOAD_STORE) and from what size (BATON_PAYLOAD_THRESHOLD). */
export interface PayloadStoreOptions {
  objects: ObjectStore;
  threshold?: number;
}

/**
 * Encrypting payloads and failure messages when BATON_ENCRYPTION_KEYS holds keys, and moving large payloads into the
 * payload store when one is given (after encryption: the store holds ciphertext); undefined when neither is set.
 */
export function batonDataConverter(keys: string | undefined, store?: PayloadStoreOptions): DataConverter | undefined {
  if (!keys && !store) return undefined;
  return {
    ...(keys ? { payloadCodecs: [new AesGcmCodec(parseKeys(keys))], failureConverterPath } : {}),
    ...(store ? { externalStorage: batonExternalStorage(store.objects, store.threshold) } : {}),
  };
}

/** Whether a data converter encrypts (and so needs the workflow bundle built with the failure converter). */
export function isEncrypting(converter: DataConverter | undefined): boolean {
  return converter?.failureConverterPath !== undefined;
}

/** The data converter Baton's settings describe (encryption keys, payload store and threshold). */
export function configuredDataConverter(c: {
  encryptionKeys?: string;
  payloadStore?: string;
  payloadThreshold?: number;
}): DataConverter | undefined {
  const store = c.payloadStore
    ? { objects: objectStoreFrom(c.payloadStore), ...(c.payloadThreshold ? { threshold: c.payloadThreshold } : {}) }
    : undefined;
  return batonDataConverter(c.encryptionKeys, store);
}
