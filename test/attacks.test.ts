/**
 * The attacks of issue 12, tried against a real dev server (with its HTTP API), the dev identity provider and the
 * approval gateway, through the CLI, the raw `temporal` CLI, the HTTP API and signed-but-wrong assertions. Each must
 * be refused and recorded; each legitimate decision must be accepted. The tally is written to
 * test-results/attacks.json and printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowFailedError } from '@temporalio/client';
import { loadBlueprint, parseBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import { approvalRequestHash, generateSigningKey, signAssertion, startRequestHash } from '../src/identity/assertion.js';
import type { TrustStore } from '../src/trust/load.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { approvalSignal, type GoalState } from '../src/workflows/definitions.js';
import { baton, temporal } from './helpers/cli.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { signDecision, signedDecide, testSigner, testTrust, TEST_ISSUER, TEST_KID } from './helpers/identity.js';
import { freePort, startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let gw: TestGateway;
let httpPort: number;
let refund: LoadedBlueprint;
let script: ScriptInput;
let revokeTestKey = false;
const tally = {
  tried: 0,
  refused: 0,
  legitimate: 0,
  accepted: 0,
  attacks: [] as { attack: string; refused: boolean; code?: string }[],
};

/** Counts an attack and whether it was refused. */
function attack(name: string, refused: boolean, code?: string): void {
  tally.tried += 1;
  if (refused) tally.refused += 1;
  tally.attacks.push({ attack: name, refused, ...(code ? { code } : {}) });
  expect(refused, name).toBe(true);
}

/** Counts a legitimate decision and whether it was accepted. */
function legitimate(accepted: boolean): void {
  tally.legitimate += 1;
  if (accepted) tally.accepted += 1;
  expect(accepted).toBe(true);
}

beforeAll(async () => {
  httpPort = await freePort();
  env = await startDevServer({ extraArgs: ['--http-port', String(httpPort)] });
  script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  refund = await loadBlueprint('goals/refund-request.yaml');
  // The workers trust the dev gateway's key and the test key (for assertions the gateway would never sign).
  const dev: { trust?: TrustStore } = {};
  const trust: TrustStore = {
    snapshot: () => {
      const base = testTrust();
      const devSnap = dev.trust?.snapshot();
      const testIssuer = { ...base.issuers[0]!, keys: [{ ...base.issuers[0]!.keys[0]!, revoked: revokeTestKey }] };
      return {
        ...base,
        // Reload before every signed act, so the revocation below counts at once (the default allows 60 s).
        refreshSeconds: 0,
        ...(devSnap ? { groups: devSnap.groups } : {}),
        issuers: [testIssuer, ...(devSnap?.issuers ?? [])],
      };
    },
    registry: () => [],
  };
  h = await createHarness(env, { scripts: [script], trust, noWorker: true });
  gw = await startTestGateway(env, h.taskQueue);
  dev.trust = gw.identity.trust;
  await h.startWorker();
});

afterAll(async () => {
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/attacks.json', `${JSON.stringify(tally, null, 2)}\n`);
  process.stdout.write(
    `attacks tried ${tally.tried}, refused ${tally.refused}; legitimate decisions ${tally.legitimate}, accepted ${tally.accepted}\n`,
  );
  await h?.close();
  await gw?.close();
  await env?.teardown();
});

async function startAs(user: string, input: unknown, blueprint = 'refund-request'): Promise<string> {
  const token = await gw.token(user);
  const res = await fetch(`${gw.url}/api/goals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ blueprint, input }),
  });
  const body = (await res.json()) as { goalId?: string; error?: string };
  expect(body.goalId, body.error).toBeTruthy();
  return body.goalId!;
}

async function waiting(goalId: string): Promise<GoalState> {
  return eventually(async () => {
    const s = await goalState(env.client, goalId);
    return s.status === 'awaiting_approval' ? s : undefined;
  }, `${goalId} to wait for approval`);
}

/** The refusal a signal left, once the goal recorded it. */
async function refusedAfter(goalId: string, count: number): Promise<GoalState> {
  return eventually(async () => {
    const s = await goalState(env.client, goalId);
    return (s.refusedDecisionCount ?? 0) >= count ? s : undefined;
  }, `${goalId} to record refusal ${count}`);
}

const refundInput = { customerId: 'c-42', amount: 120 };

describe('attacks on approvals', () => {
  it('refuses names that are only claimed: BATON_USER, raw temporal signals, the HTTP API', async () => {
    const goalId = await startAs('carol', refundInput);
    await waiting(goalId);

    // BATON_USER=alice, not signed in.
    const spoof = await baton(['approve', goalId, 'apr-1'], {
      TEMPORAL_ADDRESS: env.address,
      BATON_USER: 'alice',
      BATON_GATEWAY_URL: gw.url,
      BATON_CREDENTIALS: `${gw.dir}/nobody.json`,
    });
    attack('BATON_USER=alice baton approve, not signed in', spoof.code !== 0 && /not signed in/.test(spoof.stderr));

    // BATON_USER=alice, signed in as sam (not a finance approver): the gateway signs for sam.
    const asSam = await baton(['approve', goalId, 'apr-1'], {
      ...(await gw.login('sam')),
      TEMPORAL_ADDRESS: env.address,
      BATON_USER: 'alice',
    });
    attack(
      `BATON_USER=alice baton approve, signed in as sam (${asSam.stderr.trim()})`,
      asSam.code !== 0 && /refused: sam .*may not decide/.test(asSam.stderr + asSam.stdout),
      'not_an_approver',
    );

    const raw = await temporal([
      'workflow',
      'signal',
      '-w',
      goalId,
      '--name',
      'approval',
      '--address',
      env.address,
      '--input',
      JSON.stringify({ approvalId: 'apr-1', decision: 'approve', by: 'bob' }),
    ]);
    expect(raw.code, raw.stderr).toBe(0);
    let s = await refusedAfter(goalId, 1);
    attack('temporal workflow signal with by: bob', s.refusedDecisions.at(-1)?.code === 'missing', 'missing');

    const rawUpdate = await temporal([
      'workflow',
      'update',
      'execute',
      '-w',
      goalId,
      '--name',
      'decide',
      '--address',
      env.address,
      '--input',
      JSON.stringify({ approvalId: 'apr-1', decision: 'approve', by: 'bob' }),
    ]);
    attack(
      'temporal workflow update decide with by: bob',
      rawUpdate.code !== 0 && /no assertion/.test(rawUpdate.stderr + rawUpdate.stdout),
      'missing',
    );

    const http = await fetch(
      `http://127.0.0.1:${httpPort}/api/v1/namespaces/default/workflows/${goalId}/signal/approval`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: [{ approvalId: 'apr-1', decision: 'approve', by: 'bob' }] }),
      },
    );
    expect(http.status, await http.text()).toBe(200);
    s = await refusedAfter(goalId, 2);
    attack('curl to the HTTP API signal with by: bob', s.refusedDecisions.at(-1)?.code === 'missing', 'missing');
    expect(s.pendingApprovals[0]?.votes).toEqual([]);

    // The legitimate decider, through the CLI.
    const ok = await baton(['approve', goalId, 'apr-1', '--comment', 'checked'], await gw.login('alice'));
    legitimate(ok.code === 0);
    const done = await goalState(env.client, goalId);
    expect(done.approvals[0]?.votes.map((v) => v.by)).toEqual(['alice']);
  });

  it('keeps a quorum of 2 to two different people and refuses self-approval', async () => {
    const quorum = { ...refund, blueprint: structuredClone(refund.blueprint) };
    quorum.blueprint.tools.issue_refund!.approval!.quorum = 2;
    const q = await h.start(quorum, refundInput);
    await waiting(q.workflowId);
    const first = await signDecision(env.client, q.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
    });
    await q.signal(approvalSignal, first);
    legitimate(
      await eventually(
        async () =>
          (await goalState(env.client, q.workflowId)).pendingApprovals[0]?.votes.length === 1 ? true : undefined,
        'the first vote',
      ),
    );
    const again = await signDecision(env.client, q.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
    });
    await q.signal(approvalSignal, again);
    let s = await refusedAfter(q.workflowId, 1);
    attack(
      'the same person voting twice for a quorum of 2',
      s.refusedDecisions.at(-1)?.code === 'already_voted',
      'already_voted',
    );
    await q.signal(approvalSignal, first);
    s = await refusedAfter(q.workflowId, 2);
    attack('an accepted assertion sent again', s.refusedDecisions.at(-1)?.code === 'replayed', 'replayed');
    await q.signal(approvalSignal, { ...again, by: 'bob' });
    s = await refusedAfter(q.workflowId, 3);
    attack(
      "alice's assertion relabelled by: bob",
      s.refusedDecisions.at(-1)?.code === 'already_voted',
      'already_voted',
    );
    expect(s.pendingApprovals[0]?.status).toBe('pending');

    // Alice starts a refund through the gateway; she may not approve it herself.
    const own = await startAs('alice', refundInput);
    await waiting(own);
    const self = await fetch(`${gw.url}/api/goals/${own}/decide`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await gw.token('alice')}` },
      body: JSON.stringify({ approvalId: 'apr-1', decision: 'approve' }),
    });
    const selfBody = (await self.json()) as { error?: string };
    attack(
      'self-approval',
      self.status === 403 && /may not approve its own request/.test(selfBody.error ?? ''),
      'self_approval',
    );
    const bob = await fetch(`${gw.url}/api/goals/${own}/decide`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await gw.token('bob')}` },
      body: JSON.stringify({ approvalId: 'apr-1', decision: 'approve' }),
    });
    legitimate(bob.status === 200);

    const second = await signDecision(env.client, q.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'bob',
    });
    await q.signal(approvalSignal, second);
    legitimate((await q.result()).status === 'completed');
  });

  it('refuses assertions replayed elsewhere, expired, for another request, or by an unknown or revoked key', async () => {
    const a = await h.start(refund, refundInput);
    const b = await h.start(refund, refundInput);
    await waiting(a.workflowId);
    await waiting(b.workflowId);
    const forA = await signDecision(env.client, a.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
    });
    let n = 0;
    const tryOn = async (goal: typeof a, payload: unknown, name: string, code: string) => {
      await goal.signal(approvalSignal, payload as never);
      n = goal === b ? n + 1 : n;
      const s = await eventually(async () => {
        const st = await goalState(env.client, goal.workflowId);
        return st.refusedDecisions.some((r) => r.code === code) ? st : undefined;
      }, `${name} to be refused`).catch(() => undefined);
      attack(name, s !== undefined && s.pendingApprovals[0]?.votes.length === 0, code);
    };
    await tryOn(b, forA, 'an assertion for goal A delivered to goal B', 'wrong_goal');

    const state = await goalState(env.client, b.workflowId);
    const record = state.pendingApprovals[0]!;
    const desc = await env.client.workflow.getHandle(b.workflowId).describe();
    const run = desc.raw.workflowExecutionInfo?.firstRunId || desc.runId;
    const person = { subject: 'alice', name: 'alice', idpGroups: ['finance'] };
    const about = {
      kind: 'decision' as const,
      goal: b.workflowId,
      run,
      target: 'apr-1',
      request: approvalRequestHash(record),
      decision: 'approve' as const,
    };
    const payload = (assertion: string) => ({ approvalId: 'apr-1', decision: 'approve', assertion });

    await tryOn(
      b,
      payload(testSigner.sign(person, { ...about, target: 'apr-2' }).assertion),
      'an assertion for another approval',
      'wrong_target',
    );
    await tryOn(
      b,
      payload(testSigner.sign(person, about, Date.now() - 3600_000).assertion),
      'an expired assertion',
      'expired',
    );
    await tryOn(
      b,
      payload(
        testSigner.sign(person, {
          ...about,
          request: approvalRequestHash({ tool: 'issue_refund', args: { customerId: 'c-42', amount: 9000 } }),
        }).assertion,
      ),
      'an assertion for other arguments',
      'request_mismatch',
    );
    const rogue = generateSigningKey();
    const claims = JSON.parse(
      Buffer.from(testSigner.sign(person, about).assertion.split('.')[1]!, 'base64url').toString(),
    ) as Parameters<typeof signAssertion>[0];
    await tryOn(
      b,
      payload(signAssertion({ ...claims, jti: 'rogue-1' }, { kid: 'rogue', privateKey: rogue.privateKey })),
      'an assertion by an unknown key',
      'unknown_key',
    );
    await tryOn(
      b,
      payload(signAssertion({ ...claims, jti: 'forged-1' }, { kid: TEST_KID, privateKey: rogue.privateKey })),
      'an assertion signed by another key under a trusted kid',
      'bad_signature',
    );
    revokeTestKey = true;
    await tryOn(b, payload(testSigner.sign(person, about).assertion), 'an assertion by a revoked key', 'revoked_key');
    revokeTestKey = false;
    expect(TEST_ISSUER).toMatch(/^https:/);

    // The goal learns the key is trusted again when the next decision arrives (a signal reloads trust first).
    await b.signal(
      approvalSignal,
      await signDecision(env.client, b.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'bob' }),
    );
    legitimate((await b.result()).status === 'completed');
    await a.signal(approvalSignal, forA);
    legitimate((await a.result()).status === 'completed');
  });

  it('runs only registered blueprints, started by a verified person, where the operator allows no ad hoc ones', async () => {
    const registered: TrustStore = {
      snapshot: () =>
        testTrust({
          allowAdHocBlueprints: false,
          blueprints: [{ name: 'refund-request', version: '1', sha256: refund.hash }],
        }),
      registry: () => [],
    };
    const strict = await createHarness(env, { scripts: [script], trust: registered });
    try {
      const text = await readFile('goals/refund-request.yaml', 'utf8');
      const edited = parseBlueprint(text.replace('finance: [alice, bob, carol]', 'finance: [mallory]'), 'edited.yaml');
      expect(edited.hash).not.toBe(refund.hash);
      const e = await strict.start(edited, refundInput);
      const err = (await e.result().catch((x: unknown) => x)) as WorkflowFailedError;
      attack(
        'a starter-edited blueprint (approvers: [mallory]) under the same name',
        /is not registered on the workers/.test(String(err.cause?.message)),
        'unregistered_blueprint',
      );
      const unsigned = await strict.start(refund, refundInput);
      const err2 = (await unsigned.result().catch((x: unknown) => x)) as WorkflowFailedError;
      attack(
        'a start without a signed start assertion',
        /the start is not authenticated/.test(String(err2.cause?.message)),
        'missing',
      );

      // The registered blueprint, started with carol's signed start assertion, runs and waits for finance.
      const goalId = `refund-request-signed-${Date.now()}`;
      const { assertion } = testSigner.sign(
        { subject: 'carol', name: 'carol', idpGroups: ['finance-leads'] },
        {
          kind: 'start',
          goal: goalId,
          run: '',
          target: 'refund-request@1',
          request: startRequestHash({ blueprintHash: refund.hash, input: refundInput }),
        },
      );
      await strict.client.workflow.start('goalWorkflow', {
        workflowId: goalId,
        taskQueue: strict.taskQueue,
        args: [
          {
            blueprint: refund.blueprint,
            input: refundInput,
            blueprintHash: refund.hash,
            startedBy: 'carol',
            startAssertion: assertion,
          },
        ],
      });
      const s = await waiting(goalId);
      expect(s.starter).toMatchObject({ subject: 'carol', verified: true, blueprint: 'refund-request@1' });
      await signedDecideVia(goalId);
      legitimate((await goalState(env.client, goalId)).approvals[0]?.status === 'approved');
    } finally {
      await strict.close();
    }
  });

  it('survives 50 junk signals of 100 KB: status and approvals keep working, refusals stay bounded', async () => {
    const goalId = await startAs('carol', refundInput);
    await waiting(goalId);
    const handle = env.client.workflow.getHandle(goalId);
    for (let i = 0; i < 50; i++) {
      await handle.signal('approval', { approvalId: 'apr-1', decision: 'approve', by: `${'x'.repeat(100_000)}${i}` });
    }
    const s = await refusedAfter(goalId, 50);
    expect(s.refusedDecisions).toHaveLength(20);
    expect(JSON.stringify(s).length).toBeLessThan(100_000);
    const status = await baton(['status', goalId], { TEMPORAL_ADDRESS: env.address });
    const approvals = await baton(['approvals'], await gw.login('alice'));
    attack('50 junk signals of 100 KB', status.code === 0 && approvals.code === 0 && approvals.stdout.includes(goalId));
  });
});

/** Alice approves goal `id`'s apr-1, legitimately. */
function signedDecideVia(id: string) {
  return signedDecide(env.client, id, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
}
