/** Durations as blueprints write them (`30s`, `1d`), turned into milliseconds. Pure: safe in workflows. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Milliseconds in a blueprint duration such as `15m` or `14d`. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(text);
  if (!match?.[1] || !match[2])
    throw new TypeError(`invalid duration "${text}": expected a number and ms, s, m, h, d or w`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
