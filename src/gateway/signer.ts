/** What the gateway signs: a person's decision, answer or start, bound to one goal, one request and a short life. */
import { randomUUID } from 'node:crypto';
import {
  DEFAULT_AUDIENCE,
  signAssertion,
  textHash,
  type AssertionClaims,
  type AssertionKind,
} from '../identity/assertion.js';
import type { Person } from './sessions.js';

export interface SignerOptions {
  issuer: string;
  key: { kid: string; privateKey: string };
  ttlSeconds: number;
  audience?: string;
}

/** What one assertion is about. */
export interface Subject {
  kind: AssertionKind;
  goal: string;
  run: string;
  target: string;
  request: string;
  decision?: 'approve' | 'reject';
  comment?: string;
  answer?: string;
}

/** Signs assertions for signed-in people. */
export class AssertionSigner {
  constructor(private readonly opts: SignerOptions) {}

  /** The issuer and key id assertions carry. */
  get issuer(): string {
    return this.opts.issuer;
  }

  sign(person: Person, about: Subject, nowMs = Date.now()): { assertion: string; claims: AssertionClaims } {
    const iat = Math.floor(nowMs / 1000);
    const claims: AssertionClaims = {
      iss: this.opts.issuer,
      aud: this.opts.audience ?? DEFAULT_AUDIENCE,
      sub: person.subject,
      groups: [...person.idpGroups].sort(),
      iat,
      exp: iat + this.opts.ttlSeconds,
      jti: randomUUID(),
      kind: about.kind,
      goal: about.goal,
      run: about.run,
      target: about.target,
      req: about.request,
      ...(about.decision ? { decision: about.decision } : {}),
      ...(about.comment ? { comment_sha256: textHash(about.comment) } : {}),
      ...(about.kind === 'reply' ? { answer_sha256: textHash(about.answer ?? '') } : {}),
    };
    return { assertion: signAssertion(claims, this.opts.key), claims };
  }
}
