/**
 * Structured logs: one logger for the Temporal runtime (SDK, Core, workflow and activity loggers) and for Baton's own
 * messages, writing JSON lines (`BATON_LOG_FORMAT=json`, for log pipelines) or readable lines (`pretty`) to stderr.
 */
import { DefaultLogger, type LogEntry, type Logger } from '@temporalio/worker';
import type { WorkerConfig } from '../config.js';

const LEVELS = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

/** Makes a value JSON-safe: errors keep their name, message and stack; bigints become strings. */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const type = (value as { type?: unknown }).type;
    return { name: value.name, message: value.message, ...(type ? { type } : {}), stack: value.stack };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** One JSON line: `time`, `level`, `msg`, then the entry's metadata (which never overwrites those three). */
export function jsonLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = Object.entries(entry.meta ?? {}).filter(([key]) => key !== 'time' && key !== 'level' && key !== 'msg');
  const record = { time, level: entry.level.toLowerCase(), msg: entry.message, ...Object.fromEntries(meta) };
  return `${JSON.stringify(record, (_key, value: unknown) => plain(value))}\n`;
}

/** One readable line: time, level, message and the metadata as JSON. */
export function prettyLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta =
    entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta, (_k, v: unknown) => plain(v))}` : '';
  return `${time} ${entry.level.padEnd(5)} ${entry.message}${meta}\n`;
}

/** The worker's logger, for `Runtime.install` and for Baton's own messages. */
export function createLogger(
  log: WorkerConfig['log'],
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const format = log.format === 'json' ? jsonLine : prettyLine;
  return new DefaultLogger(LEVELS[log.level], (entry) => write(format(entry)));
}
