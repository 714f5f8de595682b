/**
 * Text helpers shared by the CLI (src/client), the audit (src/audit), the activities and the workflows: how values
 * are cut to a line, written as canonical JSON, how zod issues and durations read, colour and aligned tables. Pure
 * (no I/O, no Node built-ins), so every layer may import it and none has to import another for it.
 */

/** Text cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Text on one line: every run of whitespace becomes one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A value as compact JSON, cut at `max` characters. */
export function compact(value: unknown, max = 80): string {
  return clip(JSON.stringify(value) ?? 'undefined', max);
}

/** Keys sorted at every level: one byte sequence per value, whoever wrote the JSON (undefined values dropped). */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value)) ?? 'null';
}

/** zod issues as one line: `tasks.0.agent: Invalid option; note: Required`; `root` names a problem at the top. */
export function formatIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  root = '(arguments)',
): string {
  return issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`).join('; ');
}

/** A duration for people, to a tenth of a second: `850ms`, `1s`, `1.2s`, `42.5s`. */
export function formatSeconds(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '';
  return ms < 1000 ? `${Math.round(ms)}ms` : `${Math.round(ms / 100) / 10}s`;
}

/** Colour functions; all of them return the text unchanged when colour is off. */
export interface Style {
  enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  blue(text: string): string;
  magenta(text: string): string;
  cyan(text: string): string;
}

function wrap(enabled: boolean, open: number, close: number): (text: string) => string {
  return enabled ? (text) => `\u001b[${open}m${text}\u001b[${close}m` : (text) => text;
}

/** A style that colours when asked to. */
export function makeStyle(enabled: boolean): Style {
  return {
    enabled,
    bold: wrap(enabled, 1, 22),
    dim: wrap(enabled, 2, 22),
    red: wrap(enabled, 31, 39),
    green: wrap(enabled, 32, 39),
    yellow: wrap(enabled, 33, 39),
    blue: wrap(enabled, 34, 39),
    magenta: wrap(enabled, 35, 39),
    cyan: wrap(enabled, 36, 39),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Visible width of text that may hold colour codes. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/** Aligns rows in columns (two spaces apart); the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => visibleLength(r[i] ?? '')))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(c))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
