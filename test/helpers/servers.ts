/**
 * Real Temporal servers for tests: the dev server (from the Temporal CLI) and the time-skipping test server, both
 * found the way Baton finds them (env, .tools/temporal, PATH) and started on loopback.
 */
import { createServer, type AddressInfo } from 'node:net';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalBinary } from '../../src/runtime/temporal-binaries.js';
import { batonSearchAttributes } from '../../src/workflows/search-attributes.js';

function executable(kind: 'cli' | 'test-server') {
  const found = findTemporalBinary(kind);
  return found ? ({ type: 'existing-path', path: found.path } as const) : ({ type: 'cached-download' } as const);
}

/** A free TCP port on loopback (for a server that needs its port named up front, such as the Web UI). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface DevServerOptions {
  dbFilename?: string;
  port?: number;
  /** Serve the Web UI on this loopback port. */
  uiPort?: number;
  /** Dynamic config, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 40 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/** A Temporal dev server with Baton's search attributes registered. */
export function startDevServer(opts: DevServerOptions = {}): Promise<TestWorkflowEnvironment> {
  const extraArgs = Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable('cli'),
      ip: '127.0.0.1',
      searchAttributes: batonSearchAttributes,
      log: { format: 'pretty', level: 'error' },
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.uiPort ? { ui: true, uiPort: opts.uiPort } : {}),
      ...(extraArgs.length ? { extraArgs } : {}),
    },
  });
}

/** The time-skipping test server: timers of days pass in milliseconds while no work is pending. */
export function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: executable('test-server') } });
}
