/**
 * Real Temporal servers for tests: the dev server (from the Temporal CLI) and the time-skipping test server, both
 * found the way Baton finds them (env, .tools/temporal, PATH) and started on loopback.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalBinary } from '../../src/runtime/temporal-binaries.js';
import { batonSearchAttributes } from '../../src/workflows/search-attributes.js';

function executable(kind: 'cli' | 'test-server') {
  const found = findTemporalBinary(kind);
  return found ? ({ type: 'existing-path', path: found.path } as const) : ({ type: 'cached-download' } as const);
}

/** A Temporal dev server with Baton's search attributes registered, and optional dynamic config values. */
export function startDevServer(
  opts: { dbFilename?: string; port?: number; dynamicConfig?: Record<string, string | number> } = {},
): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: executable('cli'),
      ip: '127.0.0.1',
      searchAttributes: batonSearchAttributes,
      log: { format: 'pretty', level: 'error' },
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.dynamicConfig
        ? {
            extraArgs: Object.entries(opts.dynamicConfig).flatMap(([k, v]) => [
              '--dynamic-config-value',
              `${k}=${JSON.stringify(v)}`,
            ]),
          }
        : {}),
    },
  });
}

/** The time-skipping test server: timers of days pass in milliseconds while no work is pending. */
export function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: executable('test-server') } });
}
