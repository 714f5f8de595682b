/**
 * The correctness defects found in the engine review (issue 11), each as the scenario that showed it, against a
 * real dev server: a tool whose worker dies mid-call, a goal id used twice, a child's human wait in its parent's
 * working time, a model reply cut off or filtered, and the `state` query's read-only view.
 */
import { readFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseBlueprint } from '../src/blueprint/load.js';
import { goalState, startGoal } from '../src/client/goals.js';
import type { GoalArgs } from '../src/workflows/definitions.js';
import { openRecord, queryState } from '../src/workflows/goal-record.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { eventsOf, modelRequests } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';
import { sayingWhatWorkerWrote, spawnHarnessWorker, type WorkerProcess } from './helpers/worker-process.js';
import { signedDecide } from './helpers/identity.js';

const refundYaml = readFileSync('goals/refund-request.yaml', 'utf8');

/** The refund example renamed, without its approval, its refund tool made as the test needs. */
function refund(name: string, sideEffect: 'unsafe' | 'idempotent', timeout = '10s') {
  return parseBlueprint(
    refundYaml
      .replace('name: refund-request', `name: ${name}`)
      .replace(/when: .*/, 'when: args.amount > 1000')
      .replace('    sideEffect: idempotent\n', `    sideEffect: ${sideEffect}\n    timeout: ${timeout}\n`),
    `${name}.yaml`,
  );
}

function refundScript(goal: string, after: string) {
  return {
    goal,
    replies: [
      {
        when: { after: 'user' as const },
        toolCalls: [{ name: 'issue_refund', arguments: { customerId: 'c-42', amount: 120 } }],
      },
      { when: { tool: 'issue_refund', contains: after }, content: `Seen: ${after}` },
      { when: { tool: 'issue_refund' }, content: 'Refunded 120 USD.' },
    ],
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

let env: TestWorkflowEnvironment;
let h: Harness;

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    builtins: {
      work: {
        description: 'Do some work',
        schema: z.strictObject({ label: z.string() }),
        run: ({ label }: { label: string }) => Promise.resolve(`done: ${label}`),
      },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

describe('defect 2: idempotency keys are unique per goal execution', () => {
  it('refuses a closed goal id without --reuse-id; with it, the new goal gets new keys and acts anew', async () => {
    h.model.load(refundScript('refund-twice', 'nothing'));
    const loaded = refund('refund-twice', 'idempotent');
    const opts = { loaded, input: { customerId: 'c-42', amount: 120 }, startedBy: 'test', taskQueue: h.taskQueue };
    const first = await startGoal(h.client, { ...opts, id: 'refund-4411' });
    expect(await first.result()).toMatchObject({ status: 'completed', answer: 'Refunded 120 USD.' });
    expect(h.model.ledger.refunds.size).toBe(1);

    // The same id again, by habit: refused, and the message names the flag.
    const again = await startGoal(h.client, { ...opts, id: 'refund-4411' }).catch((e: unknown) => e);
    expect(String((again as Error).message)).toMatch(/refund-4411 exists or existed.*--reuse-id/);

    // Deliberately reused: a new execution, whose refund is a new refund, not a replay of the old one.
    const second = await startGoal(h.client, { ...opts, id: 'refund-4411', reuseId: true });
    expect(second.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    expect(await second.result()).toMatchObject({ status: 'completed', answer: 'Refunded 120 USD.' });
    const keys = [...h.model.ledger.refunds.keys()];
    expect(keys).toHaveLength(2);
    expect(keys[0]).toContain(first.firstExecutionRunId);
    expect(keys[1]).toContain(second.firstExecutionRunId);
  });
});

describe('defect 5: only a reply that stopped on its own is an answer', () => {
  it.each([
    ['length', 'cut off at the token limit'],
    ['content_filter', "withheld by the provider's content filter"],
  ] as const)('a plain reply with finish_reason %s does not complete the goal', async (finishReason, told) => {
    const goal = `finish-${finishReason.replace('_', '-')}`;
    h.model.load({
      goal,
      replies: [
        { when: { turn: 1 }, content: 'The refund of 120 USD is appro', finishReason },
        { when: { contains: told }, content: 'The refund is approved.' },
      ],
    });
    const loaded = refund(goal, 'idempotent');
    const handle = await h.start(loaded, { customerId: 'c-42', amount: 120 });
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'The refund is approved.' });
    const state = await goalState(h.client, handle.workflowId);
    expect(state.refusals).toEqual([
      expect.objectContaining({ kind: finishReason === 'length' ? 'truncated_reply' : 'refused_reply' }),
    ]);
  });
});

describe("defect 3: a child's human wait is not its parent's working time", () => {
  it('a parent with a 3s working-time budget survives its child waiting 4s for an approval', async () => {
    const yaml = `apiVersion: baton/v1
name: patient-parent
models: { default: { model: m } }
agents:
  boss: { role: planner, instructions: Split., tools: [], delegates: [worker] }
  worker: { role: executor, instructions: Work., tools: [guarded] }
entry: boss
tools:
  guarded: { type: builtin, function: work, sideEffect: unsafe, approval: { approvers: [carol] } }
budget: { maxSteps: 20, maxDuration: 3s }
`;
    h.model.load({
      goal: 'patient-parent',
      replies: [
        {
          when: { agent: 'boss', after: 'user' },
          toolCalls: [{ name: 'delegate', arguments: { tasks: [{ agent: 'worker', task: 'the guarded part' }] } }],
        },
        { when: { agent: 'boss', tool: 'delegate' }, content: 'The guarded part is done.' },
        { when: { agent: 'worker', after: 'user' }, toolCalls: [{ name: 'guarded', arguments: { label: 'g' } }] },
        { when: { agent: 'worker', tool: 'guarded' }, content: 'Guarded work done.' },
      ],
    });
    const handle = await h.start(blueprint(yaml));
    const childId = await eventually(async () => {
      const s = await goalState(h.client, handle.workflowId);
      const t = s.tasks[0];
      return t && (await goalState(h.client, t.workflowId)).pendingApprovals.length ? t.workflowId : undefined;
    }, "the child's approval");
    await new Promise((r) => setTimeout(r, 4_000));
    await signedDecide(h.client, childId, { approvalId: 'apr-1', decision: 'approve', by: 'carol' });
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'The guarded part is done.' });
    const state = await goalState(h.client, handle.workflowId);
    expect(state.budget.used.durationMs).toBeLessThan(3_000);
  });
});

describe('defect 7: the state query is read-only', () => {
  it("answers from the record without writing it: the budget as of the query, the record's as the gate left it", () => {
    const loaded = refund('queried-record', 'idempotent');
    const args: GoalArgs = {
      blueprint: loaded.blueprint,
      input: { customerId: 'c-42', amount: 5 },
      blueprintHash: loaded.hash,
      startedBy: 'alice',
    };
    // A goal mid-run: steps taken, tokens spent and children's steps counted since the budget gate last wrote the
    // budget, 200 ms of its 1.5 s spent waiting on humans. Frozen: a query that writes the record throws here.
    const r = openRecord(args, 1_000);
    Object.assign(r, { step: 3, usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.5 }, humanWaitMs: 200 });
    r.budget.delegatedSteps = 2;
    deepFreeze(r);
    const view = queryState(r, args, 2_500);
    expect(view.budget.used).toEqual({ steps: 5, tokens: 15, costUsd: 0.5, durationMs: 1_300 });
    expect(view.budget.limits).toEqual(r.budget.limits);
    expect(r.budget.used).toEqual({ steps: 0, tokens: 0, costUsd: 0, durationMs: 0 });
  });

  it('shows the same budget to a query as the goal itself counts, and records nothing when queried', async () => {
    h.model.load({
      goal: 'queried',
      replies: [
        {
          when: { after: 'user' },
          toolCalls: [{ name: 'issue_refund', arguments: { customerId: 'c-42', amount: 5 } }],
        },
        { when: { tool: 'issue_refund' }, content: 'Done.' },
      ],
    });
    const handle = await h.start(refund('queried', 'idempotent'), { customerId: 'c-42', amount: 5 });
    await handle.result();
    const before = (await eventsOf(h.client, handle.workflowId)).length;
    for (let i = 0; i < 3; i++) await goalState(h.client, handle.workflowId);
    expect((await eventsOf(h.client, handle.workflowId)).length).toBe(before);
    const state = await goalState(h.client, handle.workflowId);
    expect(state.budget.used).toMatchObject({ steps: 3, tokens: state.usage.inputTokens + state.usage.outputTokens });
  });
});

describe('defect 1: a tool whose worker dies mid-call', () => {
  const workers: WorkerProcess[] = [];
  let w: Harness;

  beforeAll(async () => {
    w = await createHarness(env, { refundDelayMs: 20_000, noWorker: true });
  });
  afterAll(async () => {
    for (const child of workers) if (child.child.exitCode === null) child.child.kill('SIGKILL');
    await w?.close();
  });

  async function startWorkerProcess(): Promise<WorkerProcess> {
    const worker = await spawnHarnessWorker(env.address, w);
    workers.push(worker);
    return worker;
  }

  it('comes back to the model as "outcome unknown", never retried, and the status matches the execution', async () => {
    w.model.load(refundScript('refund-lost', 'outcome unknown'));
    const first = await startWorkerProcess();
    const handle = await w.start(refund('refund-lost', 'unsafe', '2s'), { customerId: 'c-42', amount: 120 });
    // A worker process starts slowly on a loaded machine: wait generously for it to reach the refund.
    await sayingWhatWorkerWrote(
      first,
      eventually(() => (w.model.ledger.refunds.size > 0 ? true : undefined), 'the refund request to arrive', 120_000),
    );
    first.child.kill('SIGKILL');
    await startWorkerProcess();
    const result = await handle.result().catch((e: unknown) => e);
    const description = await handle.describe();
    const status = description.searchAttributes.BatonStatus?.[0];
    // Whatever happened, the status a search shows is the execution's.
    expect({ execution: description.status.name, status }).toEqual({ execution: 'COMPLETED', status: 'completed' });
    expect(result).toMatchObject({ status: 'completed', answer: 'Seen: outcome unknown' });
    const told = modelRequests(await eventsOf(w.client, handle.workflowId))
      .at(-1)
      ?.messages.at(-1)?.content;
    expect(told).toMatch(/^outcome unknown: issue_refund did not report back .*it was not retried/);
    expect(w.model.ledger.refunds.size).toBe(1);
  }, 240_000);
});
