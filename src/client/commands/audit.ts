/**
 * `baton audit`: a goal's audit trail from Temporal's history (table, jsonl, md), and `--verify` of an export. The
 * trail itself is built in src/audit; this file only reads the options, prints, and compares an export with the
 * server.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { AUDIT_FORMATS, renderJsonl, renderMarkdown, renderTable, type AuditFormat } from '../../audit/format.js';
import type { AuditRecord, VerifyResult } from '../../audit/index.js';
import { renderMermaid } from '../../audit/mermaid.js';
import { loadConfig } from '../../config.js';
import { GoalCommandError } from '../errors.js';
import { styleFor } from '../output.js';
import { EXAMPLE_ID, examples, type JsonFlag } from '../text.js';
import { connect } from './connect.js';

// The audit loads the Temporal client; `--help` does without it.
const audit = () => import('../../audit/index.js');

function printVerify(file: string, result: VerifyResult, json: boolean, against?: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ file, ...result, ...(against ? { against } : {}) }, null, 2)}\n`);
  } else if (result.ok) {
    process.stdout.write(
      `${file}: ok, ${result.records} records of goal ${result.goalId}, chain intact${against ? `, identical to the history of ${against} on the server` : ''}${result.complete ? '' : ' (exported while the goal was running)'}\n  head hash ${result.head}\n`,
    );
  }
  if (!result.ok) {
    if (!json) process.stderr.write(`baton: ${file}: ${result.problem}\n`);
    process.exitCode = 1;
  }
}

/** Compares a verified export with the trail the server's history gives now. */
function compareWithServer(result: VerifyResult & { ok: true }, text: string, records: AuditRecord[]): VerifyResult {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < lines.length; i++) {
    const mine = JSON.parse(lines[i] ?? '{}') as AuditRecord;
    const theirs = records[i];
    if (mine.kind === 'audit.sealed' && !result.complete) break;
    if (!theirs || theirs.hash !== mine.hash) {
      return {
        ok: false,
        record: i + 1,
        line: i + 1,
        problem: `record ${i + 1} (${mine.kind}) differs from the goal's history on the server${theirs ? `, which has ${theirs.kind}: ${theirs.summary}` : ''}${result.complete ? '' : ' (the file was exported while the goal ran; export it again once it has ended)'}`,
      };
    }
  }
  if (result.complete && records.length !== lines.length) {
    return {
      ok: false,
      record: lines.length,
      line: lines.length,
      problem: `the server's trail has ${records.length} records, the file ${lines.length}`,
    };
  }
  return result;
}

/** Markdown that opens (under its heading) with the goal as a Mermaid sequence diagram. */
function markdownWithDiagram(markdown: string, records: AuditRecord[]): string {
  const [heading = '', ...rest] = markdown.split('\n');
  return [heading, '', renderMermaid(records), ...rest].join('\n');
}

/** Adds `baton audit`. */
export function addAudit(program: Command): void {
  program
    .command('audit')
    .summary("a goal's audit trail from Temporal's history (table, jsonl, md); --verify checks an export")
    .description(
      "the audit trail from Temporal's history alone, across continue-as-new runs: blueprint and hash, model calls, tool calls, decisions, reminders, escalations, timeouts, budget, result",
    )
    .argument('[id]', 'goal id (with --verify: also compare the file with the goal on the server)')
    .addOption(
      new Option('--format <format>', 'table, jsonl (hash-chained, to keep) or md (opens with a Mermaid diagram)')
        .choices(AUDIT_FORMATS)
        .default('table'),
    )
    .option('--verify <file>', 'check a jsonl export: exit 1 naming the record that was edited, dropped or reordered')
    .addOption(new Option('--json', 'the records as one JSON array (with --verify: the verdict as JSON)'))
    .addHelpText(
      'after',
      examples(
        `npx baton audit ${EXAMPLE_ID}                              # a table`,
        `npx baton audit ${EXAMPLE_ID} --format md                  # Markdown with a sequence diagram`,
        `npx baton audit ${EXAMPLE_ID} --format jsonl > trail.jsonl # hash-chained JSON Lines`,
        'npx baton audit --verify trail.jsonl                                   # exit 1 names a changed record',
      ),
    )
    .action(async (id: string | undefined, opts: JsonFlag & { format: AuditFormat; verify?: string }) => {
      if (opts.verify !== undefined) {
        let text: string;
        try {
          text = await readFile(opts.verify, 'utf8');
        } catch (err) {
          throw new GoalCommandError(`cannot read ${opts.verify}: ${(err as Error).message}`, 'bad_input');
        }
        const { auditGoal, verifyJsonl } = await audit();
        let result = verifyJsonl(text);
        if (result.ok && id !== undefined) {
          if (result.goalId !== id)
            throw new GoalCommandError(`${opts.verify} is the trail of ${result.goalId}, not ${id}`, 'bad_input');
          const { records } = await auditGoal(await connect(loadConfig()), id);
          result = compareWithServer(result, text, records);
        }
        printVerify(opts.verify, result, opts.json === true, id);
        return;
      }
      if (id === undefined)
        throw new GoalCommandError('name the goal: baton audit ID (or check a file with --verify FILE)', 'usage');
      const { records, facts } = await (await audit()).auditGoal(await connect(loadConfig()), id);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      const text =
        opts.format === 'jsonl'
          ? renderJsonl(records)
          : opts.format === 'md'
            ? markdownWithDiagram(renderMarkdown(records, facts), records)
            : renderTable(records, facts, styleFor(process.stdout));
      process.stdout.write(`${text}\n`);
    });
}
