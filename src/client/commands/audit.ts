/**
 * `baton audit`: a goal's audit trail from Temporal's history (table, jsonl, md), and `--verify` of an export. The
 * trail itself is built in src/audit; this file only reads the options, prints, and compares an export with the
 * server.
 */
import { existsSync, readFileSync } from 'node:fs';
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
import { SIGNATURE_KIND, signatureProblem, signTrail, type AuditSigningKey } from '../../audit/signature.js';

/** Where `baton dev` keeps its audit key (src/gateway/dev.ts); used when no key is configured. */
const DEV_AUDIT_KEY = '.baton/identity/audit-key';

interface SignOptions {
  signKey?: string;
  signKid?: string;
  publicKey?: string;
}

function readKeyFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new GoalCommandError(`cannot read the ${what} ${file}: ${(err as Error).message}`, 'bad_input');
  }
}

/** The key that signs jsonl exports: --sign-key, BATON_AUDIT_SIGNING_KEY_FILE, or the dev stack's. */
function signingKey(opts: SignOptions): AuditSigningKey | undefined {
  const file =
    opts.signKey ?? process.env.BATON_AUDIT_SIGNING_KEY_FILE ?? (existsSync(DEV_AUDIT_KEY) ? DEV_AUDIT_KEY : undefined);
  if (!file) return undefined;
  const kid =
    opts.signKid ?? process.env.BATON_AUDIT_SIGNING_KEY_ID ?? (file === DEV_AUDIT_KEY ? 'baton-dev' : 'audit');
  return { kid, privateKey: readKeyFile(file, 'audit signing key') };
}

/**
 * The public key a signed export is checked with: --public-key (a key or a file holding it) or
 * BATON_AUDIT_PUBLIC_KEY, which also demand a signature; else the dev stack's, which checks one that is there.
 */
function trustedPublicKey(opts: SignOptions): { key: string; required: boolean } | undefined {
  const given = opts.publicKey ?? process.env.BATON_AUDIT_PUBLIC_KEY;
  if (given !== undefined && given !== '') {
    return { key: existsSync(given) ? readKeyFile(given, 'public key') : given, required: true };
  }
  if (given === undefined && existsSync(`${DEV_AUDIT_KEY}.pub`)) {
    return { key: readKeyFile(`${DEV_AUDIT_KEY}.pub`, 'public key'), required: false };
  }
  return undefined;
}

/** Checks the signature line of a verified export, when there is one or when a key says there must be. */
function checkSignature(result: VerifyResult, opts: SignOptions): VerifyResult {
  if (!result.ok) return result;
  const trusted = trustedPublicKey(opts);
  const { signature } = result;
  if (!signature) {
    if (!trusted?.required) return result;
    return {
      ok: false,
      record: result.records,
      line: result.records,
      problem:
        'the file is not signed, and a public key was given to check it with: export it again with a signing key',
    };
  }
  if (!trusted) return result;
  const chain = { goalId: result.goalId, records: result.records, head: result.head };
  const problem = signatureProblem(signature, chain, trusted.key);
  return problem
    ? { ok: false, record: result.records, line: result.records + 1, problem }
    : { ...result, signatureChecked: true };
}

/** The jsonl export, with its signature line when a key is configured (a note on stderr when not). */
function signedJsonl(goalId: string, records: AuditRecord[], opts: SignOptions): string {
  const text = renderJsonl(records);
  const key = signingKey(opts);
  const head = records.at(-1)?.hash ?? '';
  if (!key) {
    process.stderr.write(
      'baton: this export is not signed (a re-chained edit would go unseen): set BATON_AUDIT_SIGNING_KEY_FILE or --sign-key (`baton keygen` makes a key)\n',
    );
    return text;
  }
  try {
    return `${text}\n${JSON.stringify(signTrail(goalId, records.length, head, key))}`;
  } catch (err) {
    throw new GoalCommandError(`cannot sign the export: ${(err as Error).message}`, 'bad_input');
  }
}

// The audit loads the Temporal client; `--help` does without it.
const audit = () => import('../../audit/index.js');

function signatureLine(result: VerifyResult & { ok: true }): string {
  if (!result.signature)
    return 'unsigned: the chain shows edits, not a re-chained file (sign exports: BATON_AUDIT_SIGNING_KEY_FILE)';
  return result.signatureChecked
    ? `signed by key ${result.signature.kid}, signature valid`
    : `signed by key ${result.signature.kid}, NOT checked: give --public-key (or BATON_AUDIT_PUBLIC_KEY)`;
}

function printVerify(file: string, result: VerifyResult, json: boolean, against?: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ file, ...result, ...(against ? { against } : {}) }, null, 2)}\n`);
  } else if (result.ok) {
    process.stdout.write(
      `${file}: ok, ${result.records} records of goal ${result.goalId}, chain intact${against ? `, identical to the history of ${against} on the server` : ''}${result.complete ? '' : ' (exported while the goal was running)'}\n  head hash ${result.head}\n  ${signatureLine(result)}\n`,
    );
  }
  if (!result.ok) {
    if (!json) process.stderr.write(`baton: ${file}: ${result.problem}\n`);
    process.exitCode = 1;
  }
}

function isSignature(line: string): boolean {
  try {
    return (JSON.parse(line) as { kind?: unknown }).kind === SIGNATURE_KIND;
  } catch {
    return false;
  }
}

/** Compares a verified export with the trail the server's history gives now. */
function compareWithServer(result: VerifyResult & { ok: true }, text: string, records: AuditRecord[]): VerifyResult {
  // The signature line (signature.ts) is not a record: it was checked on its own.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !isSignature(l));
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
    .option('--sign-key <file>', 'sign jsonl exports with this Ed25519 key (default: BATON_AUDIT_SIGNING_KEY_FILE)')
    .option('--sign-kid <id>', 'the key id a signed export names (default: BATON_AUDIT_SIGNING_KEY_ID)')
    .option('--public-key <key>', 'with --verify: the public key (or a file holding it) the signature must match')
    .addOption(new Option('--json', 'the records as one JSON array (with --verify: the verdict as JSON)'))
    .addHelpText(
      'after',
      examples(
        `npx baton audit ${EXAMPLE_ID}                              # a table`,
        `npx baton audit ${EXAMPLE_ID} --format md                  # Markdown with a sequence diagram`,
        `npx baton audit ${EXAMPLE_ID} --format jsonl > trail.jsonl # hash-chained JSON Lines, signed`,
        'npx baton audit --verify trail.jsonl                                   # exit 1 names a changed record',
      ),
    )
    .action(async (id: string | undefined, opts: JsonFlag & SignOptions & { format: AuditFormat; verify?: string }) => {
      if (opts.verify !== undefined) {
        let text: string;
        try {
          text = await readFile(opts.verify, 'utf8');
        } catch (err) {
          throw new GoalCommandError(`cannot read ${opts.verify}: ${(err as Error).message}`, 'bad_input');
        }
        const { auditGoal, verifyJsonl } = await audit();
        let result = checkSignature(verifyJsonl(text), opts);
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
          ? signedJsonl(id, records, opts)
          : opts.format === 'md'
            ? markdownWithDiagram(renderMarkdown(records, facts), records)
            : renderTable(records, facts, styleFor(process.stdout));
      process.stdout.write(`${text}\n`);
    });
}
