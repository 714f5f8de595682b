/**
 * The signed assertion a person's decision carries (DESIGN §2.1): a compact JWS (RFC 7515) signed with Ed25519
 * (`alg: EdDSA`, RFC 8037), so any JOSE library can check one offline, and @noble/curves checks it inside the
 * workflow. The gateway signs; workflows only verify (src/identity/verify.ts).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64url, canonicalJson, fromBase64url, fromUtf8, sha256Hex, utf8 } from './encoding.js';

/** What an assertion authorizes: a vote on an approval, an answer to a question, or the start of a goal. */
export type AssertionKind = 'decision' | 'reply' | 'start';

/** The audience every Baton assertion names unless the operator configures another. */
export const DEFAULT_AUDIENCE = 'baton';

/** The JWS `typ` of a Baton assertion. */
export const ASSERTION_TYPE = 'baton-assertion+jws';

/** The largest assertion a workflow will look at; anything longer is refused unread. */
export const MAX_ASSERTION_LENGTH = 8192;

/** The claims of an assertion. Times are seconds since the epoch, as in JWT. */
export interface AssertionClaims {
  /** The gateway that signed it. */
  iss: string;
  aud: string;
  /** The person: the subject the identity provider vouched for. */
  sub: string;
  /** The person's groups as the identity provider named them; the workers' trust configuration maps them. */
  groups: string[];
  iat: number;
  /** Not valid before (defaults to `iat`). */
  nbf?: number;
  exp: number;
  /** Unique id; a goal accepts each id once. */
  jti: string;
  kind: AssertionKind;
  /** The goal's workflow id. */
  goal: string;
  /** The goal's first run id (`firstExecutionRunId`); empty for a start, which has no run yet. */
  run: string;
  /** The approval id, the question id, or for a start the blueprint's `name@version`. */
  target: string;
  /** sha256 (hex) of the canonical request being decided: {@link approvalRequestHash}, {@link questionRequestHash}, {@link startRequestHash}. */
  req: string;
  /** For a decision. */
  decision?: 'approve' | 'reject';
  /** sha256 (hex) of the comment, when a decision carries one. */
  comment_sha256?: string;
  /** sha256 (hex) of the answer, for a reply. */
  answer_sha256?: string;
}

/** The JWS protected header of an assertion. */
export interface AssertionHeader {
  alg: 'EdDSA';
  typ: typeof ASSERTION_TYPE;
  kid: string;
}

/** sha256 of the request an approval decides: the tool and its arguments, canonically encoded. */
export function approvalRequestHash(request: { tool: string; args: unknown }): string {
  return sha256Hex(canonicalJson({ kind: 'approval', tool: request.tool, args: request.args ?? null }));
}

/** sha256 of the request a reply answers: the question as the agent asked it. */
export function questionRequestHash(question: { question: string }): string {
  return sha256Hex(canonicalJson({ kind: 'question', question: question.question }));
}

/** sha256 of a start: which blueprint (by hash) with which input. */
export function startRequestHash(start: { blueprintHash: string; input: unknown }): string {
  return sha256Hex(canonicalJson({ kind: 'start', blueprintHash: start.blueprintHash, input: start.input ?? null }));
}

/** sha256 (hex) of a free text: a comment or an answer. */
export function textHash(text: string): string {
  return sha256Hex(text);
}

/** A fresh Ed25519 key pair: the 32-byte private seed and public key, base64url. */
export function generateSigningKey(): { privateKey: string; publicKey: string } {
  const { secretKey, publicKey } = ed25519.keygen();
  return { privateKey: base64url(secretKey), publicKey: base64url(publicKey) };
}

/** The public key (base64url) of a private seed (base64url); throws when the seed is not 32 bytes. */
export function publicKeyOf(privateKey: string): string {
  const seed = fromBase64url(privateKey.trim());
  if (!seed || seed.length !== 32) throw new Error('an Ed25519 private key is 32 bytes, base64url encoded');
  return base64url(ed25519.getPublicKey(seed));
}

/** Signs claims into a compact JWS. The signer is the gateway; workers never hold a private key. */
export function signAssertion(claims: AssertionClaims, key: { kid: string; privateKey: string }): string {
  const seed = fromBase64url(key.privateKey.trim());
  if (!seed || seed.length !== 32) throw new Error('an Ed25519 private key is 32 bytes, base64url encoded');
  const header: AssertionHeader = { alg: 'EdDSA', typ: ASSERTION_TYPE, kid: key.kid };
  const input = `${base64url(utf8(canonicalJson(header)))}.${base64url(utf8(canonicalJson(claims)))}`;
  return `${input}.${base64url(ed25519.sign(utf8(input), seed))}`;
}

/** An assertion taken apart, not yet verified. */
export interface DecodedAssertion {
  header: AssertionHeader;
  claims: AssertionClaims;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

function parseJsonSegment(segment: string): unknown {
  const bytes = fromBase64url(segment);
  const text = bytes && fromUtf8(bytes);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Why the shape of claims is wrong, or undefined when every field has its type. */
function claimsProblem(c: Record<string, unknown>): string | undefined {
  for (const k of ['iss', 'aud', 'sub', 'jti', 'goal', 'run', 'target', 'req'] as const) {
    if (!isString(c[k])) return `claim ${k} must be a string`;
  }
  if (!Array.isArray(c.groups) || !c.groups.every(isString)) return 'claim groups must be a list of strings';
  for (const k of ['iat', 'exp'] as const) if (!isTime(c[k])) return `claim ${k} must be a number of seconds`;
  if (c.nbf !== undefined && !isTime(c.nbf)) return 'claim nbf must be a number of seconds';
  if (c.kind !== 'decision' && c.kind !== 'reply' && c.kind !== 'start')
    return 'claim kind must be decision, reply or start';
  if (c.decision !== undefined && c.decision !== 'approve' && c.decision !== 'reject') {
    return 'claim decision must be approve or reject';
  }
  for (const k of ['comment_sha256', 'answer_sha256'] as const) {
    if (c[k] !== undefined && !isString(c[k])) return `claim ${k} must be a string`;
  }
  return undefined;
}

/** Takes a compact JWS apart without trusting it; a string saying what is wrong when it is not an assertion. */
export function decodeAssertion(token: unknown): DecodedAssertion | string {
  if (typeof token !== 'string' || token === '') return 'no assertion: decisions must carry a signed assertion';
  if (token.length > MAX_ASSERTION_LENGTH) return `the assertion is longer than ${MAX_ASSERTION_LENGTH} characters`;
  const parts = token.split('.');
  if (parts.length !== 3) return 'the assertion is not a compact JWS (three base64url parts)';
  const header = parseJsonSegment(parts[0]!) as Record<string, unknown> | undefined;
  const claims = parseJsonSegment(parts[1]!) as Record<string, unknown> | undefined;
  const signature = fromBase64url(parts[2]!);
  if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object' || !signature) {
    return 'the assertion is not valid base64url JSON';
  }
  if (header.alg !== 'EdDSA') return `the assertion's alg must be EdDSA, not ${JSON.stringify(header.alg)}`;
  if (header.typ !== ASSERTION_TYPE) return `the assertion's typ must be ${ASSERTION_TYPE}`;
  if (!isString(header.kid)) return "the assertion's header names no kid";
  const problem = claimsProblem(claims);
  if (problem) return problem;
  return {
    header: header as unknown as AssertionHeader,
    claims: claims as unknown as AssertionClaims,
    signingInput: utf8(`${parts[0]}.${parts[1]}`),
    signature,
  };
}

/** True when `signature` is a valid Ed25519 signature of `message` by `publicKey` (base64url). */
export function signatureValid(publicKey: string, message: Uint8Array, signature: Uint8Array): boolean {
  const key = fromBase64url(publicKey);
  if (!key || key.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, key);
  } catch {
    return false;
  }
}
