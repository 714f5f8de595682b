/**
 * One SVG chart per benchmark section, written by `npm run bench` to docs/bench/ and shown in docs/performance.md:
 * for each metric, Baton's bar beside its references', each group scaled to its own largest value (the metrics
 * have different units), with the figure printed at the end of every bar. Plain SVG, no dependencies.
 */
import type { Chart } from './report.js';

const WIDTH = 900;
const LABEL = 180;
const BAR = 16;
const GAP = 4;
const GROUP_GAP = 14;
const COLORS = ['#2f6fdf', '#9aa4b2', '#c9ced6'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Renders the chart; the first bar of each group is Baton's. */
export function renderChart(title: string, chart: Chart): string {
  const parts: string[] = [];
  let y = 34;
  const barSpace = WIDTH - LABEL - 110;
  for (const group of chart.groups) {
    const max = Math.max(...group.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    parts.push(
      `<text x="8" y="${y + 12}" font-size="12" font-weight="bold" fill="#222">${escape(group.metric)}</text>`,
      ...group.bars.flatMap((bar, i) => {
        const top = y + 18 + i * (BAR + GAP);
        const w = max > 0 && Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * barSpace) : 0;
        return [
          `<text x="20" y="${top + 12}" font-size="11" fill="#555">${escape(bar.label)}</text>`,
          `<rect x="${LABEL}" y="${top}" width="${w.toFixed(1)}" height="${BAR}" fill="${COLORS[Math.min(i, COLORS.length - 1)]}"/>`,
          `<text x="${(LABEL + w + 6).toFixed(1)}" y="${top + 12}" font-size="11" fill="#222">${escape(bar.text)}</text>`,
        ];
      }),
    );
    y += 18 + group.bars.length * (BAR + GAP) + GROUP_GAP;
  }
  const height = y + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold" fill="#111">${escape(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
