/**
 * `baton worker` as operators run it, against a real dev server and the real openai SDK (pointed at the scripted
 * model): /readyz through start, /metrics after goals ran (Baton's goal, tool, cost and approval series and the SDK's
 * own), and a SIGTERM while a tool call is in flight: the worker reports not ready, lets the call finish, exits 0, and
 * the goal completes on the next worker without running the call again. Metrics stay correct across that replay.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goalState, startGoal } from '../src/client/goals.js';
import { startScriptedModel, type ScriptedModel } from '../src/scripted-model/server.js';
import { blueprint, eventually } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { sample, spawnWorker, type WorkerProcess } from './helpers/worker-process.js';
import { signedDecide } from './helpers/identity.js';

const PRICE = { input: 0.15, output: 0.6 };

const refund = blueprint(`
apiVersion: baton/v1
name: metrics-refund
models: { default: { model: gpt-4o-mini, price: { input: ${PRICE.input}, output: ${PRICE.output} } } }
agents:
  billing: { role: executor, instructions: Refund when justified., tools: [lookup_customer, issue_refund] }
entry: billing
tools:
  lookup_customer:
    type: http
    method: GET
    url: '\${env:BATON_DEMO_API}/customers/{{customerId}}'
    sideEffect: none
    parameters: { type: object, required: [customerId], properties: { customerId: { type: string } } }
  issue_refund:
    type: http
    method: POST
    url: '\${env:BATON_DEMO_API}/refunds'
    body: { customerId: '{{customerId}}', amount: '{{amount}}' }
    sideEffect: idempotent
    parameters: { type: object, required: [customerId, amount], properties: { customerId: { type: string }, amount: { type: number } } }
    approval: { when: args.amount > 100, approvers: [alice], timeout: 2s, onTimeout: reject }
approvers: {}
`);

const budget = blueprint(`
apiVersion: baton/v1
name: metrics-budget
models: { default: { model: gpt-4o-mini } }
agents: { billing: { role: executor, instructions: Look customers up., tools: [lookup_customer] } }
entry: billing
tools:
  lookup_customer:
    type: http
    method: GET
    url: '\${env:BATON_DEMO_API}/customers/{{customerId}}'
    sideEffect: none
    parameters: { type: object, required: [customerId], properties: { customerId: { type: string } } }
budget: { maxSteps: 1, onExceeded: fail }
`);

const slow = blueprint(`
apiVersion: baton/v1
name: metrics-slow
models: { default: { model: gpt-4o-mini } }
agents: { ops: { role: executor, instructions: Run the export., tools: [run_export] } }
entry: ops
tools:
  run_export:
    type: http
    method: GET
    url: '\${env:SLOW_API}/export'
    sideEffect: idempotent
    timeout: 1m
    parameters: { type: object, properties: {} }
`);

let env: TestWorkflowEnvironment;
let model: ScriptedModel;
let slowApi: Server;
let slowURL: string;
const slowCalls: ServerResponse[] = [];
const taskQueue = `metrics-${randomUUID()}`;
const workers: WorkerProcess[] = [];
let first: WorkerProcess;
const readyzSeen: string[] = [];

function workerEnv(): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: env.address,
    BATON_TASK_QUEUE: taskQueue,
    BATON_SHUTDOWN_GRACE_TIME: '30s',
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: 'test-key',
    BATON_DEMO_API: model.demoURL,
    SLOW_API: slowURL,
    // The worker reads only what it is told to: these two settings, and these loopback hosts (docs/security.md).
    BATON_TOOL_ENV: 'BATON_DEMO_API,SLOW_API',
    BATON_EGRESS_ALLOW: `*=${new URL(model.demoURL).host},*=${new URL(slowURL).host}`,
  };
}

async function start(loaded: typeof refund, input: unknown) {
  return startGoal(env.client, { loaded, input, startedBy: 'test', taskQueue });
}

beforeAll(async () => {
  env = await startDevServer();
  model = await startScriptedModel({
    quiet: true,
    scripts: [
      {
        goal: 'metrics-refund',
        replies: [
          {
            when: { after: 'user' },
            content: 'Looking both customers up.',
            toolCalls: [
              { name: 'lookup_customer', arguments: { customerId: 'c-42' } },
              { name: 'lookup_customer', arguments: { customerId: 'c-404' } },
            ],
            usage: { input: 400, output: 50 },
          },
          {
            when: { after: 'tool', tool: 'lookup_customer' },
            content: 'Refunding c-42.',
            toolCalls: [{ name: 'issue_refund', arguments: { customerId: 'c-42', amount: 120 } }],
            usage: { input: 600, output: 40 },
          },
          { when: { after: 'tool', tool: 'issue_refund' }, content: 'Done.', usage: { input: 700, output: 10 } },
        ],
      },
      {
        goal: 'metrics-budget',
        replies: [{ content: 'Looking.', toolCalls: [{ name: 'lookup_customer', arguments: { customerId: 'c-7' } }] }],
      },
      {
        goal: 'metrics-slow',
        replies: [
          { when: { after: 'user' }, content: 'Exporting.', toolCalls: [{ name: 'run_export', arguments: {} }] },
          { when: { after: 'tool' }, content: 'Export finished.' },
        ],
      },
    ],
  });
  slowApi = createServer((_req: IncomingMessage, res: ServerResponse) => void slowCalls.push(res));
  await new Promise<void>((resolve) => slowApi.listen(0, '127.0.0.1', resolve));
  slowURL = `http://127.0.0.1:${(slowApi.address() as AddressInfo).port}`;

  first = await spawnWorker(workerEnv());
  workers.push(first);
  // Follow /readyz from the moment the process starts until it is ready.
  await eventually(async () => {
    const r = await first.get('/readyz');
    if (r) readyzSeen.push(`${r.status} ${(JSON.parse(r.body) as { status: string }).status}`);
    return r?.status === 200 ? true : undefined;
  }, `the worker to become ready:\n${first.stderr()}`);
});

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  for (const res of slowCalls) res.destroy();
  slowApi?.closeAllConnections();
  await new Promise((resolve) => slowApi?.close(resolve));
  await model?.close();
  await env?.teardown();
});

describe('baton worker', () => {
  it('reports not ready while it starts, then ready, and live throughout', async () => {
    expect(readyzSeen[0]).toBe('503 starting');
    expect(readyzSeen.at(-1)).toBe('200 ready');
    const live = await first.get('/healthz');
    expect(live?.status).toBe(200);
    expect(JSON.parse(live!.body)).toMatchObject({ ok: true, worker: 'RUNNING' });
  });

  it('serves goal, tool, cost and approval metrics and the SDK runtime metrics after goals ran', async () => {
    const approved = await start(refund, { customerId: 'c-42', amount: 120 });
    await eventually(async () => {
      const s = await goalState(env.client, approved.workflowId);
      return s.status === 'awaiting_approval' ? s : undefined;
    }, 'the approval');
    await signedDecide(env.client, approved.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
    expect((await approved.result()).status).toBe('completed');

    const timedOut = await start(refund, { customerId: 'c-42', amount: 120 });
    const timedOutResult = await timedOut.result();
    expect(timedOutResult.approvals[0]?.status).toBe('timed_out');

    const overBudget = await start(budget, {});
    const failure = await overBudget.result().then(
      () => undefined,
      (err: unknown) => err as WorkflowFailedError,
    );
    expect(failure?.cause?.message).toMatch(/step budget of 1 used up/);

    const res = await first.get('/metrics');
    expect(res?.status).toBe(200);
    const m = res!.body;
    const bp = { blueprint: 'metrics-refund' };
    expect(sample(m, 'baton_goals_started_total', bp)).toBe(2);
    expect(sample(m, 'baton_goals_completed_total', bp)).toBe(2);
    expect(sample(m, 'baton_goals_failed_total', { blueprint: 'metrics-budget', reason: 'BudgetExceeded' })).toBe(1);
    expect(sample(m, 'baton_goal_duration_seconds_count', bp)).toBe(2);

    expect(sample(m, 'baton_tool_calls_total', { ...bp, tool: 'lookup_customer' })).toBe(4);
    expect(sample(m, 'baton_tool_errors_total', { ...bp, tool: 'lookup_customer', error_type: 'ToolFailed' })).toBe(2);
    expect(sample(m, 'baton_tool_calls_total', { ...bp, tool: 'issue_refund' })).toBe(1);
    expect(sample(m, 'baton_tool_duration_seconds_count', { ...bp, tool: 'issue_refund', outcome: 'ok' })).toBe(1);
    expect(sample(m, 'baton_tool_duration_seconds_bucket', { ...bp, tool: 'issue_refund', le: '+Inf' })).toBe(1);
    expect(sample(m, 'baton_step_duration_seconds_count', { ...bp, kind: 'model', agent: 'billing' })).toBe(6);

    const tokens = (direction: string) =>
      sample(m, 'baton_model_tokens_total', { ...bp, model: 'gpt-4o-mini', direction }) ?? NaN;
    expect(tokens('input')).toBe(2 * (400 + 600 + 700));
    expect(tokens('output')).toBe(2 * (50 + 40 + 10));
    const cost = sample(m, 'baton_model_cost_usd_sum', { ...bp, model: 'gpt-4o-mini' }) ?? NaN;
    expect(cost).toBeCloseTo((tokens('input') * PRICE.input + tokens('output') * PRICE.output) / 1e6, 9);
    expect(sample(m, 'baton_model_calls_total', { blueprint: 'metrics-budget' })).toBe(1);

    expect(sample(m, 'baton_approvals_opened_total', { ...bp, tool: 'issue_refund' })).toBe(2);
    expect(sample(m, 'baton_approvals_decided_total', { ...bp, decision: 'approved' })).toBe(1);
    expect(sample(m, 'baton_approvals_timed_out_total', bp)).toBe(1);
    expect(sample(m, 'baton_approval_wait_seconds_count', bp)).toBe(2);
    expect(sample(m, 'baton_approval_wait_seconds_sum', { ...bp, outcome: 'timed_out' })).toBeGreaterThanOrEqual(2);

    expect(sample(m, 'temporal_workflow_completed_total')).toBeGreaterThanOrEqual(2);
    expect(sample(m, 'temporal_activity_execution_latency_seconds_count')).toBeGreaterThan(0);
    expect(sample(m, 'temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' })).toBeGreaterThan(0);

    // Every series the shipped alerting and recording rules use is one the worker serves.
    const rules = await readFile('deploy/base/prometheusrule.yaml', 'utf8');
    const used = new Set([...rules.matchAll(/\b(baton_[a-z_]+|temporal_[a-z_]+)\b/g)].map((x) => x[1]!));
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) expect(m, `${name} is used by deploy/base/prometheusrule.yaml`).toContain(`${name}`);
  });

  it('drains on SIGTERM with a tool call in flight, without failing or repeating it', async () => {
    const handle = await start(slow, {});
    await eventually(() => (slowCalls.length === 1 ? true : undefined), 'the export call to be in flight');

    first.child.kill('SIGTERM');
    const draining = await eventually(async () => {
      const r = await first.get('/readyz');
      return r?.status === 503 ? r : undefined;
    }, 'readyz to turn 503');
    expect(JSON.parse(draining.body)).toMatchObject({ ok: false, status: 'draining', inFlightActivities: 1 });
    expect((await first.get('/healthz'))?.status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(first.child.exitCode).toBeNull(); // still draining: the call is running

    slowCalls[0]!.writeHead(200, { 'content-type': 'application/json' }).end('{"exported":3}');
    expect(await first.exited).toBe(0);
    const messages = first.logs().map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        'shutdown requested: not ready, no new tasks, draining in-flight work',
        'worker drained and stopped',
      ]),
    );

    const second = await spawnWorker(workerEnv());
    workers.push(second);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'Export finished.' });
    expect(slowCalls).toHaveLength(1);
    const history = await env.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : [],
    );
    expect(attempts.every((a) => a === 1)).toBe(true);

    // The second worker replayed the goal's history: it counts the completion, never the start again.
    const m = (await second.get('/metrics'))!.body;
    expect(sample(m, 'baton_goals_completed_total', { blueprint: 'metrics-slow' })).toBe(1);
    expect(sample(m, 'baton_goals_started_total', { blueprint: 'metrics-slow' })).toBeUndefined();

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
