/**
 * `baton worker` as a separate process, the way operators run it: spawned from bin/baton.js (the built CLI) with its
 * environment, its JSON log lines collected, its HTTP endpoint probed, and stopped with a real signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';

import { freePort } from '../../src/runtime/free-port.js';
import { testWorkerEnv } from './identity.js';

export { freePort };

export interface WorkerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT of /metrics, /healthz, /readyz. */
  url: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** stderr parsed as JSON lines (throws on a line that is not JSON). */
  logs(): Record<string, unknown>[];
  exited: Promise<number | null>;
  /** GET a path; undefined while nothing listens. */
  get(path: string): Promise<{ status: number; body: string } | undefined>;
}

/** Spawns `baton worker` with loopback-only settings plus `env`. */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/baton.js', 'worker'], {
    env: {
      ...process.env,
      BATON_METRICS_HOST: '127.0.0.1',
      BATON_METRICS_PORT: String(port),
      BATON_LOG_FORMAT: 'json',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      ...testWorkerEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    stderr: () => err,
    logs: () =>
      err
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
    async get(path) {
      try {
        const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
        return { status: res.status, body: await res.text() };
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * `baton worker` for a test harness: its task queue, its scripted model and the demo back office (the only place its
 * blueprints may read and reach, docs/security.md), and the suite's workflow bundle.
 */
export function spawnHarnessWorker(
  address: string,
  h: { taskQueue: string; model: { baseURL: string; demoURL: string } },
): Promise<WorkerProcess> {
  return spawnWorker({
    TEMPORAL_ADDRESS: address,
    BATON_TASK_QUEUE: h.taskQueue,
    OPENAI_BASE_URL: h.model.baseURL,
    OPENAI_API_KEY: 'scripted',
    BATON_DEMO_API: h.model.demoURL,
    BATON_TOOL_ENV: 'BATON_DEMO_API',
    BATON_EGRESS_ALLOW: `*=${new URL(h.model.demoURL).host}`,
    BATON_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
  });
}

/** `wait`, or its error with the end of what `worker` wrote (a worker that could not start says why there). */
export async function sayingWhatWorkerWrote<T>(worker: WorkerProcess, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${(err as Error).message}; the worker wrote: ${worker.stderr().slice(-2000)}`, { cause: err });
  }
}

/** Sums the samples of a Prometheus metric whose labels include `labels`; undefined when there is none. */
export function sample(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of metrics.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map<string, string>();
    for (const m of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) total = (total ?? 0) + Number(match[3]);
  }
  return total;
}
