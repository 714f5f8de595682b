/** The `baton` command line (DESIGN §2.2). */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { BlueprintError, formatProblem } from '../blueprint/errors.js';
import { batonDataConverter } from '../codec/data-converter.js';
import { blueprintJsonSchema, loadBlueprint } from '../blueprint/load.js';
import { loadConfig, type BatonConfig } from '../config.js';
import type { ApprovalRecord, GoalState } from '../workflows/definitions.js';
import { runDev } from './dev.js';
import {
  connectClient,
  decideApproval,
  GoalCommandError,
  goalState,
  goalUrl,
  listGoals,
  pendingApprovals,
  startGoal,
} from './goals.js';

interface JsonFlag {
  json?: boolean;
}

function out(opts: JsonFlag, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function age(iso: string): string {
  return span(Date.now() - Date.parse(iso));
}

/** A deadline as people read it: how long is left, and when (UTC, to the minute). */
function until(iso: string | undefined): string {
  if (!iso) return 'none';
  const left = Date.parse(iso) - Date.now();
  const when = `${iso.slice(0, 16).replace('T', ' ')}Z`;
  return left > 0 ? `in ${span(left)} (${when})` : `passed (${when})`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
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

function describeState(id: string, s: GoalState, config: BatonConfig): string {
  const lines = [
    `goal      ${id} (${s.goal})`,
    `status    ${s.status}`,
    `agent     ${s.agent}, step ${s.step}`,
    `usage     ${s.usage.inputTokens} in / ${s.usage.outputTokens} out tokens, $${s.usage.costUsd.toFixed(4)}`,
    `web ui    ${goalUrl(config, id)}`,
  ];
  for (const a of s.approvals) {
    lines.push(`approval  ${describeApproval(a)}`);
    for (const h of approvalHistory(a)) lines.push(`            ${h}`);
  }
  for (const r of s.refusedDecisions)
    lines.push(`refused   ${r.by} → ${r.approvalId} (${r.via}, ${r.at}): ${r.reason}`);
  if (s.result) lines.push(`result    ${s.result.status}: ${s.result.answer ?? s.result.reason ?? ''}`);
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
        `  status     npx baton status ${handle.workflowId}`,
        `  approvals  npx baton approvals`,
      ].join('\n'),
    );
    return;
  }
  if (!opts.json) process.stderr.write(`started goal ${handle.workflowId}, waiting for it to finish (${url})\n`);
  const result = await handle.result();
  out(
    opts,
    { goalId: handle.workflowId, result },
    () => `${handle.workflowId}: ${result.status}: ${result.answer ?? result.reason ?? ''}`,
  );
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
  $ npx baton dev                                   # dev server, Web UI on :8233, worker, scripted model
  $ npx baton start goals/refund-request.yaml       # start a goal; prints its id
  $ npx baton approvals                             # what waits on you (BATON_USER)
  $ npx baton approve <goal-id> apr-1 --comment ok  # decide

Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), BATON_USER, BATON_TASK_QUEUE,
OPENAI_API_KEY, OPENAI_BASE_URL, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY.`,
    );
  const json = new Option('--json', 'machine-readable output');
  const config = (): BatonConfig => loadConfig();

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
    .addHelpText('after', '\nExample:\n  $ npx baton dev --start goals/refund-request.yaml')
    .action(
      async (
        opts: JsonFlag & { port: string; uiPort: string; ip: string; data: string; start?: string; input?: string },
      ) => {
        const c = config();
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

Example:
  $ TEMPORAL_ADDRESS=temporal:7233 OPENAI_API_KEY=sk-... npx baton worker`,
    )
    .action(async (opts: { scripted?: boolean }) => {
      const { runWorker } = await import('../worker-main.js');
      await runWorker({ scripted: opts.scripted === true });
    });

  program
    .command('codec-server')
    .description(
      'serve the Temporal codec endpoints (/encode, /decode) so the Web UI and CLI can read encrypted payloads',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port', '8081')
    .option('--origin <url...>', 'Web UI origins allowed by CORS', ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .addHelpText(
      'after',
      `
Needs BATON_ENCRYPTION_KEYS; requests must carry "Authorization: Bearer $BATON_CODEC_TOKEN" (a token is required
unless --host is loopback). Example:
  $ BATON_CODEC_TOKEN=... npx baton codec-server --port 8081
  $ temporal workflow show -w ID --codec-endpoint http://127.0.0.1:8081 --codec-auth "Bearer $BATON_CODEC_TOKEN"`,
    )
    .action(async (opts: { host: string; port: string; origin: string[] }) => {
      const c = config();
      const codec = batonDataConverter(c.encryptionKeys)?.payloadCodecs?.[0];
      if (!codec)
        throw new GoalCommandError(
          'set BATON_ENCRYPTION_KEYS: the codec server decrypts with the same keys as the worker',
        );
      const { startCodecServer } = await import('../codec/server.js');
      const server = await startCodecServer({
        codec,
        host: opts.host,
        port: Number(opts.port),
        origins: opts.origin,
        ...(c.codecToken ? { token: c.codecToken } : {}),
      });
      process.stdout.write(
        `codec server on ${server.url} (${c.codecToken ? 'bearer token required' : 'no token: loopback only'})\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });

  program
    .command('validate')
    .description('check blueprints; problems print as FILE:LINE:COL message')
    .argument('<files...>', 'blueprint files')
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ npx baton validate goals/*.yaml')
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
    .addHelpText('after', '\nExample:\n  $ npx baton schema > blueprint.schema.json')
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
    .option('--wait', 'wait for the goal to finish and print its result')
    .addOption(json)
    .addHelpText(
      'after',
      `\nExample:\n  $ npx baton start goals/refund-request.yaml --input '{"customerId":"c-42","amount":120}'`,
    )
    .action(
      async (file: string, opts: JsonFlag & { input?: string; inputFile?: string; id?: string; wait?: boolean }) => {
        if (opts.input !== undefined && opts.inputFile !== undefined)
          throw new GoalCommandError('use --input or --input-file, not both');
        await startCommand(config(), file, opts);
      },
    );

  program
    .command('status')
    .description("a goal's state: status, agent, step, approvals, usage, result")
    .argument('<id>', 'goal id')
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ npx baton status refund-request-1a2b3c4d')
    .action(async (id: string, opts: JsonFlag) => {
      const c = config();
      const state = await goalState(await connectClient(c), id);
      out(opts, { goalId: id, ...state }, () => describeState(id, state, c));
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
    .addHelpText('after', '\nExample:\n  $ npx baton list --status awaiting_approval')
    .action(async (opts: JsonFlag & { status?: string; limit: string }) => {
      const rows = await listGoals(await connectClient(config()), {
        ...(opts.status ? { status: opts.status } : {}),
        limit: Number(opts.limit),
      });
      out(opts, rows, () =>
        rows.length
          ? table([
              ['ID', 'GOAL', 'STATUS', 'STARTED'],
              ...rows.map((r) => [r.id, r.goal, r.status, `${age(r.startTime)} ago`]),
            ])
          : 'no goals',
      );
    });

  program
    .command('approvals')
    .description('pending approvals waiting on you (BATON_USER), across goals or in one goal')
    .argument('[id]', 'only this goal')
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ BATON_USER=alice npx baton approvals')
    .action(async (id: string | undefined, opts: JsonFlag) => {
      const c = config();
      const list = await pendingApprovals(await connectClient(c), c.user, id);
      out(opts, list, () =>
        list.length
          ? table([
              ['GOAL', 'APPROVAL', 'TOOL', 'ARGUMENTS', 'REASON', 'AGE', 'DEADLINE'],
              ...list.map((a) => [
                a.goalId,
                a.id,
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
        `\nExample:\n  $ BATON_USER=alice npx baton ${verb} refund-request-1a2b3c4d apr-1 --comment "checked the order"`,
      )
      .action(async (id: string, approvalId: string, opts: JsonFlag & { comment?: string }) => {
        const c = config();
        const record = await decideApproval(await connectClient(c), id, {
          approvalId,
          decision: verb,
          by: c.user,
          ...(opts.comment ? { comment: opts.comment } : {}),
        });
        out(opts, record, () => `${verb === 'approve' ? 'approved' : 'rejected'}: ${describeApproval(record)}`);
      });
  }

  program
    .command('cancel')
    .description('cancel a goal cleanly')
    .argument('<id>', 'goal id')
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ npx baton cancel refund-request-1a2b3c4d')
    .action(async (id: string, opts: JsonFlag) => {
      const client = await connectClient(config());
      await goalState(client, id); // names an unknown id clearly before cancelling
      await client.workflow.getHandle(id).cancel();
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
