/**
 * `baton dev`: the embedded stack. A Temporal dev server of its own (SQLite under .baton/, Web UI, Baton's search
 * attributes), the scripted model when no endpoint is configured, and a worker. Ctrl-C drains the worker first (a
 * running activity finishes and is recorded), then stops the server: no work is lost or done twice.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { configuredDataConverter } from '../codec/data-converter.js';
import { mergeAccess, noAccess } from '../activities/index.js';
import type { BatonConfig } from '../config.js';
import { demoBackOfficeAccess, loadToolAccess } from '../tool-access-config.js';
import { findTemporalBinary, missingBinaryMessage } from '../runtime/temporal-binaries.js';
import { startDevIdentity } from '../gateway/dev.js';
import { createBatonWorker } from '../worker.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { GoalCommandError } from './errors.js';
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

/** What another shell needs to reach this stack: the variables that differ from the CLI's defaults. */
export function devEnvHints(config: BatonConfig, opts: Pick<DevOptions, 'port' | 'uiPort' | 'ip'>): string[] {
  const vars: string[] = [];
  const loopback = ['127.0.0.1', 'localhost', '0.0.0.0'].includes(opts.ip);
  if (opts.port !== 7233 || !loopback) vars.push(`TEMPORAL_ADDRESS=${config.address}`);
  if (opts.uiPort !== 8233 || !loopback) vars.push(`BATON_UI_URL=${config.uiUrl}`);
  if (config.namespace !== 'default') vars.push(`TEMPORAL_NAMESPACE=${config.namespace}`);
  return vars;
}

/** Starts the stack and resolves when it has been stopped by SIGINT or SIGTERM. */
export async function runDev(config: BatonConfig, opts: DevOptions): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  // Large payloads go to the filesystem store beside the database, so goals that read big documents still fit.
  const payloadStore = config.payloadStore ?? resolve(dataDir, 'payloads');
  const found = findTemporalBinary('cli');
  if (!found) throw new GoalCommandError(missingBinaryMessage('cli'), 'config');
  const dbFile = resolve(dataDir, 'temporal.db');
  const server: DevServer = await startDevServer({
    executable: found.path,
    ip: opts.ip,
    port: opts.port,
    uiPort: opts.uiPort,
    dbFile,
    namespace: config.namespace,
    pidFile: resolve(dataDir, 'dev-server.pid'),
  });
  let nativeConnection: NativeConnection | undefined;
  let connection: Connection | undefined;
  let model: Awaited<ReturnType<typeof resolveModel>> | undefined;
  try {
    nativeConnection = await NativeConnection.connect({ address: config.address });
    connection = await Connection.connect({ address: config.address });
    model = await resolveModel(config, { allowScripted: opts.scripted, demoApi: true });
  } catch (err) {
    await nativeConnection?.close();
    await connection?.close();
    await model?.scripted?.close();
    await server.stop();
    throw err;
  }
  const dataConverter = configuredDataConverter({ ...config, payloadStore });
  const identity = await startDevIdentity(config, { dataDir, host: opts.ip === '0.0.0.0' ? '127.0.0.1' : opts.ip });
  const worker = await createBatonWorker({
    trust: identity.trust,
    connection: nativeConnection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    model: model.endpoint,
    access: mergeAccess(
      loadToolAccess(process.env),
      model.env.BATON_DEMO_API ? demoBackOfficeAccess(model.env.BATON_DEMO_API) : noAccess,
    ),
    dataConverter,
    shutdownGraceTime: '60s',
  });
  const running = worker.run();
  await identity.serve(connection);
  const hints = devEnvHints(config, opts);
  const exported = hints.length ? `export ${hints.join(' ')}\n                   ` : '';
  process.stdout.write(
    [
      'Baton dev stack is up:',
      `  Temporal gRPC   ${config.address}   (TEMPORAL_ADDRESS)`,
      `  Web UI          ${config.uiUrl}/namespaces/${config.namespace}/workflows   (BATON_UI_URL)`,
      `  Worker          task queue ${config.taskQueue}`,
      `  Data            ${dbFile}`,
      `  Payload store   ${payloadStore}   (BATON_PAYLOAD_STORE; payloads over the threshold)`,
      ...identity.banner,
      '',
      `In another shell: ${exported}npx baton login   then   npx baton start refund-request   then   npx baton approvals`,
      'Press Ctrl-C to stop everything (running activities finish first).',
      '',
    ].join('\n'),
  );

  let stopping = false;
  let failed = false;
  const stop = (): void => {
    if (stopping) {
      process.stderr.write('[baton] stopping the server now; unfinished activities will run again on restart\n');
      void server.stop();
      return;
    }
    stopping = true;
    process.stderr.write('\n[baton] stopping: letting running activities finish, then the dev server...\n');
    worker.shutdown();
  };
  void server.exited.then((code) => {
    if (stopping) return;
    failed = true;
    process.stderr.write(
      `[baton] the Temporal dev server exited unexpectedly (code ${String(code)}): ${server.output().trim().split('\n').slice(-3).join(' | ')}\n`,
    );
    stop();
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    if (opts.onReady) {
      await opts.onReady(
        new Client({ connection, namespace: config.namespace, ...(dataConverter ? { dataConverter } : {}) }),
      );
    }
    await running;
  } finally {
    if (!stopping) stop();
    await running.catch(() => undefined);
    await connection.close();
    await nativeConnection.close();
    await server.stop();
    await identity.close();
    await model.scripted?.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stderr.write('[baton] stopped.\n');
  }
  if (failed) throw new GoalCommandError('the Temporal dev server stopped; the stack is down');
}
