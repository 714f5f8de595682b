/** Renders an audit trail: `table` for a terminal, `jsonl` to keep and verify, `md` to hand to a person. */
import { makeStyle, table, type Style } from '../text.js';
import type { AuditRecord } from './chain.js';
import { text } from './history.js';
import type { TrailFacts } from './entry.js';

export const AUDIT_FORMATS = ['table', 'jsonl', 'md'] as const;
export type AuditFormat = (typeof AUDIT_FORMATS)[number];

function kindColor(style: Style, kind: string): string {
  if (kind.startsWith('approval.')) return style.yellow(kind);
  if (kind.startsWith('model.')) return style.blue(kind);
  if (kind.startsWith('tool.')) return style.cyan(kind);
  if (kind === 'goal.finished' || kind === 'goal.started') return style.bold(kind);
  if (kind === 'budget.exceeded') return style.red(kind);
  return style.dim(kind);
}

/** A record's time, to the millisecond, in UTC. */
export function shortTime(at: string): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? at : new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function header(facts: TrailFacts, records: AuditRecord[]): string[] {
  const started = records[0];
  const hashOk = started?.data.blueprintHashMatches === true;
  return [
    `goal       ${facts.goalId} (${facts.goal})`,
    `blueprint  sha256 ${facts.blueprintHash} (${hashOk ? 'matches the pinned definition' : 'DOES NOT MATCH the pinned definition'})`,
    `runs       ${facts.runs.length}: ${facts.runs.join(', ')}`,
    `status     ${facts.status}${facts.closed ? '' : ' (the trail grows while the goal runs)'}`,
    `head hash  ${records.at(-1)?.hash ?? ''}`,
  ];
}

/** A table for the terminal. */
export function renderTable(records: AuditRecord[], facts: TrailFacts, style: Style = makeStyle(false)): string {
  const rows = [
    ['#', 'TIME (UTC)', 'ACTOR', 'EVENT', 'WHAT'].map((h) => style.bold(h)),
    ...records.map((r) => [String(r.seq), shortTime(r.at), r.actor, kindColor(style, r.kind), r.summary]),
  ];
  return [...header(facts, records).map((l) => style.dim(l)), '', table(rows)].join('\n');
}

/** One JSON object per line, each with its place in the hash chain. */
export function renderJsonl(records: AuditRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n');
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown: a heading with the facts, one table row per record, and the head hash to check an export against. */
export function renderMarkdown(records: AuditRecord[], facts: TrailFacts): string {
  const started = records[0];
  const finished = records.findLast((r) => r.kind === 'goal.finished');
  const lines = [
    `# Audit trail of goal \`${facts.goalId}\``,
    '',
    `- **Goal**: ${facts.goal}, started by ${text(started?.data.startedBy, '?')} at ${started ? shortTime(started.at) : '?'} UTC`,
    `- **Blueprint**: sha256 \`${facts.blueprintHash}\` (${started?.data.blueprintHashMatches === true ? 'matches the definition pinned in the first event' : '**does not match** the definition pinned in the first event'})`,
    `- **Runs**: ${facts.runs.map((r) => `\`${r}\``).join(', ')}`,
    `- **Status**: ${facts.status}${facts.closed ? '' : ' (still running; the trail grows)'}`,
    `- **Head hash**: \`${records.at(-1)?.hash ?? ''}\` (the JSON Lines export of the same history ends with this hash; check one with \`baton audit --verify FILE\`)`,
    '',
    '| # | time (UTC) | actor | event | what |',
    '|---:|---|---|---|---|',
    ...records.map((r) => `| ${r.seq} | ${shortTime(r.at)} | ${cell(r.actor)} | ${r.kind} | ${cell(r.summary)} |`),
  ];
  if (finished) {
    lines.push('', '## Result', '', String(finished.data.answer ?? finished.data.reason ?? finished.data.status));
  }
  return lines.join('\n');
}
