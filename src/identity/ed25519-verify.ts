/**
 * Ed25519 verification (RFC 8032 §5.1.7, with @noble/curves' default ZIP 215 rules) that keeps each public key's
 * point and its table of multiples between verifications. @noble/curves' `ed25519.verify` decodes the key again
 * for every signature and multiplies it with a plain double-and-add ladder: ≈2 ms of the ≈3 ms a verification took
 * in a workflow on a loaded 2-core machine (docs/performance.md). The operator trusts a handful of keys, so each
 * key's point and window table are kept (bounded) and the same equation is checked with noble's own point
 * arithmetic: [8][S]B = [8]R + [8][k]A, k = SHA-512(R || A || M) mod L. test/identity.test.ts holds it to noble's
 * verdict on valid, tampered and malformed signatures. Pure; runs in the workflow sandbox, where the bundle
 * preloads it so the tables are built once per worker thread.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, concatBytes } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';

const Point = ed25519.Point;
type EdPoint = InstanceType<typeof Point>;

/** Public keys seen, by their base64url text: the bytes, the decoded point (with its table) and its encoding. */
const keys = new Map<string, { raw: Uint8Array; point: EdPoint; bytes: Uint8Array }>();
/** Far more keys than any trust file lists; past it the oldest is dropped (and rebuilt if seen again). */
const MAX_KEYS = 64;
/** The window of a key's table: 4 bits (512 points, built in a few milliseconds) for 64 additions a verification. */
const WINDOW = 4;

/** The key's point, decoded once and given a table of multiples; undefined when the bytes are not a point. */
function keyPoint(publicKey: string, bytes: Uint8Array): { point: EdPoint; bytes: Uint8Array } | undefined {
  let key = keys.get(publicKey);
  if (key && !key.raw.every((b, i) => b === bytes[i])) key = undefined;
  if (!key) {
    let point: EdPoint;
    try {
      point = Point.fromBytes(bytes, true);
    } catch {
      return undefined;
    }
    point.precompute(WINDOW, true);
    key = { raw: bytes.slice(), point, bytes: point.toBytes() };
    keys.set(publicKey, key);
    if (keys.size > MAX_KEYS) keys.delete(keys.keys().next().value!);
  }
  return key;
}

/**
 * True when `signature` (64 bytes) is a valid Ed25519 signature of `message` by `keyBytes` (32 bytes), the key whose
 * base64url text is `publicKey`. The same verdict as `ed25519.verify(signature, message, keyBytes)`.
 */
export function verifyEd25519(
  publicKey: string,
  keyBytes: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (keyBytes.length !== 32 || signature.length !== 64) return false;
  const key = keyPoint(publicKey, keyBytes);
  if (!key) return false;
  let R: EdPoint;
  let SB: EdPoint;
  try {
    R = Point.fromBytes(signature.subarray(0, 32), true);
    // Refuses S >= L, as noble does (multiplyUnsafe checks the scalar).
    SB = Point.BASE.multiplyUnsafe(bytesToNumberLE(signature.subarray(32, 64)));
  } catch {
    return false;
  }
  const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(R.toBytes(), key.bytes, message))));
  return R.add(key.point.multiplyUnsafe(k)).subtract(SB).clearCofactor().is0();
}
