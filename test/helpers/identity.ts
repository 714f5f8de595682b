/**
 * Signed decisions for tests: a test gateway key the harness's workers trust, and helpers that sign a person's
 * decision, answer or start exactly as `baton serve` does (src/gateway/signer.ts), then deliver it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { inject } from 'vitest';
import { AssertionSigner } from '../../src/gateway/signer.js';
import { approvalRequestHash, generateSigningKey, questionRequestHash } from '../../src/identity/assertion.js';
import { emptyTrust, type TrustSnapshot } from '../../src/identity/trust.js';
import type { TrustStore } from '../../src/trust/load.js';
import { decideApproval, replyToQuestion } from '../../src/client/goals.js';
import { stateQuery, type ApprovalRecord, type QuestionRecord } from '../../src/workflows/definitions.js';

export const TEST_ISSUER = 'https://gateway.test';
export const TEST_KID = 'test-1';
export const TEST_KEY = generateSigningKey();

/** The identity-provider groups of the people tests act as (the same demo people `baton dev` has). */
export const TEST_GROUPS: Record<string, string[]> = {
  alice: ['finance'],
  bob: ['finance'],
  carol: ['finance-leads'],
  sam: ['secops', 'analyst'],
};

/** A trust snapshot that trusts the test key; ad hoc blueprints allowed unless overridden. */
export function testTrust(overrides: Partial<TrustSnapshot> = {}): TrustSnapshot {
  return {
    ...emptyTrust(),
    issuers: [{ issuer: TEST_ISSUER, keys: [{ kid: TEST_KID, publicKey: TEST_KEY.publicKey }] }],
    groups: Object.fromEntries([...new Set(Object.values(TEST_GROUPS).flat())].map((g) => [g, [g]])),
    allowAdHocBlueprints: true,
    ...overrides,
  };
}

/** A trust store over a snapshot that a test may change (rotation, revocation). */
export function testTrustStore(initial: TrustSnapshot = testTrust()): TrustStore & { set(next: TrustSnapshot): void } {
  let current = initial;
  return {
    snapshot: () => current,
    registry: () => [],
    set(next) {
      current = next;
    },
  };
}

let trustFile: string | undefined;

/**
 * A trust file with the test key, for `baton worker` processes: BATON_TRUST_FILE and BATON_ALLOW_ADHOC_BLUEPRINTS,
 * the settings a test worker process needs so that the tests' ad hoc blueprints and signed decisions work.
 */
export function testWorkerEnv(): Record<string, string> {
  if (!trustFile) {
    // One per test process (its key is its own), in the run's scratch directory, which the global setup removes.
    trustFile = join(mkdtempSync(join(inject('testScratchDir'), 'trust-')), 'trust.yaml');
    const t = testTrust();
    writeFileSync(trustFile, stringify({ audience: t.audience, issuers: t.issuers, groups: t.groups }));
  }
  return { BATON_TRUST_FILE: trustFile, BATON_ALLOW_ADHOC_BLUEPRINTS: 'true' };
}

export const testSigner = new AssertionSigner({
  issuer: TEST_ISSUER,
  key: { kid: TEST_KID, privateKey: TEST_KEY.privateKey },
  ttlSeconds: 300,
});

let clock: () => Promise<number> | number = () => Date.now();

/**
 * Where signing takes its time from: assertions are judged by workflow time, which the time-skipping test server
 * moves days ahead (`setSigningClock(() => env.currentTimeMs())`).
 */
export function setSigningClock(now: () => Promise<number> | number): void {
  clock = now;
}

const person = (by: string) => ({ subject: by, name: by, idpGroups: TEST_GROUPS[by] ?? [] });

async function firstRun(client: Client, goalId: string): Promise<string> {
  const desc = await client.workflow.getHandle(goalId).describe();
  return desc.raw.workflowExecutionInfo?.firstRunId || desc.runId;
}

/** Signs `by`'s decision on a pending approval of a goal, as the gateway would. */
export async function signDecision(
  client: Client,
  goalId: string,
  d: { approvalId: string; decision: 'approve' | 'reject'; by: string; comment?: string },
  nowMs?: number,
): Promise<{ approvalId: string; decision: 'approve' | 'reject'; by: string; comment?: string; assertion: string }> {
  const state = await client.workflow.getHandle(goalId).query(stateQuery);
  const record = state.approvals.find((a) => a.id === d.approvalId);
  const { assertion } = testSigner.sign(
    person(d.by),
    {
      kind: 'decision',
      goal: goalId,
      run: await firstRun(client, goalId),
      target: d.approvalId,
      request: record ? approvalRequestHash(record) : 'unknown',
      decision: d.decision,
      ...(d.comment ? { comment: d.comment } : {}),
    },
    nowMs ?? (await clock()),
  );
  return { ...d, assertion };
}

/** Decides through the `decide` update (as `decideApproval` sends it) with a signed assertion for `by`. */
export async function signedDecide(
  client: Client,
  goalId: string,
  d: { approvalId: string; decision: 'approve' | 'reject'; by: string; comment?: string },
): Promise<ApprovalRecord> {
  return decideApproval(client, goalId, await signDecision(client, goalId, d));
}

/** Signs `by`'s answer to a pending question. */
export async function signReply(
  client: Client,
  goalId: string,
  r: { questionId: string; answer: string; by: string },
): Promise<{ questionId: string; answer: string; by: string; assertion: string }> {
  const state = await client.workflow.getHandle(goalId).query(stateQuery);
  const q = state.questions.find((x) => x.id === r.questionId);
  const { assertion } = testSigner.sign(
    person(r.by),
    {
      kind: 'reply',
      goal: goalId,
      run: await firstRun(client, goalId),
      target: r.questionId,
      request: q ? questionRequestHash(q) : 'unknown',
      answer: r.answer,
    },
    await clock(),
  );
  return { ...r, assertion };
}

/** Answers through the `reply` update (as `replyToQuestion` sends it) with a signed assertion for `by`. */
export async function signedReply(
  client: Client,
  goalId: string,
  r: { questionId: string; answer: string; by: string },
): Promise<QuestionRecord> {
  return replyToQuestion(client, goalId, await signReply(client, goalId, r));
}
