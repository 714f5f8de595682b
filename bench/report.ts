/** The benchmark's output: one table per section, each figure with its reference, ratio and target beside it. */

/** One printed line: a figure for Baton, what it is compared with, and the target it is held to. */
export interface Row {
  metric: string;
  baton: string;
  reference?: string;
  ratio?: number;
  target?: string;
  /** Whether the target is met; undefined when the row has no target. */
  met?: boolean;
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
