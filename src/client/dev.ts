/**
 * `baton dev`: the embedded stack. A Temporal dev server (SQLite under .baton/, Web UI), Baton's search
 * attributes, the scripted model when no endpoint is configured, and a worker, all in one process tree that Ctrl-C
 * stops completely.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { configuredDataConverter } from '../codec/data-converter.js';
import { mergeAccess, noAccess } from '../activities/index.js';
import type { BatonConfig } from '../config.js';
import { demoBackOfficeAccess, loadToolAccess } from '../tool-access-config.js';
import { findTemporalBinary, missingBinaryMessage } from '../runtime/temporal-binaries.js';
import { createBatonWorker } from '../worker.js';
import { batonSearchAttributes } from '../workflows/search-attributes.js';
import { resolveModel } from './model-endpoint.js';

export interface DevOptions {
  port: number;
  uiPort: number;
  ip: string;
  dataDir: string;
  scripted: boolean;
  /** Runs once the stack is ready (start an example goal, print hints). */
  onReady?: (client: Client) => Promise<void>;
}

/** Starts the stack and resolves when it has been stopped by SIGINT or SIGTERM. */
export async function runDev(config: BatonConfig, opts: DevOptions): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // Large payloads go to the filesystem store beside the database, so goals that read big documents still fit.
  const payloadStore = config.payloadStore ?? resolve(dataDir, 'payloads');
  const found = findTemporalBinary('cli');
  if (!found) {
    process.stderr.write(`[baton] ${missingBinaryMessage('cli')}\n[baton] trying the Temporal SDK's own download...\n`);
  }
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: found ? { type: 'existing-path', path: found.path } : { type: 'cached-download' },
        dbFilename: resolve(dataDir, 'temporal.db'),
        ip: opts.ip,
        port: opts.port,
        ui: true,
        uiPort: opts.uiPort,
        namespace: config.namespace,
        searchAttributes: batonSearchAttributes,
        log: { format: 'pretty', level: 'error' },
      },
    });
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    throw new Error(
      found
        ? `the Temporal dev server did not start (${reason}); is port ${opts.port} or ${opts.uiPort} in use? Try --port / --ui-port`
        : `${missingBinaryMessage('cli')} (download failed: ${reason})`,
      { cause: err },
    );
  }
  const model = await resolveModel(config, { allowScripted: opts.scripted, demoApi: true }).catch(
    async (err: unknown) => {
      await env.teardown();
      throw err;
    },
  );
  const worker = await createBatonWorker({
    connection: env.nativeConnection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    model: model.endpoint,
    access: mergeAccess(
      loadToolAccess(process.env),
      model.env.BATON_DEMO_API ? demoBackOfficeAccess(model.env.BATON_DEMO_API) : noAccess,
    ),
    dataConverter: configuredDataConverter({ ...config, payloadStore }),
  });
  const running = worker.run();
  const address = `${opts.ip}:${opts.port}`;
  const ui = `http://${opts.ip === '0.0.0.0' ? 'localhost' : opts.ip}:${opts.uiPort}`;
  process.stdout.write(
    [
      'Baton dev stack is up:',
      `  Temporal gRPC   ${address}   (TEMPORAL_ADDRESS)`,
      `  Web UI          ${ui}/namespaces/${config.namespace}/workflows`,
      `  Worker          task queue ${config.taskQueue}`,
      `  Data            ${resolve(dataDir, 'temporal.db')}`,
      `  Payload store   ${payloadStore}   (BATON_PAYLOAD_STORE; payloads over the threshold)`,
      '',
      'In another shell:  npx baton start goals/refund-request.yaml   then   npx baton approvals',
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\n[baton] stopping: worker, dev server, scripted model...\n');
    worker.shutdown();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    if (opts.onReady) await opts.onReady(env.client);
    await running;
  } finally {
    stop();
    await running.catch(() => undefined);
    await env.teardown();
    await model.scripted?.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stderr.write('[baton] stopped.\n');
  }
}
