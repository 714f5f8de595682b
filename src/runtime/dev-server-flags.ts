/**
 * The flags every Temporal dev server Baton starts runs with (`baton dev`, the tests' servers, the benchmark), in one
 * place. Why each one, with the measurements: docs/performance.md ("Why a step took 100 ms").
 */

/**
 * Dynamic config for the dev server. Its history service reads the transfer queue of its one shard at most
 * `history.transferProcessorMaxPollRPS` times a second (default 20, burst 20): once the burst is spent, every
 * activity → workflow task hand-off waits for the next read, so an agent step (two hand-offs) took ≥ 100 ms whatever
 * the work. 1,000 reads a second removes that floor; an idle server still reads only when tasks arrive, so the cost is
 * CPU while tasks flow. The timer queue's limit (`history.timerProcessorMaxPollRPS`) is left alone: measured, a 1 ms
 * timer took ≈1.0 s at 20 and at 1,000 reads a second (the server fires timers at its own granularity), and Baton's
 * timers are minutes to weeks.
 */
export const devServerDynamicConfig: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 1000,
};

/**
 * SQLite pragmas for a dev server that keeps its data in a file. The default journal syncs the file on every commit
 * (57–60 ms per hand-off on this project's 2-core machine); write-ahead logging with `synchronous=NORMAL` syncs at
 * checkpoints instead (≈19 ms). A crash of the process loses nothing; a power loss may lose the last commits, never
 * the database: right for a development server, not a production store (see docs/deploy.md).
 */
export const devServerFilePragmas: Readonly<Record<string, string>> = {
  journal_mode: 'WAL',
  synchronous: 'NORMAL',
};

/**
 * The extra `temporal server start-dev` arguments: the dynamic config above (overridden or extended by `dynamicConfig`),
 * and the SQLite pragmas when the server keeps its data in a file. `serverDefaults` leaves Baton's settings out (the
 * benchmark uses it to show what they change); `dynamicConfig` still applies.
 */
export function devServerFlags(
  opts: { dbFile?: boolean; dynamicConfig?: Record<string, string | number | boolean>; serverDefaults?: boolean } = {},
): string[] {
  const config = { ...(opts.serverDefaults ? {} : devServerDynamicConfig), ...opts.dynamicConfig };
  return [
    ...Object.entries(config).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    ...(opts.dbFile && !opts.serverDefaults
      ? Object.entries(devServerFilePragmas).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`])
      : []),
  ];
}
