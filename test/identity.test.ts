/** The signed assertion: encodings, signing, and every reason `verify` refuses, each shown to be reachable. */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { hashBlueprint, loadBlueprint } from '../src/blueprint/load.js';
import {
  approvalRequestHash,
  generateSigningKey,
  publicKeyOf,
  questionRequestHash,
  signAssertion,
  startRequestHash,
  textHash,
  type AssertionClaims,
} from '../src/identity/assertion.js';
import { actorMatches, keepLatest, keptText, selfApprovalRefusal } from '../src/identity/authorize.js';
import { base64url, canonicalJson, fromBase64url, fromUtf8, sha256Hex, utf8 } from '../src/identity/encoding.js';
import { emptyTrust, type TrustSnapshot } from '../src/identity/trust.js';
import { verify, type Expected } from '../src/identity/verify.js';
import { verifyEd25519 } from '../src/identity/ed25519-verify.js';
import {
  blueprintHashOf,
  checkBlueprint,
  checkDecision,
  checkStart,
  type GoalContext,
} from '../src/identity/decisions.js';
import type { ApprovalRecord } from '../src/workflows/definitions.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const key = generateSigningKey();
const other = generateSigningKey();
const request = { tool: 'issue_refund', args: { amount: 120, ticket: 'T-1' } };

function trust(overrides: Partial<TrustSnapshot> = {}): TrustSnapshot {
  return {
    ...emptyTrust(),
    issuers: [{ issuer: 'https://gw.test', keys: [{ kid: 'k1', publicKey: key.publicKey }] }],
    groups: { 'finance-team': ['finance'] },
    ...overrides,
  };
}

function claims(overrides: Partial<AssertionClaims> = {}): AssertionClaims {
  return {
    iss: 'https://gw.test',
    aud: 'baton',
    sub: 'alice',
    groups: ['finance-team', 'staff'],
    iat: NOW / 1000 - 10,
    exp: NOW / 1000 + 290,
    jti: 'a-1',
    kind: 'decision',
    goal: 'refund-1',
    run: 'run-1',
    target: 'apr-1',
    req: approvalRequestHash(request),
    decision: 'approve',
    ...overrides,
  };
}

const expected: Expected = {
  kind: 'decision',
  goal: 'refund-1',
  run: 'run-1',
  target: 'apr-1',
  request: approvalRequestHash(request),
  decision: 'approve',
};

const sign = (c: AssertionClaims, k = { kid: 'k1', privateKey: key.privateKey }) => signAssertion(c, k);

describe('encodings', () => {
  it('round-trips UTF-8 and base64url the way Node does', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'Grüße, 東京 🚀', '\u0000\u007f\u0080\u07ff\u0800\uffff']) {
      expect(Buffer.from(utf8(text)).equals(Buffer.from(text, 'utf8'))).toBe(true);
      expect(base64url(utf8(text))).toBe(Buffer.from(text, 'utf8').toString('base64url'));
      expect(fromUtf8(fromBase64url(base64url(utf8(text)))!)).toBe(text);
    }
    expect(fromBase64url('a+b/')).toBeUndefined();
    expect(fromBase64url('abcde')).toBeUndefined();
    expect(fromUtf8(Uint8Array.from([0xc0, 0x80]))).toBeUndefined();
    for (const bad of [
      [0x80],
      [0xe2, 0x82],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xff],
    ]) {
      expect(fromUtf8(Uint8Array.from(bad)), `bytes ${bad.join(',')}`).toBeUndefined();
    }
    expect(fromUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('\ufeffa');
    expect(Buffer.from(utf8('a\ud800b')).toString('utf8')).toBe('a\ufffdb');
    // Every length and every byte value, against Node's own base64url.
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 0xff);
      const text = Buffer.from(bytes).toString('base64url');
      expect(Buffer.from(fromBase64url(text)!).equals(Buffer.from(bytes))).toBe(true);
      expect(base64url(bytes)).toBe(text);
    }
    expect(fromBase64url('ab=')).toBeUndefined();
    expect(fromBase64url('aé')).toBeUndefined();
    expect(sha256Hex('Grüße')).toBe(createHash('sha256').update('Grüße').digest('hex'));
  });

  it('hashes blueprints exactly as the loader does, so workflows can recompute the pinned hash', async () => {
    const loaded = await loadBlueprint('goals/refund-request.yaml');
    expect(sha256Hex(canonicalJson(loaded.blueprint))).toBe(hashBlueprint(loaded.blueprint));
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });
});

describe('signing', () => {
  it('produces a compact JWS (EdDSA) that Node verifies with the published key', () => {
    const token = sign(claims());
    const [h, p, s] = token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({
      alg: 'EdDSA',
      kid: 'k1',
      typ: 'baton-assertion+jws',
    });
    expect((JSON.parse(Buffer.from(p!, 'base64url').toString()) as { sub: string }).sub).toBe('alice');
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: key.publicKey };
    const pub = createPublicKey({ key: jwk, format: 'jwk' });
    expect(nodeVerify(null, Buffer.from(`${h}.${p}`), pub, Buffer.from(s!, 'base64url'))).toBe(true);
    expect(publicKeyOf(key.privateKey)).toBe(key.publicKey);
  });
});

describe('verify', () => {
  it('accepts a good assertion and maps the identity provider groups', () => {
    const v = verify(sign(claims()), expected, trust(), NOW);
    expect(v).toMatchObject({
      ok: true,
      identity: { subject: 'alice', groups: ['finance'], issuer: 'https://gw.test', keyId: 'k1', assertionId: 'a-1' },
    });
  });

  const cases: [string, () => ReturnType<typeof verify>][] = [
    ['missing', () => verify(undefined, expected, trust(), NOW)],
    ['malformed', () => verify('not.a.jws!', expected, trust(), NOW)],
    ['malformed', () => verify('x'.repeat(100_000), expected, trust(), NOW)],
    ['unknown_issuer', () => verify(sign(claims({ iss: 'https://evil.test' })), expected, trust(), NOW)],
    ['unknown_key', () => verify(sign(claims(), { kid: 'k9', privateKey: other.privateKey }), expected, trust(), NOW)],
    [
      'revoked_key',
      () =>
        verify(
          sign(claims()),
          expected,
          trust({
            issuers: [{ issuer: 'https://gw.test', keys: [{ kid: 'k1', publicKey: key.publicKey, revoked: true }] }],
          }),
          NOW,
        ),
    ],
    [
      'bad_signature',
      () => verify(sign(claims(), { kid: 'k1', privateKey: other.privateKey }), expected, trust(), NOW),
    ],
    [
      'bad_signature',
      () => {
        // A payload edited after signing: same header and signature, alice's name swapped for mallory's.
        const [h, , s] = sign(claims()).split('.');
        const forged = base64url(utf8(canonicalJson(claims({ sub: 'mallory' }))));
        return verify(`${h}.${forged}.${s}`, expected, trust(), NOW);
      },
    ],
    [
      'key_not_in_service',
      () =>
        verify(
          sign(claims()),
          expected,
          trust({
            issuers: [
              {
                issuer: 'https://gw.test',
                keys: [{ kid: 'k1', publicKey: key.publicKey, notAfter: '2026-02-01T00:00:00Z' }],
              },
            ],
          }),
          NOW,
        ),
    ],
    ['wrong_audience', () => verify(sign(claims({ aud: 'other' })), expected, trust(), NOW)],
    ['wrong_kind', () => verify(sign(claims({ kind: 'reply' })), expected, trust(), NOW)],
    ['wrong_goal', () => verify(sign(claims({ goal: 'refund-2' })), expected, trust(), NOW)],
    ['wrong_run', () => verify(sign(claims({ run: 'run-0' })), expected, trust(), NOW)],
    ['wrong_target', () => verify(sign(claims({ target: 'apr-2' })), expected, trust(), NOW)],
    [
      'request_mismatch',
      () =>
        verify(
          sign(claims({ req: approvalRequestHash({ ...request, args: { amount: 9000 } }) })),
          expected,
          trust(),
          NOW,
        ),
    ],
    ['decision_mismatch', () => verify(sign(claims({ decision: 'reject' })), expected, trust(), NOW)],
    ['comment_mismatch', () => verify(sign(claims()), { ...expected, comment: 'added later' }, trust(), NOW)],
    [
      'answer_mismatch',
      () =>
        verify(
          sign(claims({ kind: 'reply', decision: undefined, answer_sha256: textHash('yes') })),
          { ...expected, kind: 'reply', decision: undefined, answer: 'no' },
          trust(),
          NOW,
        ),
    ],
    ['lifetime_too_long', () => verify(sign(claims({ exp: NOW / 1000 + 86_400 })), expected, trust(), NOW)],
    [
      'not_yet_valid',
      () => verify(sign(claims({ iat: NOW / 1000 + 600, exp: NOW / 1000 + 900 })), expected, trust(), NOW),
    ],
    ['expired', () => verify(sign(claims({ iat: NOW / 1000 - 900, exp: NOW / 1000 - 600 })), expected, trust(), NOW)],
    ['replayed', () => verify(sign(claims()), expected, trust(), NOW, (id) => id === 'a-1')],
  ];
  for (const [code, run] of cases) {
    it(`refuses with ${code}`, () => {
      const v = run();
      expect(v.ok).toBe(false);
      if (!v.ok) {
        expect(v.code).toBe(code);
        expect(v.reason.length).toBeGreaterThan(10);
      }
    });
  }

  it('accepts a reply whose answer matches, and a comment whose hash matches', () => {
    const reply = verify(
      sign(
        claims({
          kind: 'reply',
          target: 'q-1',
          decision: undefined,
          req: questionRequestHash({ question: 'Which?' }),
          answer_sha256: textHash('the blue one'),
        }),
      ),
      {
        kind: 'reply',
        goal: 'refund-1',
        run: 'run-1',
        target: 'q-1',
        request: questionRequestHash({ question: 'Which?' }),
        answer: 'the blue one',
      },
      trust(),
      NOW,
    );
    expect(reply.ok).toBe(true);
    const commented = verify(
      sign(claims({ comment_sha256: textHash('ok by me') })),
      { ...expected, comment: 'ok by me' },
      trust(),
      NOW,
    );
    expect(commented.ok).toBe(true);
  });

  it('keeps working across a key rotation: old key until its notAfter, new key after', () => {
    const next = generateSigningKey();
    const rotated = trust({
      issuers: [
        {
          issuer: 'https://gw.test',
          keys: [
            { kid: 'k1', publicKey: key.publicKey, notAfter: '2026-03-01T11:30:00Z' },
            { kid: 'k2', publicKey: next.publicKey, notBefore: '2026-03-01T10:00:00Z' },
          ],
        },
      ],
    });
    expect(verify(sign(claims({ iat: NOW / 1000 - 3000, exp: NOW / 1000 + 60 })), expected, rotated, NOW).ok).toBe(
      true,
    );
    expect(verify(sign(claims(), { kid: 'k2', privateKey: next.privateKey }), expected, rotated, NOW).ok).toBe(true);
    expect(verify(sign(claims()), expected, rotated, NOW)).toMatchObject({ ok: false, code: 'key_not_in_service' });
  });
});

describe('authorization', () => {
  const bpGroups = { finance: ['alice', 'bob'] };
  it('matches approvers by subject, mapped group or the registered blueprint group', () => {
    expect(actorMatches(['group:finance'], {}, { subject: 'zed', groups: ['finance'] })).toBe(true);
    expect(actorMatches(['group:finance'], bpGroups, { subject: 'bob', groups: [] })).toBe(true);
    expect(actorMatches(['carol'], bpGroups, { subject: 'carol', groups: [] })).toBe(true);
    expect(actorMatches(['group:finance'], bpGroups, { subject: 'mallory', groups: ['finance-leads'] })).toBe(false);
    expect(actorMatches(['*'], {}, { subject: 'anyone', groups: [] })).toBe(true);
  });

  it('forbids self-approval by default, allows rejection and the opt-in', () => {
    expect(selfApprovalRefusal(undefined, 'alice', 'alice', 'approve')).toMatch(/may not approve its own request/);
    expect(selfApprovalRefusal('forbid', 'alice', 'bob', 'approve')).toBeUndefined();
    expect(selfApprovalRefusal('forbid', 'alice', 'alice', 'reject')).toBeUndefined();
    expect(selfApprovalRefusal('allow', 'alice', 'alice', 'approve')).toBeUndefined();
  });

  it('keeps refusals bounded in number and size', () => {
    const log: string[] = [];
    let dropped = 0;
    for (let i = 0; i < 50; i++) dropped += keepLatest(log, keptText('x'.repeat(100_000) + i));
    expect(log).toHaveLength(20);
    expect(dropped).toBe(30);
    expect(log[0]!.length).toBeLessThan(260);
    expect(log[0]).toMatch(/100002 characters/);
  });
});

describe('checks of human acts', () => {
  const ctx = (over: Partial<GoalContext> = {}): GoalContext => ({
    goalId: 'refund-1',
    firstRunId: 'run-1',
    startedBy: 'carol',
    blueprintGroups: { finance: ['alice', 'bob'] },
    trust: trust(),
    nowMs: NOW,
    seen: () => false,
    ...over,
  });
  const rec = { id: 'apr-1', ...request, approvers: ['group:finance'], votes: [] as ApprovalRecord['votes'] };
  const as = (sub: string, over: Partial<AssertionClaims> = {}) =>
    sign(claims({ sub, groups: [], jti: `j-${sub}`, ...over }));

  it('accepts an approver and refuses anyone else, a self-approval and a second vote by the same person', () => {
    expect(checkDecision(ctx(), rec, { decision: 'approve', assertion: as('alice') }, undefined)).toMatchObject({
      ok: true,
      identity: { subject: 'alice' },
    });
    expect(checkDecision(ctx(), rec, { decision: 'approve', assertion: as('mallory') }, undefined)).toMatchObject({
      ok: false,
      code: 'not_an_approver',
    });
    expect(
      checkDecision(ctx({ startedBy: 'alice' }), rec, { decision: 'approve', assertion: as('alice') }, undefined),
    ).toMatchObject({
      ok: false,
      code: 'self_approval',
    });
    expect(
      checkDecision(ctx({ startedBy: 'alice' }), rec, { decision: 'approve', assertion: as('alice') }, 'allow').ok,
    ).toBe(true);
    const voted = { ...rec, votes: [{ by: 'alice', decision: 'approve' as const, at: '', via: 'update' as const }] };
    expect(
      checkDecision(ctx(), voted, { decision: 'approve', assertion: as('alice', { jti: 'other' }) }, undefined),
    ).toMatchObject({
      ok: false,
      code: 'already_voted',
    });
    // A group the identity provider grants counts as much as the blueprint's list.
    expect(
      checkDecision(ctx(), rec, { decision: 'approve', assertion: as('zoe', { groups: ['finance-team'] }) }, undefined)
        .ok,
    ).toBe(true);
    // The name in the payload is not an identity.
    expect(checkDecision(ctx(), rec, { decision: 'approve', by: 'alice' } as never, undefined)).toMatchObject({
      ok: false,
      code: 'missing',
    });
  });

  it('refuses an unregistered blueprint unless ad hoc ones are allowed, and finds a registered one by hash', () => {
    const hash = blueprintHashOf({ name: 'x' });
    expect(checkBlueprint(trust(), 'x', hash)).toMatchObject({ ok: false, code: 'unregistered_blueprint' });
    expect(checkBlueprint(trust({ allowAdHocBlueprints: true }), 'x', hash)).toEqual({ ok: true, adHoc: true });
    const registered = trust({ blueprints: [{ name: 'x', version: '2', sha256: hash }] });
    expect(checkBlueprint(registered, 'x', hash)).toMatchObject({ ok: true, registered: { version: '2' } });
    expect(
      checkBlueprint(registered, 'x', blueprintHashOf({ name: 'x', approvers: { finance: ['mallory'] } })),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/registered versions: x@2/) as string,
    });
  });

  it('verifies a start for this goal, blueprint and input, and labels an unverified one only where ad hoc is allowed', () => {
    const hash = blueprintHashOf({ name: 'refund' });
    const input = { amount: 5 };
    const good = sign(
      claims({
        sub: 'carol',
        kind: 'start',
        run: '',
        target: 'refund@1',
        decision: undefined,
        req: startRequestHash({ blueprintHash: hash, input }),
      }),
    );
    const c = { goalId: 'refund-1', trust: trust(), nowMs: NOW, seen: () => false };
    expect(
      checkStart(c, { assertion: good, blueprintName: 'refund', computedHash: hash, input, claimedBy: 'x' }),
    ).toMatchObject({
      verified: true,
      identity: { subject: 'carol' },
    });
    expect(
      checkStart(c, {
        assertion: good,
        blueprintName: 'refund',
        computedHash: hash,
        input: { amount: 500 },
        claimedBy: 'x',
      }),
    ).toMatchObject({
      refused: expect.stringMatching(/different request/) as string,
    });
    expect(
      checkStart(
        { ...c, trust: trust({ allowAdHocBlueprints: true }) },
        { blueprintName: 'refund', computedHash: hash, input, claimedBy: 'x' },
      ),
    ).toMatchObject({
      verified: false,
      claimed: 'x',
    });
  });
});

describe('Ed25519 verification with kept key tables', () => {
  /** noble's own verdict, a throw counted as a refusal (as signatureValid counts it). */
  const noble = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean => {
    try {
      return ed25519.verify(sig, msg, pub);
    } catch {
      return false;
    }
  };
  const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
    const out = bytes.slice();
    out[bit >> 3]! ^= 1 << (bit & 7);
    return out;
  };
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const le = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));

  it("reaches noble's verdict on valid, tampered and malformed signatures, keys and messages", () => {
    let valid = 0;
    let refused = 0;
    for (let i = 0; i < 24; i++) {
      const { secretKey, publicKey } = ed25519.keygen();
      const pub = base64url(publicKey);
      const msg = utf8(`assertion ${i} ${'x'.repeat(i * 7)}`);
      const sig = ed25519.sign(msg, secretKey);
      const s = sig.slice(32);
      const cases: [Uint8Array, Uint8Array, Uint8Array][] = [
        [sig, msg, publicKey],
        [flip(sig, (i * 11) % 256), msg, publicKey], // R tampered
        [flip(sig, 256 + ((i * 13) % 252)), msg, publicKey], // S tampered
        [sig, flip(msg, i % (msg.length * 8)), publicKey], // message tampered
        [sig, msg, flip(publicKey, (i * 17) % 255)], // another (or no) key
        [Uint8Array.from([...sig.slice(0, 32), ...le(bytesToNumberLE(s) + L)]), msg, publicKey], // S >= L
        [Uint8Array.from([...sig.slice(0, 32), ...new Uint8Array(32).fill(255)]), msg, publicKey],
      ];
      for (const [sg, m, k] of cases) {
        const expected = noble(sg, m, k);
        // The key's text as the trust file holds it; a tampered key is another text, as it would be there.
        expect(verifyEd25519(base64url(k), k, m, sg)).toBe(expected);
        if (expected) valid += 1;
        else refused += 1;
      }
      // Kept tables: the same key again, and a signature by another key under it.
      expect(verifyEd25519(pub, publicKey, msg, sig)).toBe(true);
      expect(verifyEd25519(pub, publicKey, msg, ed25519.sign(msg, ed25519.keygen().secretKey))).toBe(false);
    }
    // ZIP 215: the identity as key, R the identity and S zero verify any message, for noble and here alike.
    const identity = Uint8Array.from([1, ...new Uint8Array(31)]);
    const trivial = Uint8Array.from([1, ...new Uint8Array(63)]);
    expect(noble(trivial, utf8('anything'), identity)).toBe(
      verifyEd25519(base64url(identity), identity, utf8('anything'), trivial),
    );
    // Both verdicts were reached: the comparison would see a verifier that accepts or refuses everything.
    expect(valid).toBeGreaterThanOrEqual(24);
    expect(refused).toBeGreaterThanOrEqual(24 * 5);
  });
});
