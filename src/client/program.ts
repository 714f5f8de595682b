/**
 * The `baton` command tree (DESIGN §2.2), one file per command under commands/, and how it runs: `runCli` parses
 * the arguments, runs the command and turns any failure into one line on stderr (a JSON `{code, message}` line
 * under `--json`) and an exit code. Tests drive the same tree in-process.
 */
import { flushClientTracing } from '../observability/tracing.js';
import { Command, CommanderError } from 'commander';
import { BlueprintError } from '../blueprint/errors.js';
import { ConfigError } from '../config.js';
import { addApprovals } from './commands/approvals.js';
import { addAudit } from './commands/audit.js';
import { addCancel } from './commands/cancel.js';
import { addCodecServer } from './commands/codec-server.js';
import { addDecide } from './commands/decide.js';
import { addDev } from './commands/dev.js';
import { addList } from './commands/list.js';
import { addReply } from './commands/reply.js';
import { addStart } from './commands/start.js';
import { addStatus } from './commands/status.js';
import { addValidate } from './commands/validate.js';
import { addWatch } from './commands/watch.js';
import { addWorker } from './commands/worker.js';
import { GoalCommandError, type ErrorCode } from './errors.js';
import {
  keygenCommand,
  loginCommand,
  logoutCommand,
  registerCommand,
  serveCommand,
  whoamiCommand,
} from './identity-commands.js';
import { EXAMPLE_ID } from './text.js';

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
  $ npx baton login                                               # sign in (OpenID Connect, through baton serve)
  $ npx baton approvals                                           # what waits on you
  $ npx baton approve ${EXAMPLE_ID} apr-1 --comment ok   # decide
  $ npx baton audit ${EXAMPLE_ID}                        # who did what, from Temporal's history

Every command takes --json; errors then print as one JSON line {"code", "message"} on stderr. Colour only on a
terminal; NO_COLOR=1 turns it off.
Environment: TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), BATON_USER, BATON_TASK_QUEUE,
OPENAI_API_KEY, OPENAI_BASE_URL, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, BATON_UI_URL (localhost:8233).`,
    );
  addDev(program);
  addWorker(program);
  addCodecServer(program);
  addValidate(program);
  addStart(program);
  addWatch(program);
  addStatus(program);
  addList(program);
  addApprovals(program);
  addDecide(program);
  addReply(program);
  addAudit(program);
  addCancel(program);
  program.addCommand(loginCommand());
  program.addCommand(logoutCommand());
  program.addCommand(whoamiCommand());
  program.addCommand(serveCommand());
  program.addCommand(keygenCommand());
  program.addCommand(registerCommand());
  return program;
}

/** The machine-readable kind of a failure. */
function codeOf(err: unknown): ErrorCode {
  if (err instanceof GoalCommandError) return err.code;
  if (err instanceof BlueprintError) return 'invalid_blueprint';
  if (err instanceof ConfigError) return 'config';
  if (err instanceof CommanderError) return 'usage';
  return 'internal';
}

/**
 * Runs `baton` with `argv` (as in process.argv: node, script, args...) and returns the exit code. Failures print one
 * line on stderr: `baton: <reason>`, or under `--json` `{"code": "...", "message": "..."}`.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    return await runCommand(argv);
  } finally {
    // Spans of a traced command go out before the process exits (bin/baton.js calls process.exit).
    await flushClientTracing();
  }
}

async function runCommand(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  if (json) {
    // commander's own usage errors become the JSON line below instead of text.
    const quiet = { writeErr: () => undefined, outputError: () => undefined };
    program.configureOutput(quiet);
    for (const c of program.commands) c.configureOutput(quiet).showHelpAfterError(false);
  }
  process.exitCode = undefined;
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError && (err.exitCode === 0 || err.code === 'commander.help')) return err.exitCode;
    const raw = (err as Error).message ?? String(err);
    const message =
      err instanceof CommanderError ? raw.replace(/^error: /, '') : err instanceof BlueprintError ? raw : raw;
    if (json) {
      process.stderr.write(`${JSON.stringify({ code: codeOf(err), message })}\n`);
    } else if (!(err instanceof CommanderError)) {
      process.stderr.write(err instanceof BlueprintError ? `${message}\n` : `baton: ${message}\n`);
    }
    return err instanceof CommanderError ? Math.max(err.exitCode, 1) : 1;
  }
}
