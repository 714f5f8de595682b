/** The data converter for clients and workers: the same codec on both sides, or none when no key is set. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec, parseKeys } from './encryption.js';

/**
 * Path of the failure converter module that moves messages and stack traces into an (encrypted) payload. The worker
 * loads it by path, and a workflow bundle used with encryption must be built with it.
 */
export const failureConverterPath = join(fileURLToPath(new URL('.', import.meta.url)), 'failure-converter.cjs');

/** Encrypting payloads and failure messages when BATON_ENCRYPTION_KEYS holds keys; undefined otherwise. */
export function batonDataConverter(keys: string | undefined): DataConverter | undefined {
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmCodec(parseKeys(keys))], failureConverterPath };
}
