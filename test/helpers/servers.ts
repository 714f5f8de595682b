/**
 * Real Temporal servers for tests: the dev server (from the Temporal CLI) and the time-skipping test server, both
 * found the way Baton finds them (env, .tools/temporal, PATH) and started on loopback.
 */
import { temporal } from '@temporalio/proto';
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

/**
 * The time-skipping test server: timers of days pass in milliseconds while no work is pending. Baton's search
 * attributes are registered through the operator service, as on a real cluster (the test server has no command-line
 * flag for them, and it refuses undeclared ones just as a real server does).
 */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: executable('test-server') } });
  const types = temporal.api.enums.v1.IndexedValueType;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      batonSearchAttributes.map((key) => [key.name, types[`INDEXED_VALUE_TYPE_${key.type}`]]),
    ),
  });
  return env;
}
