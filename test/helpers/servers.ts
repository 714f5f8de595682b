/**
 * Real Temporal servers for tests: the dev server (from the Temporal CLI) and the time-skipping test server, both
 * found the way Baton finds them (env, .tools/temporal, PATH) and started on loopback.
 */
import { spawnSync } from 'node:child_process';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerFlags } from '../../src/runtime/dev-server-flags.js';
import { findTemporalBinary } from '../../src/runtime/temporal-binaries.js';
import { batonSearchAttributes } from '../../src/workflows/search-attributes.js';

function executable(kind: 'cli' | 'test-server') {
  const found = findTemporalBinary(kind);
  return found ? ({ type: 'existing-path', path: found.path } as const) : ({ type: 'cached-download' } as const);
}

import { freePort } from '../../src/runtime/free-port.js';

export { freePort };

export interface DevServerOptions {
  dbFilename?: string;
  port?: number;
  /** Serve the Web UI on this loopback port. */
  uiPort?: number;
  /** Dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 40 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** More flags for `temporal server start-dev` (e.g. `--http-port`). */
  extraArgs?: string[];
}

/** A Temporal dev server with Baton's search attributes registered. */
export function startDevServer(opts: DevServerOptions = {}): Promise<TestWorkflowEnvironment> {
  const extraArgs = [
    ...devServerFlags({ dbFile: opts.dbFilename !== undefined, dynamicConfig: opts.dynamicConfig ?? {} }),
    ...(opts.extraArgs ?? []),
  ];
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable('cli'),
      ip: '127.0.0.1',
      searchAttributes: batonSearchAttributes,
      log: { format: 'pretty', level: 'error' },
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.uiPort ? { ui: true, uiPort: opts.uiPort } : {}),
      extraArgs,
    },
  });
}

/** The proto enum of each search attribute type (temporal.api.enums.v1.IndexedValueType). */
const INDEXED_VALUE_TYPE = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 } as const;

/**
 * The time-skipping test server, with Baton's search attributes registered: timers of days pass in milliseconds
 * while no work is pending.
 */
/** PIDs of this process's children running `executablePath`. */
function childrenRunning(executablePath: string): number[] {
  const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, cmd]) => pid && cmd === executablePath)
    .map(([pid]) => Number(pid));
}

/**
 * The SDK gives an ephemeral server a fixed 5 s to answer; on a loaded 2-core machine the test server sometimes
 * needs longer. A start that timed out that way is tried again, after stopping the server process that attempt
 * left (only our own child, by its pid).
 */
async function withStartRetries<T>(executablePath: string | undefined, start: () => Promise<T>): Promise<T> {
  // Without a known executable its process cannot be told apart from others: no retry then.
  const attempts = executablePath ? 4 : 1;
  for (let i = 1; ; i++) {
    const before = new Set(executablePath ? childrenRunning(executablePath) : []);
    try {
      return await start();
    } catch (err) {
      if (i >= attempts || !/did not start within/.test((err as Error).message)) throw err;
      for (const pid of childrenRunning(executablePath!)) if (!before.has(pid)) process.kill(pid, 'SIGKILL');
      process.stderr.write(`[test] ephemeral server start timed out (attempt ${i} of ${attempts}); trying again\n`);
    }
  }
}

export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const server = executable('test-server');
  const path = server.type === 'existing-path' ? server.path : undefined;
  const env = await withStartRetries(path, () =>
    TestWorkflowEnvironment.createTimeSkipping({ server: { executable: server } }),
  );
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(batonSearchAttributes.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type]])),
  });
  return env;
}
