/**
 * One suite's world: a real Temporal server, the scripted model on loopback, and Baton workers on a fresh task
 * queue, started and stopped by the suite.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { BuiltinTool } from '../../src/activities/index.js';
import type { McpConnections } from '../../src/activities/mcp/connections.js';
import { parseBlueprint, type LoadedBlueprint } from '../../src/blueprint/load.js';
import { startGoal } from '../../src/client/goals.js';
import { startScriptedModel, type ScriptedModel } from '../../src/scripted-model/server.js';
import type { ScriptInput } from '../../src/scripted-model/script.js';
import type { TrustStore } from '../../src/trust/load.js';
import { testTrustStore } from './identity.js';
import { createBatonWorker } from '../../src/worker.js';

export interface Harness {
  env: TestWorkflowEnvironment;
  model: ScriptedModel;
  taskQueue: string;
  /** A client with the suite's data converter (env.client has none). */
  client: Client;
  /**
   * Starts a worker on the task queue (stop it with stopWorker). `maxCachedWorkflows: 0` starts one without a sticky
   * cache: every workflow task then replays the goal from its history.
   */
  startWorker(options?: { maxCachedWorkflows?: number }): Promise<void>;
  stopWorker(): Promise<void>;
  start(loaded: LoadedBlueprint, input?: unknown, id?: string): ReturnType<typeof startGoal>;
  close(): Promise<void>;
}

/** Parses blueprint YAML for a test, failing the test with the problems when it is invalid. */
export function blueprint(yaml: string): LoadedBlueprint {
  return parseBlueprint(yaml, 'test.yaml');
}

export async function createHarness(
  env: TestWorkflowEnvironment,
  opts: {
    scripts?: ScriptInput[];
    builtins?: Record<string, BuiltinTool>;
    extraEnv?: Record<string, string>;
    dataConverter?: DataConverter;
    workflowCode?: { workflowBundle: { codePath: string } };
    modelTimeoutMs?: number;
    refundDelayMs?: number;
    /** Start no in-process worker (the suite runs workers elsewhere). */
    noWorker?: boolean;
    /** The workers' MCP connection pool (the suite closes it); default: each worker's own. */
    mcp?: McpConnections;
    /** The operator's trust the worker verifies decisions against (src/trust/load.ts); default: the test key. */
    trust?: TrustStore;
  } = {},
): Promise<Harness> {
  const model = await startScriptedModel({
    scripts: opts.scripts ?? [],
    quiet: true,
    ...(opts.refundDelayMs ? { refundDelayMs: opts.refundDelayMs } : {}),
  });
  const taskQueue = `test-${randomUUID()}`;
  const client = opts.dataConverter
    ? new Client({
        connection: env.connection,
        namespace: env.namespace ?? 'default',
        dataConverter: opts.dataConverter,
      })
    : env.client;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const h: Harness = {
    env,
    model,
    taskQueue,
    client,
    async startWorker(options = {}) {
      worker = await createBatonWorker({
        ...options,
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        model: { baseURL: model.baseURL, ...(opts.modelTimeoutMs ? { timeoutMs: opts.modelTimeoutMs } : {}) },
        env: { BATON_DEMO_API: model.demoURL, ...opts.extraEnv },
        builtins: opts.builtins ?? {},
        workflowCode: opts.workflowCode ?? { workflowBundle: { codePath: inject('workflowBundlePath') } },
        ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
        ...(opts.mcp ? { mcp: opts.mcp } : {}),
        trust: opts.trust ?? testTrustStore(),
      });
      running = worker.run();
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = undefined;
      running = undefined;
    },
    start(loaded, input = {}, id) {
      return startGoal(client, { loaded, input, startedBy: 'test', taskQueue, ...(id ? { id } : {}) });
    },
    async close() {
      await h.stopWorker();
      await model.close();
    },
  };
  if (!opts.noWorker) await h.startWorker();
  return h;
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}
