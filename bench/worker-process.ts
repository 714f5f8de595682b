/**
 * One benchmark worker in its own process, so its memory and CPU are its own. It runs Baton's compiled worker
 * (dist/worker.js, what `baton worker` runs) with the given workflow code and the bench builtins, and talks to the
 * driver over the fork IPC channel: `ready` once polling, `collected` after a GC the driver asks for.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type * as DataConverterModule from '../src/codec/data-converter.js';
import type * as WorkerModule from '../src/worker.js';
import type * as TrustModule from '../src/trust/load.js';
import type { TrustFiles } from './identity.js';
import { benchBuiltins } from './tools.js';

/** What the driver asks of a worker process (JSON in the BENCH_WORKER variable). */
export interface WorkerSpec {
  address: string;
  namespace: string;
  taskQueue: string;
  modelBaseURL: string;
  /** What the activities read as ${env:NAME}. */
  env: Record<string, string>;
  /** A prebuilt bundle, or a workflows module to bundle at start. */
  workflowCode: { workflowBundle: { codePath: string } } | { workflowsPath: string };
  maxCachedWorkflows?: number;
  /** The operator's trust, as `baton worker` reads it (BATON_TRUST_FILE, BATON_BLUEPRINTS). */
  trust: TrustFiles;
  /** BATON_PAYLOAD_STORE of this worker: payloads, long tool outputs and transcripts leave the history. */
  payloadStore?: string;
}

/** Messages from the worker process to the driver. */
export type WorkerMessage =
  | { type: 'ready'; createMs: number; sinceProcessStartMs: number }
  | { type: 'collected' }
  | { type: 'error'; message: string };

/** Messages from the driver to the worker process. */
export type DriverMessage = { type: 'collect' } | { type: 'stop' };

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_WORKER ?? '{}') as WorkerSpec;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const compiled = new URL('../dist/worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(compiled))) throw new Error('dist/worker.js is missing: run `npm run build` first');
  const { createBatonWorker } = (await import(compiled.href)) as typeof WorkerModule;
  const { createTrustStore } = (await import(
    new URL('../dist/trust/load.js', import.meta.url).href
  )) as typeof TrustModule;
  const trust = createTrustStore(spec.trust);
  const { configuredDataConverter } = (await import(
    new URL('../dist/codec/data-converter.js', import.meta.url).href
  )) as typeof DataConverterModule;
  const connection = await NativeConnection.connect({ address: spec.address });
  const begin = performance.now();
  const worker = await createBatonWorker({
    connection,
    namespace: spec.namespace,
    taskQueue: spec.taskQueue,
    model: { baseURL: spec.modelBaseURL },
    env: spec.env,
    builtins: benchBuiltins(),
    trust,
    workflowCode: spec.workflowCode,
    ...(spec.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: spec.maxCachedWorkflows }),
    ...(spec.payloadStore ? { dataConverter: configuredDataConverter({ payloadStore: spec.payloadStore }) } : {}),
  });
  const createMs = performance.now() - begin;
  const running = worker.run();
  const stop = (): void => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.once('disconnect', stop);
  process.on('message', (message: DriverMessage) => {
    if (message.type === 'stop') {
      stop();
    } else if (message.type === 'collect') {
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'collected' });
    }
  });
  send({ type: 'ready', createMs, sinceProcessStartMs: performance.now() });
  await running;
  await connection.close();
  process.disconnect?.();
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  process.disconnect?.();
});
