/** How the CLI writes for people: colour only on a terminal (and never with NO_COLOR), aligned tables. */

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

/**
 * Whether to colour a stream: never when NO_COLOR is set (https://no-color.org), always when FORCE_COLOR is set to
 * anything but 0, otherwise only on a terminal.
 */
export function colorWanted(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** The style for a stream. */
export function styleFor(stream: { isTTY?: boolean }): Style {
  return makeStyle(colorWanted(stream));
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

/** A span of time in the largest sensible unit. */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** How long ago an ISO time was. */
export function age(iso: string, now = Date.now()): string {
  return span(now - Date.parse(iso));
}

/** A deadline as people read it: how long is left, and when (UTC, to the minute). */
export function until(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'none';
  const left = Date.parse(iso) - now;
  const when = `${iso.slice(0, 16).replace('T', ' ')}Z`;
  return left > 0 ? `in ${span(left)} (${when})` : `passed (${when})`;
}

/** Text cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Colours a goal status by what it asks of people: waiting in yellow, done in green, failed in red. */
export function statusColor(style: Style, status: string): string {
  switch (status) {
    case 'completed':
      return style.green(status);
    case 'awaiting_approval':
    case 'awaiting_reply':
      return style.yellow(status);
    case 'failed':
    case 'terminated':
    case 'timed_out':
      return style.red(status);
    case 'cancelled':
      return style.magenta(status);
    default:
      return style.cyan(status);
  }
}
