/** How the CLI writes for people: colour only on a terminal (and never with NO_COLOR), ages and deadlines. */
import { makeStyle, type Style } from '../text.js';

export { clip, makeStyle, table, visibleLength, type Style } from '../text.js';

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
