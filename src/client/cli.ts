/** The `baton` command line (DESIGN §2.2). */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { AUDIT_FORMATS, renderJsonl, renderMarkdown, renderTable, type AuditFormat } from '../audit/format.js';
import { text as str } from '../audit/history.js';
import type { AuditRecord, VerifyResult } from '../audit/index.js';
import { BlueprintError, formatProblem } from '../blueprint/errors.js';
import { blueprintJsonSchema, loadBlueprint } from '../blueprint/load.js';
import { codecServerSettings, loadConfig, type BatonConfig } from '../config.js';
import type { ApprovalRecord, GoalResult, GoalState } from '../workflows/definitions.js';
import { GoalCommandError } from './errors.js';
import { age, clip, statusColor, styleFor, table, until, type Style } from './output.js';
import type { WatchOutcome } from './watch.js';

// The Temporal client, the worker and the dev server load native code and take a while: `--help`, `validate` and
// `schema` do without them, and each command loads only what it uses.
const goals = () => import('./goals.js');
const audit = () => import('../audit/index.js');

async function connect(config: BatonConfig): Promise<Client> {
  return (await goals()).connectClient(config);
}

/** The goal id the help examples use; `test/cli-help.test.ts` runs every example with a real id in its place. */
const EXAMPLE_ID = 'refund-request-1a2b3c4d';
/** The goal id of the `reply` example: a goal whose agent waits on a person's answer. */
const QUESTION_EXAMPLE_ID = 'security-alert-1a2b3c4d';

function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

interface JsonFlag {
  json?: boolean;
}

function out(opts: JsonFlag, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

function describeApproval(a: ApprovalRecord): string {
  const votes = a.votes.map((v) => `${v.by} ${v.decision}d${v.comment ? ` ("${v.comment}")` : ''}`).join(', ');
  const quorum = a.quorum > 1 ? ` · quorum ${a.quorum}` : '';
  const deadline = a.status === 'pending' && a.deadline ? ` · deadline ${until(a.deadline)}` : '';
  return `${a.id} ${a.status} · ${a.tool} ${JSON.stringify(a.args)} · by ${a.requestedBy} · approvers ${a.eligible.join(', ')}${quorum}${deadline}${votes ? ` · ${votes}` : ''}`;
}

/** What happened while an approval waited, one line per kind: reminders, escalations, timeout, failed notices. */
function approvalHistory(a: ApprovalRecord): string[] {
  const lines: string[] = [];
  const reminders = a.events.filter((e) => e.kind === 'reminder');
  if (reminders.length) lines.push(`reminded ${reminders.length}×, last at ${reminders.at(-1)!.at}`);
  for (const e of a.events) {
    if (e.kind === 'escalation') lines.push(`escalated to ${e.to?.join(', ') ?? '?'} at ${e.at}`);
    if (e.kind === 'timeout') lines.push(`timed out at ${e.at}: ${e.detail ?? ''}`);
    if (e.kind === 'notification_failed') lines.push(`notification failed at ${e.at}: ${e.detail ?? ''}`);
  }
  return lines;
}

function describeState(id: string, s: GoalState, url: string, style: Style): string {
  const lines = [
    `goal      ${style.bold(id)} (${s.goal})`,
    `status    ${statusColor(style, s.status)}`,
    `agent     ${s.agent}, step ${s.step}`,
    `usage     ${s.usage.inputTokens} in / ${s.usage.outputTokens} out tokens, $${s.usage.costUsd.toFixed(4)}`,
    `web ui    ${url}`,
  ];
  for (const a of s.approvals) {
    lines.push(`approval  ${describeApproval(a)}`);
    for (const h of approvalHistory(a)) lines.push(`            ${h}`);
  }
  for (const r of s.refusedDecisions)
    lines.push(style.red(`refused   ${r.by} → ${r.approvalId} (${r.via}, ${r.at}): ${r.reason}`));
  if (s.result)
    lines.push(`result    ${statusColor(style, s.result.status)}: ${s.result.answer ?? s.result.reason ?? ''}`);
  for (const q of s.pendingQuestions ?? []) {
    lines.push(`question  ${q.id} from ${q.agent}: ${q.question} · for ${q.eligible.join(', ')}`);
  }
  if (s.pendingApprovals[0])
    lines.push(style.dim(`decide    npx baton approve ${id} ${s.pendingApprovals[0].id} --comment "..."`));
  if (s.pendingQuestions?.[0])
    lines.push(style.dim(`answer    npx baton reply ${id} ${s.pendingQuestions[0].id} "..."`));
  return lines.join('\n');
}

async function readInput(opts: { input?: string; inputFile?: string }): Promise<unknown> {
  const text = opts.inputFile !== undefined ? await readFile(opts.inputFile, 'utf8') : opts.input;
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GoalCommandError(
      `--input is not valid JSON (${(err as Error).message}); e.g. --input '{"ticket":"T-1"}'`,
    );
  }
}

async function startCommand(
  config: BatonConfig,
  file: string,
  opts: JsonFlag & { input?: string; inputFile?: string; id?: string; wait?: boolean },
) {
  const loaded = await loadBlueprint(file);
  const input = await readInput(opts);
  const { connectClient, goalUrl, startGoal } = await goals();
  const client = await connectClient(config);
  const handle = await startGoal(client, {
    loaded,
    input,
    startedBy: config.user,
    taskQueue: config.taskQueue,
    ...(opts.id ? { id: opts.id } : {}),
  });
  const url = goalUrl(config, handle.workflowId);
  if (!opts.wait) {
    out(opts, { goalId: handle.workflowId, runId: handle.firstExecutionRunId, url }, () =>
      [
        `started goal ${handle.workflowId}`,
        `  web ui     ${url}`,
        `  follow     npx baton watch ${handle.workflowId}`,
        `  approvals  npx baton approvals`,
        `  audit      npx baton audit ${handle.workflowId}`,
      ].join('\n'),
    );
    return;
  }
  if (!opts.json) process.stdout.write(`started goal ${handle.workflowId}, waiting for it to finish (${url})\n`);
  const outcome = await follow(client, handle.workflowId, { json: false, quiet: opts.json === true });
  if (opts.json) {
    const result = outcome.finished?.data as (Partial<GoalResult> & { status: string }) | undefined;
    out(opts, { goalId: handle.workflowId, status: outcome.status, result: result ?? null }, () => '');
  }
  finishWith(handle.workflowId, outcome, opts.json === true);
}

/** Follows a goal: its steps as they happen and, on a terminal, a live progress line. */
async function follow(client: Client, goalId: string, opts: { json: boolean; quiet?: boolean }): Promise<WatchOutcome> {
  const { watchGoal } = await import('./watch.js');
  return watchGoal(client, goalId, {
    json: opts.json,
    ...(opts.quiet ? {} : { out: process.stdout }),
    err: process.stderr,
    progress: !opts.json && !opts.quiet && process.stderr.isTTY === true,
    style: styleFor(process.stdout),
  });
}

/** Prints how a followed goal ended (its result line, unless JSON); anything but completed exits 1 with the reason. */
function finishWith(goalId: string, outcome: WatchOutcome, json: boolean): void {
  const data = outcome.finished?.data;
  const text = str(data?.answer) || str(data?.reason);
  if (!json) {
    const s = styleFor(process.stdout);
    process.stdout.write(`${s.bold(goalId)}: ${statusColor(s, outcome.status)}${text ? `: ${text}` : ''}\n`);
  }
  if (outcome.status === 'completed') return;
  process.stderr.write(`baton: goal ${goalId} ${outcome.status}${str(data?.reason) ? `: ${str(data?.reason)}` : ''}\n`);
  process.exitCode = 1;
}

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

/** Builds the CLI program. */
export function buildProgram(): Command {
  const program = new Command('baton')
    .description('Governed AI agents as durable Temporal workflows.')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ npx baton dev --start goals/refund-request.yaml               # dev server, Web UI, worker, a first goal
  $ npx baton start goals/refund-request.yaml                     # start a goal; prints its id
  $ npx baton approvals                                           # what waits on you (BATON_USER)
  $ npx baton approve ${EXAMPLE_ID} apr-1 --comment ok   # decide
  $ npx baton audit ${EXAMPLE_ID}                        # who did what, from Temporal's history

Every command takes --json. Colour only on a terminal; NO_COLOR=1 turns it off.
Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), BATON_USER, BATON_TASK_QUEUE,
OPENAI_API_KEY, OPENAI_BASE_URL, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, BATON_UI_URL.`,
    );
  const json = new Option('--json', 'machine-readable output');
  const config = (): BatonConfig => loadConfig();
  const style = (): Style => styleFor(process.stdout);

  program
    .command('dev')
    .description('run the embedded stack: Temporal dev server (data in .baton/), Web UI, search attributes, a worker')
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .option('--ui-port <port>', 'Web UI port', '8233')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'where the SQLite database lives', '.baton')
    .option('--start <file>', 'start this blueprint once the stack is up')
    .option('--input <json>', 'input for --start')
    .addOption(json)
    .addHelpText('after', examples('npx baton dev --start goals/refund-request.yaml'))
    .action(
      async (
        opts: JsonFlag & { port: string; uiPort: string; ip: string; data: string; start?: string; input?: string },
      ) => {
        const c = config();
        const { runDev } = await import('./dev.js');
        await runDev(
          { ...c, address: `${opts.ip}:${opts.port}`, uiUrl: `http://${opts.ip}:${opts.uiPort}` },
          {
            port: Number(opts.port),
            uiPort: Number(opts.uiPort),
            ip: opts.ip,
            dataDir: opts.data,
            scripted: true,
            ...(opts.start
              ? {
                  onReady: async () => {
                    await startCommand(
                      { ...c, address: `${opts.ip}:${opts.port}`, uiUrl: `http://${opts.ip}:${opts.uiPort}` },
                      opts.start!,
                      {
                        ...(opts.input ? { input: opts.input } : {}),
                        ...(opts.json ? { json: true } : {}),
                      },
                    );
                  },
                }
              : {}),
          },
        );
      },
    );

  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS')
    .option('--scripted', 'use the scripted offline model (goals/*.script.yaml) when no OPENAI_* is set')
    .addOption(json)
    .addHelpText(
      'after',
      `
Serves /metrics, /healthz and /readyz on BATON_METRICS_PORT (9464); logs JSON lines (BATON_LOG_FORMAT=pretty for
people); on SIGTERM stops polling and lets running activities finish within BATON_SHUTDOWN_GRACE_TIME (30s).
${examples('OPENAI_API_KEY=sk-... npx baton worker                # polls BATON_TASK_QUEUE on TEMPORAL_ADDRESS')}`,
    )
    .action(async (opts: JsonFlag & { scripted?: boolean }) => {
      const { runWorker } = await import('../worker-main.js');
      await runWorker({ scripted: opts.scripted === true });
    });

  program
    .command('codec-server')
    .description('serve the Temporal codec endpoints (/encode, /decode) so the Web UI and CLI read encrypted payloads')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port', '8081')
    .option('--origin <url...>', 'Web UI origins allowed by CORS', ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .addOption(json)
    .addHelpText(
      'after',
      `
Needs BATON_ENCRYPTION_KEYS (the worker's keys); requests must carry "Authorization: Bearer $BATON_CODEC_TOKEN" or
an OIDC access token valid under BATON_CODEC_OIDC_JWKS_URL (the Web UI's, with TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true;
one of them is required unless --host is loopback), and a Host it serves (BATON_CODEC_HOSTS). Then: temporal workflow
show -w ID --codec-endpoint http://127.0.0.1:8081 --codec-auth "Bearer $BATON_CODEC_TOKEN", or set the endpoint in
the Web UI's codec settings.
${examples('BATON_CODEC_TOKEN=$(openssl rand -hex 24) npx baton codec-server --port 8081')}`,
    )
    .action(async (opts: JsonFlag & { host: string; port: string; origin: string[] }) => {
      const c = config();
      const { configuredDataConverter } = await import('../codec/data-converter.js');
      const converter = configuredDataConverter(c);
      const codec = converter?.payloadCodecs?.[0];
      if (!codec) {
        throw new GoalCommandError(
          'set BATON_ENCRYPTION_KEYS: the codec server decrypts with the same keys as the worker',
        );
      }
      const { startCodecServer } = await import('../codec/server.js');
      const server = await startCodecServer({
        codec,
        host: opts.host,
        port: Number(opts.port),
        origins: opts.origin,
        ...(converter?.externalStorage ? { storage: converter.externalStorage } : {}),
        ...codecServerSettings(c),
      });
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const auth =
        c.codecToken || c.codecOidc
          ? `${[c.codecToken ? 'bearer token' : '', c.codecOidc ? 'OIDC access token' : ''].filter(Boolean).join(' or ')} required`
          : 'no token: loopback only';
      out(opts, { url: server.url, auth, origins: opts.origin }, () => `codec server on ${server.url} (${auth})`);
      await stopped;
      await server.close();
    });

  program
    .command('validate')
    .description('check blueprints; problems print as FILE:LINE:COL message')
    .argument('<files...>', 'blueprint files')
    .addOption(json)
    .addHelpText('after', examples('npx baton validate goals/refund-request.yaml'))
    .action(async (files: string[], opts: JsonFlag) => {
      const results: { file: string; ok: boolean; hash?: string; problems: BlueprintError['problems'] }[] = [];
      for (const file of files) {
        try {
          const loaded = await loadBlueprint(file);
          results.push({ file, ok: true, hash: loaded.hash, problems: [] });
        } catch (err) {
          if (!(err instanceof BlueprintError)) throw err;
          results.push({ file, ok: false, problems: err.problems });
        }
      }
      out(opts, results, () =>
        results.map((r) => (r.ok ? `${r.file}: ok` : r.problems.map(formatProblem).join('\n'))).join('\n'),
      );
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });

  program
    .command('schema')
    .description('print the JSON Schema of blueprints (for editors and CI)')
    .addOption(new Option('--json', 'machine-readable output (the schema is JSON either way)'))
    .addHelpText('after', examples('npx baton schema > blueprint.schema.json'))
    .action(() => {
      process.stdout.write(`${JSON.stringify(blueprintJsonSchema(), null, 2)}\n`);
    });

  program
    .command('start')
    .description('validate a blueprint and start a goal; prints its id and Web UI link')
    .argument('<file>', 'blueprint file')
    .option('--input <json>', 'goal input as JSON')
    .option('--input-file <file>', 'goal input from a JSON file')
    .option('--id <id>', 'goal id (default: <name>-<random>)')
    .option('--wait', 'follow the goal like `baton watch`: its steps, a live progress line, then its result')
    .addOption(json)
    .addHelpText(
      'after',
      examples(
        `npx baton start goals/refund-request.yaml --input '{"customerId":"c-42","amount":120}'`,
        'npx baton start goals/refund-request.yaml --id refund-4411 --wait',
      ),
    )
    .action(
      async (file: string, opts: JsonFlag & { input?: string; inputFile?: string; id?: string; wait?: boolean }) => {
        if (opts.input !== undefined && opts.inputFile !== undefined)
          throw new GoalCommandError('use --input or --input-file, not both');
        await startCommand(config(), file, opts);
      },
    );

  program
    .command('watch')
    .summary('follow a goal live: its steps as they happen, then its result')
    .description(
      "follow a goal: each step as it happens (from the goal's history), a live progress line on a terminal, then the result; exit 1 unless it completes",
    )
    .argument('<id>', 'goal id')
    .addOption(new Option('--json', 'each step as a JSON line, the same records `baton audit --format jsonl` exports'))
    .addHelpText('after', examples(`npx baton watch ${EXAMPLE_ID}`))
    .action(async (id: string, opts: JsonFlag) => {
      const outcome = await follow(await connect(config()), id, { json: opts.json === true });
      finishWith(id, outcome, opts.json === true);
    });

  program
    .command('status')
    .description("a goal's state: status, agent, step, approvals, usage, result")
    .argument('<id>', 'goal id')
    .addOption(json)
    .addHelpText('after', examples(`npx baton status ${EXAMPLE_ID}`))
    .action(async (id: string, opts: JsonFlag) => {
      const c = config();
      const { goalState, goalUrl } = await goals();
      const state = await goalState(await connect(c), id);
      out(opts, { goalId: id, ...state }, () => describeState(id, state, goalUrl(c, id), style()));
    });

  program
    .command('list')
    .description('goals, newest first, filtered by search attributes')
    .addOption(
      new Option('--status <status>', 'only goals in this status').choices([
        'running',
        'awaiting_approval',
        'completed',
        'failed',
        'cancelled',
      ]),
    )
    .option('--limit <n>', 'at most this many', '50')
    .addOption(json)
    .addHelpText('after', examples('npx baton list --status awaiting_approval'))
    .action(async (opts: JsonFlag & { status?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new GoalCommandError(`--limit must be a positive whole number, not ${opts.limit}`);
      const rows = await (
        await goals()
      ).listGoals(await connect(config()), {
        ...(opts.status ? { status: opts.status } : {}),
        limit,
      });
      const s = style();
      out(opts, rows, () =>
        rows.length
          ? table([
              ['ID', 'GOAL', 'STATUS', 'STARTED'].map((h) => s.bold(h)),
              ...rows.map((r) => [r.id, r.goal, statusColor(s, r.status), `${age(r.startTime)} ago`]),
            ])
          : opts.status
            ? `no ${opts.status} goals`
            : 'no goals yet; start one with `npx baton start goals/refund-request.yaml`',
      );
    });

  program
    .command('approvals')
    .description('pending approvals waiting on you (BATON_USER), across goals or in one goal')
    .argument('[id]', 'only this goal')
    .addOption(json)
    .addHelpText('after', examples('BATON_USER=alice npx baton approvals'))
    .action(async (id: string | undefined, opts: JsonFlag) => {
      const c = config();
      const list = await (await goals()).pendingApprovals(await connect(c), c.user, id);
      const s = style();
      out(opts, list, () =>
        list.length
          ? table([
              ['GOAL', 'APPROVAL', 'TOOL', 'ARGUMENTS', 'REASON', 'AGE', 'DEADLINE'].map((h) => s.bold(h)),
              ...list.map((a) => [
                a.goalId,
                s.yellow(a.id),
                a.tool,
                clip(JSON.stringify(a.args), 60),
                clip(a.reason, 40),
                age(a.openedAt),
                until(a.deadline),
              ]),
            ]) + `\n\napprove with: npx baton approve ${list[0]!.goalId} ${list[0]!.id} --comment "..."`
          : `nothing waits on ${c.user}`,
      );
    });

  for (const verb of ['approve', 'reject'] as const) {
    program
      .command(verb)
      .description(`${verb} a pending approval, as BATON_USER, through the decide update`)
      .argument('<id>', 'goal id')
      .argument('<approvalId>', 'approval id, e.g. apr-1')
      .option('--comment <text>', 'why; recorded in the history')
      .addOption(json)
      .addHelpText(
        'after',
        examples(`BATON_USER=alice npx baton ${verb} ${EXAMPLE_ID} apr-1 --comment "checked the order"`),
      )
      .action(async (id: string, approvalId: string, opts: JsonFlag & { comment?: string }) => {
        const c = config();
        const record = await (
          await goals()
        ).decideApproval(await connect(c), id, {
          approvalId,
          decision: verb,
          by: c.user,
          ...(opts.comment ? { comment: opts.comment } : {}),
        });
        const s = style();
        out(
          opts,
          record,
          () => `${verb === 'approve' ? s.green('approved') : s.red('rejected')}: ${describeApproval(record)}`,
        );
      });
  }

  program
    .command('reply')
    .description("answer an agent's ask_human question, as BATON_USER, through the reply update")
    .argument('<id>', 'goal id')
    .argument('<questionId>', 'question id, e.g. q-1 (see baton status ID)')
    .argument('<answer...>', 'the answer')
    .addOption(json)
    .addHelpText(
      'after',
      examples(`BATON_USER=sam npx baton reply ${QUESTION_EXAMPLE_ID} q-1 "Not expected: treat it as an intrusion"`),
    )
    .action(async (id: string, questionId: string, answer: string[], opts: JsonFlag) => {
      const c = config();
      const q = await (
        await goals()
      ).replyToQuestion(await connect(c), id, { questionId, answer: answer.join(' '), by: c.user });
      out(opts, q, () => `answered ${q.id} (${q.agent} asked: ${q.question}) as ${q.by ?? c.user}`);
    });

  program
    .command('audit')
    .summary("a goal's audit trail from Temporal's history (table, jsonl, md); --verify checks an export")
    .description(
      "the audit trail from Temporal's history alone, across continue-as-new runs: blueprint and hash, model calls, tool calls, decisions, reminders, escalations, timeouts, budget, result",
    )
    .argument('[id]', 'goal id (with --verify: also compare the file with the goal on the server)')
    .addOption(
      new Option('--format <format>', 'table, jsonl (hash-chained, to keep) or md')
        .choices(AUDIT_FORMATS)
        .default('table'),
    )
    .option('--verify <file>', 'check a jsonl export: exit 1 naming the record that was edited, dropped or reordered')
    .addOption(new Option('--json', 'the records as one JSON array (with --verify: the verdict as JSON)'))
    .addHelpText(
      'after',
      examples(
        `npx baton audit ${EXAMPLE_ID}                              # a table`,
        `npx baton audit ${EXAMPLE_ID} --format md                  # Markdown, for a report`,
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
          throw new GoalCommandError(`cannot read ${opts.verify}: ${(err as Error).message}`);
        }
        const { auditGoal, verifyJsonl } = await audit();
        let result = verifyJsonl(text);
        if (result.ok && id !== undefined) {
          if (result.goalId !== id)
            throw new GoalCommandError(`${opts.verify} is the trail of ${result.goalId}, not ${id}`);
          const { records } = await auditGoal(await connect(config()), id);
          result = compareWithServer(result, text, records);
        }
        printVerify(opts.verify, result, opts.json === true, id);
        return;
      }
      if (id === undefined)
        throw new GoalCommandError('name the goal: baton audit ID (or check a file with --verify FILE)');
      const { records, facts } = await (await audit()).auditGoal(await connect(config()), id);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      const text =
        opts.format === 'jsonl'
          ? renderJsonl(records)
          : opts.format === 'md'
            ? renderMarkdown(records, facts)
            : renderTable(records, facts, style());
      process.stdout.write(`${text}\n`);
    });

  program
    .command('cancel')
    .description('cancel a goal cleanly')
    .argument('<id>', 'goal id')
    .addOption(json)
    .addHelpText('after', examples(`npx baton cancel ${EXAMPLE_ID}`))
    .action(async (id: string, opts: JsonFlag) => {
      await (await goals()).cancelGoal(await connect(config()), id);
      out(opts, { goalId: id, cancelled: true }, () => `cancellation requested for ${id}`);
    });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  const message = err instanceof BlueprintError ? err.message : `baton: ${(err as Error).message ?? String(err)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
