/**
 * Real Temporal servers for tests: the dev server (from the Temporal CLI) and the time-skipping test server, both
 * found the way Baton finds them (env, .tools/temporal, PATH) and started on loopback.
 */
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
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: executable('test-server') } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(batonSearchAttributes.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type]])),
  });
  return env;
}
