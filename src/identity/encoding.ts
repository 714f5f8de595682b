/**
 * Byte and text encodings the identity modules need, written so they run unchanged in Temporal's workflow sandbox
 * (no Buffer, no node:crypto; TextEncoder and TextDecoder are there): UTF-8, base64url, hex, canonical JSON and
 * sha256 (from @noble/hashes).
 */
import { sha256 } from '@noble/hashes/sha2.js';

// TextEncoder and TextDecoder are in Node and in the workflow sandbox (the SDK puts Node's there); the decoder is
// strict, as JWS needs: invalid UTF-8 (overlong forms, surrogates, stray bytes) is refused, a BOM kept. Hand-written
// loops here cost a goal about half a millisecond of its first workflow task under load (issue 16).
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The string UTF-8 bytes spell; undefined when they are not valid UTF-8. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding (RFC 4648 §5), as JWS uses it. */
export function base64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    if (i + 1 < bytes.length) out += B64[(n >> 6) & 63]!;
    if (i + 2 < bytes.length) out += B64[n & 63]!;
  }
  return out;
}

/** Each base64url character's value by its character code; -1 for every other code below 128. */
const B64_VALUES = Int8Array.from({ length: 128 }, (_, code) => B64.indexOf(String.fromCharCode(code)));

/** Decodes base64url without padding; undefined for any other character, padding or a dangling length. */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? B64_VALUES[code]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Lower-case hex of bytes. */
export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Sorts object keys at every level, so equal values encode equally whatever order they were built in. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * Canonical JSON: keys sorted at every level, no whitespace, JSON.stringify's rules otherwise. The same form
 * `hashBlueprint` hashes, so a workflow can recompute a blueprint's hash.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

/** sha256 of a string's UTF-8 bytes, hex. */
export function sha256Hex(text: string): string {
  return hex(sha256(utf8(text)));
}
