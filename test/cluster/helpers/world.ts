/**
 * What a cluster suite works with: a client of the cluster booted by global-setup.ts, the scripted model (and its
 * demo back office, whose ledger records every side effect by idempotency key) in this process, and `baton worker`
 * processes on a fresh task queue, spawned and killed like an operator's. Workers trust the tests' signing key and
 * allow ad hoc blueprints (test/helpers/identity.ts) unless a suite gives them an operator's trust file and registry,
 * as `gateway()` does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import type { LoadedBlueprint } from '../../../src/blueprint/load.js';
import { goalState, startGoal } from '../../../src/client/goals.js';
import { loadConfig } from '../../../src/config.js';
import { startDevIdentity } from '../../../src/gateway/dev.js';
import { freePort } from '../../../src/runtime/free-port.js';
import { startScriptedModel, type ScriptedModel } from '../../../src/scripted-model/server.js';
import type { ScriptInput } from '../../../src/scripted-model/script.js';
import type { DemoLedger } from '../../../src/scripted-model/demo-api.js';
import type { GoalState } from '../../../src/workflows/definitions.js';
import { loginThrough } from '../../helpers/gateway.js';
import { eventually } from '../../helpers/harness.js';
import { signedDecide } from '../../helpers/identity.js';
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
  /** Starts an approval gateway (`baton serve` with the dev identity provider) on this world's task queue. */
  gateway(): Promise<ClusterGateway>;
  close(): Promise<void>;
}

/** `baton serve` for a world, with what an operator gives the workers and the CLI. */
export interface ClusterGateway {
  /** Worker settings as an operator sets them: the gateway's key in the trust file, the registered example goals. */
  workerEnv: Record<string, string>;
  /** Signs `user` (a demo user) in through the real login; the variables that make the CLI act as them. */
  login(user: string): Promise<Record<string, string>>;
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
    // The demo back office is a setting the blueprints read (${env:BATON_DEMO_API}) on a loopback host: both must be
    // offered to tools, or every tool call fails and the goals end without a side effect.
    BATON_TOOL_ENV: 'BATON_DEMO_API',
    BATON_EGRESS_ALLOW: `*=${new URL(model.demoURL).host}`,
    BATON_SHUTDOWN_GRACE_TIME: '10s',
  };
  const workers: WorkerProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
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
    async gateway() {
      const dir = mkdtempSync(join(tmpdir(), 'baton-cluster-gw-'));
      const identity = await startDevIdentity(loadConfig({ TEMPORAL_NAMESPACE: cluster.namespace }), {
        dataDir: dir,
        host: '127.0.0.1',
        gatewayPort: await freePort(),
      });
      closers.push(async () => {
        await identity.close();
        rmSync(dir, { recursive: true, force: true });
      });
      await identity.serve(connection, taskQueue);
      return {
        workerEnv: {
          BATON_TRUST_FILE: join(dir, 'identity', 'trust.yaml'),
          BATON_BLUEPRINTS: join(dir, 'identity'),
          BATON_ALLOW_ADHOC_BLUEPRINTS: 'false',
        },
        login: (user) => loginThrough(identity.gatewayUrl, user, dir),
      };
    },
    async close() {
      for (const w of workers) {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
        await w.exited;
      }
      for (const c of closers) await c();
      await model.close();
      await connection.close();
    },
  };
}

/**
 * A person approves a pending approval: the `decide` update with an assertion signed for `by` by the tests' key, which
 * the suites' workers trust (the examples suite decides through `baton approve` and a gateway instead).
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
