/**
 * The benchmark's Temporal dev server, on 127.0.0.1, with Baton's search attributes, found the way Baton finds it,
 * started with the same flags as `baton dev` (src/runtime/dev-server-flags.ts): the history service's queue read
 * limits raised and, for a file, SQLite in WAL mode. BENCH_SERVER_DEFAULTS=1 leaves both out (the server's own
 * defaults), to measure what they change.
 * Its log is off unless BENCH_SERVER_LOG names a level: under load it reports every cancelled long poll.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerFlags } from '../src/runtime/dev-server-flags.js';
import { findTemporalBinary, missingBinaryMessage } from '../src/runtime/temporal-binaries.js';
import { batonSearchAttributes } from '../src/workflows/search-attributes.js';

export async function startBenchServer(
  dbFilename: string | undefined,
  opts: { serverDefaults?: boolean; dynamicConfig?: Record<string, string | number | boolean> } = {},
): Promise<TestWorkflowEnvironment> {
  const extraArgs = devServerFlags({
    dbFile: dbFilename !== undefined,
    dynamicConfig: opts.dynamicConfig ?? {},
    serverDefaults: opts.serverDefaults ?? false,
  });
  const found = findTemporalBinary('cli');
  if (!found) throw new Error(missingBinaryMessage('cli'));
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: found.path },
      ip: '127.0.0.1',
      searchAttributes: batonSearchAttributes,
      log: { format: 'pretty', level: process.env.BENCH_SERVER_LOG ?? 'never' },
      ...(dbFilename ? { dbFilename } : {}),
      extraArgs,
    },
  });
}
