/** The benchmark's output: one table per section, each figure with its reference, ratio and target beside it. */

/** One printed line: a figure for Baton, what it is compared with, and the target it is held to. */
export interface Row {
  /** Stable key of a row with a target, e.g. `overhead.stepMedian`: bench/results.json lists it under `targets`. */
  key?: string;
  metric: string;
  baton: string;
  reference?: string;
  ratio?: number;
  target?: string;
  /** Whether the target is met; undefined when the row has no target. */
  met?: boolean;
  /** The figure the target is on when it is not the ratio (an absolute target such as a latency), in its unit. */
  value?: number;
}

export interface SectionResult {
  name: string;
  title: string;
  /** What the reference column holds (raw Temporal, LangGraph, ...). */
  reference?: string;
  rows: Row[];
  notes: string[];
  /** Every measurement behind the rows, for results.json. */
  data: Record<string, unknown>;
  /** What the section's SVG chart shows (bench/chart.ts). */
  chart?: Chart;
}

/** A chart: groups of bars, each group one metric, each bar scaled to the largest of its group. */
export interface Chart {
  groups: { metric: string; bars: { label: string; value: number; text: string }[] }[];
}

/** A target a figure is held to: at most `max` or at least `min`. */
export type Bound = { max: number } | { min: number };

/** The row of a figure with a target: the verdict, and the stable key results.json files it under. */
export function targetRow(
  key: string,
  row: Omit<Row, 'key' | 'target' | 'met'>,
  value: number,
  bound: Bound,
  unit = '',
): Row {
  const met = Number.isFinite(value) && ('max' in bound ? value <= bound.max : value >= bound.min);
  const target = 'max' in bound ? `<= ${bound.max}${unit}` : `>= ${bound.min}${unit}`;
  return { key, ...row, ...(value === row.ratio ? {} : { value }), target, met };
}

/** Every keyed row of the sections, as results.json's `targets`: value, target and verdict under a stable key. */
export function targetsOf(
  sections: readonly SectionResult[],
): Record<string, { value: number | null; target: string; met: boolean }> {
  const out: Record<string, { value: number | null; target: string; met: boolean }> = {};
  for (const section of sections) {
    for (const row of section.rows) {
      if (row.key === undefined || row.target === undefined || row.met === undefined) continue;
      const value = row.value ?? row.ratio;
      out[row.key] = {
        value: value !== undefined && Number.isFinite(value) ? Number(value.toFixed(3)) : null,
        target: row.target,
        met: row.met,
      };
    }
  }
  return out;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Formats a section as a fixed-width table. */
export function formatSection(section: SectionResult): string {
  const header = ['', 'Baton', section.reference ?? '', 'ratio', 'target', ''];
  const cells = section.rows.map((r) => [
    r.metric,
    r.baton,
    r.reference ?? '',
    r.ratio === undefined ? '' : Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '-',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string =>
    `  ${c
      .map((v, i) => pad(v, widths[i]!))
      .join('  ')
      .trimEnd()}`;
  return [`\n${section.title}`, line(header), ...cells.map(line), ...section.notes.map((n) => `  note: ${n}`)].join(
    '\n',
  );
}
