/**
 * Verifies a decision's assertion deterministically: from the assertion, what the workflow expects, the operator's
 * trust snapshot and workflow time alone, so a replay reaches the same verdict. Pure; runs in the workflow sandbox.
 */
import { decodeAssertion, signatureValid, type AssertionClaims, type AssertionKind, textHash } from './assertion.js';
import { batonGroups, type TrustSnapshot } from './trust.js';

/** Why an assertion was refused. */
export type RefusalCode =
  | 'missing'
  | 'malformed'
  | 'unknown_issuer'
  | 'unknown_key'
  | 'revoked_key'
  | 'key_not_in_service'
  | 'bad_signature'
  | 'wrong_audience'
  | 'wrong_kind'
  | 'wrong_goal'
  | 'wrong_run'
  | 'wrong_target'
  | 'request_mismatch'
  | 'decision_mismatch'
  | 'comment_mismatch'
  | 'answer_mismatch'
  | 'lifetime_too_long'
  | 'not_yet_valid'
  | 'expired'
  | 'replayed';

/** A person whose assertion verified: only this may authorize a decision. */
export interface VerifiedIdentity {
  subject: string;
  /** Baton groups, mapped from the identity provider's groups by the operator's trust configuration. */
  groups: string[];
  /** The identity provider's groups as signed. */
  idpGroups: string[];
  issuer: string;
  keyId: string;
  assertionId: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

/** The verdict on an assertion. */
export type Verification =
  | { ok: true; identity: VerifiedIdentity; claims: AssertionClaims }
  | { ok: false; code: RefusalCode; reason: string; claims?: AssertionClaims };

/** What the workflow knows about the request being decided; the assertion must match each field. */
export interface Expected {
  kind: AssertionKind;
  goal: string;
  /** The goal's first run id. */
  run: string;
  target: string;
  /** The request hash the workflow computed itself from its own record. */
  request: string;
  decision?: 'approve' | 'reject';
  /** The comment or answer delivered beside the assertion; the assertion must carry its hash. */
  comment?: string;
  answer?: string;
}

function refuse(code: RefusalCode, reason: string, claims?: AssertionClaims): Verification {
  return claims ? { ok: false, code, reason, claims } : { ok: false, code, reason };
}

/**
 * Verifies `token` for `expected` against `trust` at workflow time `nowMs`.
 * @param seen true for an assertion id this goal has already accepted
 */
export function verify(
  token: unknown,
  expected: Expected,
  trust: TrustSnapshot,
  nowMs: number,
  seen: (assertionId: string) => boolean = () => false,
): Verification {
  if (token === undefined || token === null || token === '') {
    const how =
      expected.kind === 'start'
        ? 'start goals through `baton start` after `baton login`, or the API of `baton serve`'
        : expected.kind === 'reply'
          ? 'answer through `baton reply` after `baton login`, or the inbox of `baton serve`'
          : 'decide through `baton approve` after `baton login`, or the inbox of `baton serve`';
    return refuse('missing', `no assertion: ${how}`);
  }
  const decoded = decodeAssertion(token);
  if (typeof decoded === 'string') return refuse('malformed', decoded);
  const { claims: c, header } = decoded;
  const issuer = trust.issuers.find((i) => i.issuer === c.iss);
  if (!issuer) return refuse('unknown_issuer', `issuer ${JSON.stringify(c.iss)} is not trusted by the workers`, c);
  const key = issuer.keys.find((k) => k.kid === header.kid);
  if (!key)
    return refuse('unknown_key', `key ${JSON.stringify(header.kid)} of ${c.iss} is not trusted by the workers`, c);
  if (key.revoked) return refuse('revoked_key', `key ${key.kid} of ${c.iss} has been revoked`, c);
  if (!signatureValid(key.publicKey, decoded.signingInput, decoded.signature)) {
    return refuse('bad_signature', `the signature does not verify with key ${key.kid} of ${c.iss}`, c);
  }
  const issuedMs = c.iat * 1000;
  if (key.notBefore !== undefined && issuedMs < Date.parse(key.notBefore)) {
    return refuse('key_not_in_service', `key ${key.kid} is in service only from ${key.notBefore}`, c);
  }
  if (key.notAfter !== undefined && issuedMs > Date.parse(key.notAfter)) {
    return refuse('key_not_in_service', `key ${key.kid} was rotated out at ${key.notAfter}`, c);
  }
  if (c.aud !== trust.audience)
    return refuse('wrong_audience', `the assertion is for ${JSON.stringify(c.aud)}, not ${trust.audience}`, c);
  if (c.kind !== expected.kind)
    return refuse('wrong_kind', `the assertion authorizes a ${c.kind}, not a ${expected.kind}`, c);
  if (c.goal !== expected.goal)
    return refuse('wrong_goal', `the assertion is for goal ${c.goal}, not ${expected.goal}`, c);
  if (c.run !== expected.run)
    return refuse('wrong_run', `the assertion is for run ${c.run}, not this goal's first run ${expected.run}`, c);
  if (c.target !== expected.target)
    return refuse('wrong_target', `the assertion is for ${c.target}, not ${expected.target}`, c);
  if (c.req !== expected.request) {
    return refuse(
      'request_mismatch',
      `the assertion approves a different request (sha256 ${c.req.slice(0, 12)}, this one is ${expected.request.slice(0, 12)})`,
      c,
    );
  }
  if (expected.decision !== undefined && c.decision !== expected.decision) {
    return refuse(
      'decision_mismatch',
      `the assertion says ${String(c.decision)}, the payload says ${expected.decision}`,
      c,
    );
  }
  if ((expected.comment ? textHash(expected.comment) : undefined) !== c.comment_sha256) {
    return refuse('comment_mismatch', 'the comment is not the one the assertion signed', c);
  }
  if (expected.kind === 'reply' && textHash(expected.answer ?? '') !== c.answer_sha256) {
    return refuse('answer_mismatch', 'the answer is not the one the assertion signed', c);
  }
  if (c.exp - c.iat > trust.maxLifetimeSeconds) {
    return refuse(
      'lifetime_too_long',
      `the assertion lives ${c.exp - c.iat}s; at most ${trust.maxLifetimeSeconds}s is accepted`,
      c,
    );
  }
  const skew = trust.clockSkewSeconds * 1000;
  const start = (c.nbf ?? c.iat) * 1000;
  if (nowMs + skew < start)
    return refuse('not_yet_valid', `the assertion is valid only from ${new Date(start).toISOString()}`, c);
  if (nowMs - skew >= c.exp * 1000)
    return refuse('expired', `the assertion expired at ${new Date(c.exp * 1000).toISOString()}`, c);
  if (seen(c.jti)) return refuse('replayed', `assertion ${c.jti} has already been used in this goal`, c);
  return {
    ok: true,
    claims: c,
    identity: {
      subject: c.sub,
      groups: batonGroups(trust, c.groups),
      idpGroups: [...c.groups],
      issuer: c.iss,
      keyId: header.kid,
      assertionId: c.jti,
      issuedAt: c.iat,
      expiresAt: c.exp,
    },
  };
}
