/**
 * The signature line of a JSON Lines audit export. The hash chain (chain.ts) catches an edit, but whoever edits a
 * file can also recompute every hash after it; an Ed25519 signature over the sealed head, by a key only the
 * operator holds, catches that too. The line comes after the seal, so the chain and its head are unchanged and an
 * export made again from Temporal still has the same head hash.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { publicKeyOf } from '../identity/assertion.js';
import { base64url, fromBase64url, utf8 } from '../identity/encoding.js';
import { AUDIT_VERSION } from './chain.js';

/** The `kind` of the signature line. */
export const SIGNATURE_KIND = 'audit.signature' as const;

/** The last line of a signed export. */
export interface TrailSignature {
  v: typeof AUDIT_VERSION;
  kind: typeof SIGNATURE_KIND;
  goalId: string;
  /** How many records it covers (the seal included) and the hash of the last: the seal's. */
  records: number;
  head: string;
  alg: 'Ed25519';
  kid: string;
  /** The signer's public key (base64url), to name it; it is trusted only when the verifier gives the same key. */
  publicKey: string;
  /** Signature (base64url) over {@link signedText}. */
  sig: string;
}

/** An operator's audit signing key. */
export interface AuditSigningKey {
  kid: string;
  privateKey: string;
}

function signedText(goalId: string, records: number, head: string): Uint8Array {
  return utf8(`${AUDIT_VERSION} signature\n${goalId}\n${records}\n${head}`);
}

/** Signs the sealed head of a trail. */
export function signTrail(goalId: string, records: number, head: string, key: AuditSigningKey): TrailSignature {
  const seed = fromBase64url(key.privateKey.trim());
  if (!seed || seed.length !== 32) throw new Error('an Ed25519 private key is 32 bytes, base64url encoded');
  return {
    v: AUDIT_VERSION,
    kind: SIGNATURE_KIND,
    goalId,
    records,
    head,
    alg: 'Ed25519',
    kid: key.kid,
    publicKey: publicKeyOf(key.privateKey),
    sig: base64url(ed25519.sign(signedText(goalId, records, head), seed)),
  };
}

/**
 * Checks a signature line against the chain it follows and a public key the verifier trusts. Returns the problem,
 * or undefined when the signature holds.
 */
export function signatureProblem(
  sig: TrailSignature,
  chain: { goalId: string; records: number; head: string },
  trustedPublicKey: string,
): string | undefined {
  if (sig.goalId !== chain.goalId || sig.records !== chain.records || sig.head !== chain.head) {
    return `the signature covers ${sig.records} records ending in ${sig.head}, the chain has ${chain.records} ending in ${chain.head}: the trail was edited and re-chained after it was signed`;
  }
  const key = fromBase64url(trustedPublicKey.trim());
  const signature = fromBase64url(String(sig.sig));
  if (!key || key.length !== 32) return 'the public key given is not an Ed25519 key (32 bytes, base64url)';
  let ok: boolean;
  try {
    ok = !!signature && ed25519.verify(signature, signedText(sig.goalId, sig.records, sig.head), key);
  } catch {
    ok = false;
  }
  if (ok) return undefined;
  return sig.publicKey === trustedPublicKey.trim()
    ? `the signature (key ${sig.kid}) does not match the trail: the file was changed after it was signed`
    : `the file is signed by key ${sig.kid} (${sig.publicKey}), not by the key given: re-chained by someone else, or check with the right key`;
}
