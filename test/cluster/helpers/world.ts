/**
 * What a cluster suite works with: a client of the cluster booted by global-setup.ts, the scripted model (and its
 * demo back office, whose ledger records every side effect by idempotency key) in this process, and `baton worker`
 * processes on a fresh task queue, spawned and killed like an operator's.
 */
import { signedDecide } from '../../helpers/identity.js';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import type { LoadedBlueprint } from '../../../src/blueprint/load.js';
import { goalState, startGoal } from '../../../src/client/goals.js';
import { startScriptedModel, type ScriptedModel } from '../../../src/scripted-model/server.js';
import type { ScriptInput } from '../../../src/scripted-model/script.js';
import type { DemoLedger } from '../../../src/scripted-model/demo-api.js';
import type { GoalState } from '../../../src/workflows/definitions.js';
import { eventually } from '../../helpers/harness.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';
import type { ClusterInfo } from './cluster.js';

export interface World {
  cluster: ClusterInfo;
  client: Client;
  connection: Connection;
  model: ScriptedModel;
  taskQueue: string;
  /** The environment a `baton` command or worker needs to reach this world. */
  env: Record<string, string>;
  /** Spawns `baton worker` on the task queue; ready once it reports /readyz. */
  worker(extra?: Record<string, string>): Promise<WorkerProcess>;
  start(loaded: LoadedBlueprint, input?: unknown): ReturnType<typeof startGoal>;
  close(): Promise<void>;
}

/** Opens a world on the suite's cluster. */
export async function openWorld(opts: { scripts: ScriptInput[]; refundDelayMs?: number }): Promise<World> {
  const cluster = inject('cluster');
  const connection = await Connection.connect({ address: cluster.address });
  const client = new Client({ connection, namespace: cluster.namespace });
  const model = await startScriptedModel({
    scripts: opts.scripts,
    quiet: true,
    ...(opts.refundDelayMs ? { refundDelayMs: opts.refundDelayMs } : {}),
  });
  const taskQueue = `cluster-${randomUUID()}`;
  const env = {
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_NAMESPACE: cluster.namespace,
    BATON_TASK_QUEUE: taskQueue,
    OPENAI_BASE_URL: model.baseURL,
    OPENAI_API_KEY: 'scripted-model',
    BATON_DEMO_API: model.demoURL,
    BATON_SHUTDOWN_GRACE_TIME: '10s',
  };
  const workers: WorkerProcess[] = [];
  return {
    cluster,
    client,
    connection,
    model,
    taskQueue,
    env,
    async worker(extra = {}) {
      const w = await spawnWorker({ ...env, ...extra });
      workers.push(w);
      await eventually(
        async () => ((await w.get('/readyz'))?.status === 200 ? true : undefined),
        `worker ${w.child.pid} to be ready (stderr: ${w.stderr().slice(-500)})`,
        120_000,
      );
      return w;
    },
    start(loaded, input = {}) {
      return startGoal(client, { loaded, input, startedBy: 'cluster-test', taskQueue });
    },
    async close() {
      for (const w of workers) {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
        await w.exited;
      }
      await model.close();
      await connection.close();
    },
  };
}

/**
 * A person approves a pending approval: the one place the cluster suites decide, the way main's CLI does today
 * (the `decide` update through src/client/goals.ts, the approver named by `by`). When approvals move to signed
 * assertions, only this function changes.
 */
export async function approve(client: Client, goalId: string, approvalId: string, by: string): Promise<void> {
  await signedDecide(client, goalId, { approvalId, decision: 'approve', by });
}

/** Waits until a goal's `state` query reports `status`. */
export function goalReaches(client: Client, goalId: string, status: string, timeoutMs = 300_000): Promise<GoalState> {
  return eventually(
    async () => {
      const s = await goalState(client, goalId);
      return s.status === status ? s : undefined;
    },
    `goal ${goalId} to be ${status}`,
    timeoutMs,
  );
}

/** Runs `fn` over `items` with at most `limit` at a time (starting or approving a hundred goals at once). */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

/**
 * Side effects the demo back office performed more than once for one goal: refunds grouped by the goal id in their
 * idempotency key (`<workflowId>/<activityId>`), any goal with more than one listed. Empty when every goal acted once.
 */
export function duplicateRefunds(ledger: DemoLedger): { goalId: string; keys: string[] }[] {
  const byGoal = new Map<string, string[]>();
  for (const key of ledger.refunds.keys()) {
    const goalId = key.slice(0, key.lastIndexOf('/'));
    byGoal.set(goalId, [...(byGoal.get(goalId) ?? []), key]);
  }
  return [...byGoal].filter(([, keys]) => keys.length > 1).map(([goalId, keys]) => ({ goalId, keys }));
}
