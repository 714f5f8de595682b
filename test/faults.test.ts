/**
 * Faults survived, against the real dev server: a model endpoint that rate-limits, errors, hangs and returns garbage;
 * credentials and requests it refuses; a worker SIGKILLed in the middle of a tool call; the dev server restarted while
 * a goal waits. Every goal completes or fails with a clear reason; no side effect happens twice.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parseBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState, startGoal } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { startScriptedModel } from '../src/scripted-model/server.js';
import { createBatonWorker } from '../src/worker.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { sayingWhatWorkerWrote, spawnHarnessWorker, type WorkerProcess } from './helpers/worker-process.js';
import { signedDecide, testTrustStore } from './helpers/identity.js';

const refundYaml = readFileSync('goals/refund-request.yaml', 'utf8');
const refundScript = parse(readFileSync('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
const figures = { faultsInjected: 0, goalsCompleted: 0, goalsFailedClearly: 0, duplicateSideEffects: 0 };

afterAll(() => {
  console.log(
    `faults injected: ${figures.faultsInjected}, goals completed: ${figures.goalsCompleted}, ` +
      `goals failed with a clear reason: ${figures.goalsFailedClearly}, duplicate side effects: ${figures.duplicateSideEffects}`,
  );
});

function named(name: string, yaml = refundYaml): LoadedBlueprint {
  return parseBlueprint(yaml.replace('name: refund-request', `name: ${name}`), `${name}.yaml`);
}

async function attemptsOf(env: TestWorkflowEnvironment, goalId: string, activity: string): Promise<number[]> {
  const events = (await env.client.workflow.getHandle(goalId).fetchHistory()).events ?? [];
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === activity) attempts.push(started.attempt ?? 1);
  }
  return attempts;
}

describe('a faulty model endpoint', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;

  beforeAll(async () => {
    env = await startDevServer();
    h = await createHarness(env, { modelTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await h?.close();
    await env?.teardown();
  });

  it('survives 429 with retry-after, 500, a hung call, malformed arguments and an unknown tool', async () => {
    h.model.load({
      goal: 'faulty-model',
      replies: [
        { when: { turn: 1 }, fail: { status: 429, retryAfter: 1, message: 'slow down', times: 1 } },
        { when: { turn: 1 }, fail: { status: 500, message: 'upstream exploded', times: 1 } },
        {
          when: { turn: 1 },
          hang: { ms: 3_000, times: 1 },
          content: 'Looking the customer up.',
          toolCalls: [{ name: 'lookup_customer' }],
          rawArguments: '{"customerId": c-42',
        },
        {
          when: { after: 'tool', contains: 'not valid JSON' },
          content: 'Let me try something else.',
          toolCalls: [{ name: 'drop_database', arguments: {} }],
        },
        {
          when: { after: 'tool', contains: 'there is no tool' },
          content: 'I could not do more; the customer is c-42.',
        },
      ],
    });
    figures.faultsInjected += 5;
    const handle = await h.start(named('faulty-model'), {});
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'I could not do more; the customer is c-42.' });
    figures.goalsCompleted += 1;
    // The first model call took four attempts: 429, 500, timeout, success.
    expect((await attemptsOf(env, handle.workflowId, 'callModel'))[0]).toBe(4);
    const turn1 = h.model.requests
      .filter((r) => r.goal === 'faulty-model' && r.facts.turn === 1)
      .map((r) => r.answered);
    expect(turn1).toEqual(['fail', 'fail', 'reply', 'reply']);
    const repairs = h.model.requests
      .filter((r) => r.goal === 'faulty-model' && r.facts.lastRole === 'tool')
      .map((r) => r.facts.lastContent);
    expect(repairs[0]).toMatch(/^error: the arguments are not valid JSON/);
    expect(repairs[1]).toMatch(/^error: there is no tool "drop_database"; your tools: lookup_customer, issue_refund/);
  });

  it.each([
    [401, /refused the credentials \(401\): set a valid OPENAI_API_KEY for the worker/],
    [400, /rejected the request as invalid \(400\), so it is not retried: context too long/],
  ])('fails fast on %i with a message that names the fix', async (status, message) => {
    const name = `model-${status}`;
    h.model.load({ goal: name, replies: [{ fail: { status, message: 'context too long', times: 100 } }] });
    figures.faultsInjected += 1;
    const handle = await h.start(named(name), {});
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause?.message).toMatch(message);
    expect(err.cause?.message).toMatch(/^model call for agent billing at step 1 failed/);
    expect(await attemptsOf(env, handle.workflowId, 'callModel')).toEqual([1]);
    expect((await goalState(env.client, handle.workflowId)).status).toBe('failed');
    figures.goalsFailedClearly += 1;
  });
});

describe('a worker killed in the middle of a tool call', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    env = await startDevServer();
    h = await createHarness(env, { scripts: [refundScript], refundDelayMs: 1_500, noWorker: true });
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await h?.close();
    await env?.teardown();
  });

  async function startWorkerProcess(): Promise<WorkerProcess> {
    const worker = await spawnHarnessWorker(env.address, h);
    workers.push(worker);
    return worker;
  }

  it('completes after a restart with exactly one refund', async () => {
    // No approval (threshold raised) and a short tool timeout, so the lost attempt is retried within seconds.
    const yaml = refundYaml
      .replace('|| args.amount > 100\n', '|| args.amount > 1000\n')
      .replace(
        "    url: '${env:BATON_DEMO_API}/refunds'\n",
        "    url: '${env:BATON_DEMO_API}/refunds'\n    timeout: 2s\n",
      );
    const loaded = parseBlueprint(yaml, 'refund-fast.yaml');
    const first = await startWorkerProcess();
    const handle = await h.start(loaded, { customerId: 'c-42', amount: 120 });
    // The refund is recorded by the API; its answer is delayed, and the worker dies before hearing it. A worker
    // process starts slowly on a loaded machine: wait generously for it to reach the refund.
    await sayingWhatWorkerWrote(
      first,
      eventually(() => (h.model.ledger.refunds.size > 0 ? true : undefined), 'the refund request to arrive', 120_000),
    );
    first.child.kill('SIGKILL');
    figures.faultsInjected += 1;
    await startWorkerProcess();
    const result = await handle.result();
    expect(result.status).toBe('completed');
    figures.goalsCompleted += 1;
    // The lookup took one attempt; the refund's recorded attempt is its second (history keeps the last one).
    expect(await attemptsOf(env, handle.workflowId, 'runTool')).toEqual([1, 2]);
    const refunds = [...h.model.ledger.refunds.values()];
    figures.duplicateSideEffects += refunds.length - 1;
    expect(refunds).toHaveLength(1);
  }, 240_000);
});

describe('the dev server restarted mid-goal', () => {
  it('finishes the goal on the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-restart-'));
    const dbFilename = join(dir, 'temporal.db');
    let env = await startDevServer({ dbFilename });
    const port = Number(env.address.split(':').at(-1));
    const model = await startScriptedModel({ scripts: [refundScript], quiet: true });
    const connection = await NativeConnection.connect({ address: env.address });
    const worker = await createBatonWorker({
      connection,
      namespace: 'default',
      taskQueue: 'restart-queue',
      model: { baseURL: model.baseURL },
      env: { BATON_DEMO_API: model.demoURL },
      workflowCode: { workflowBundle: { codePath: inject('workflowBundlePath') } },
      trust: testTrustStore(),
    });
    const running = worker.run();
    try {
      const loaded = named('refund-request');
      const handle = await startGoal(env.client, { loaded, input: {}, startedBy: 'test', taskQueue: 'restart-queue' });
      await eventually(
        async () =>
          (await goalState(env.client, handle.workflowId)).status === 'awaiting_approval' ? true : undefined,
        'approval',
      );
      await env.teardown();
      figures.faultsInjected += 1;
      env = await startDevServer({ dbFilename, port });
      const client = new Client({ connection: await Connection.connect({ address: env.address }) });
      await eventually(
        () => signedDecide(client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' }),
        'the restarted server and worker to take the decision',
      );
      const result: unknown = await client.workflow.getHandle(handle.workflowId).result();
      expect(result).toMatchObject({ status: 'completed', approvals: [{ status: 'approved' }] });
      figures.goalsCompleted += 1;
      await client.connection.close();
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
      await model.close();
      await env.teardown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
