/** `baton start`: validates a blueprint and its input, then starts a goal. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { startSigned } from '../start-signed.js';
import type { BatonConfig } from '../../config.js';
import { loadConfig } from '../../config.js';
import { loadBlueprint } from '../../blueprint/load.js';
import type { GoalResult } from '../../workflows/definitions.js';
import { checkInput, readInput } from '../input.js';
import { examples, jsonOption, out, type JsonFlag } from '../text.js';
import { goals } from './connect.js';
import { finishWith, follow } from './watch.js';

/** What `baton start` (and `baton dev --start`) take. */
export type StartOptions = JsonFlag & {
  input?: string;
  inputFile?: string;
  id?: string;
  reuseId?: boolean;
  wait?: boolean;
};

/** Starts a goal from a blueprint file and prints its id, link and next commands (or follows it with `wait`). */
export async function startCommand(config: BatonConfig, file: string, opts: StartOptions): Promise<void> {
  // A file is checked here, before connecting (a typo in the input is found without a server); a registered
  // blueprint named NAME[@VERSION] is checked by the gateway, which has it.
  const loaded = existsSync(file) ? await loadBlueprint(file) : undefined;
  const input = loaded
    ? checkInput(loaded, await readInput(loaded, opts))
    : (JSON.parse(opts.input ?? (opts.inputFile ? await readFile(opts.inputFile, 'utf8') : '{}')) as unknown);
  const { connectClient, goalUrl, startGoal } = await goals();
  const client = await connectClient(config);
  // Signed in: the gateway starts it with a signed start assertion naming you. Otherwise only a worker that allows
  // ad hoc blueprints (`baton dev`) runs it, and records the starter as unverified.
  const handle = await startSigned(config, file, input, opts.id, () =>
    startGoal(client, {
      loaded: loaded!,
      input,
      startedBy: config.user,
      taskQueue: config.taskQueue,
      ...(opts.id ? { id: opts.id } : {}),
      ...(opts.reuseId ? { reuseId: true } : {}),
    }),
  );
  const url = goalUrl(config, handle.workflowId);
  if (!opts.wait) {
    out(opts, { goalId: handle.workflowId, runId: handle.firstExecutionRunId, url }, () =>
      [
        `started goal ${handle.workflowId} on ${config.address}`,
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

/** Adds `baton start`. */
export function addStart(program: Command): void {
  program
    .command('start')
    .description('start a goal as you (after `baton login`): a registered blueprint by name, or a file; prints its id')
    .argument('<blueprint>', 'a registered blueprint NAME[@VERSION], or a blueprint file')
    .option('--input <json>', "goal input as JSON, checked against the blueprint's input schema")
    .option('--input-file <file>', 'goal input from a JSON file')
    .option('--id <id>', 'goal id (default: <name>-<random>)')
    .option('--reuse-id', 'allow --id to name a goal that has closed (a new execution under the same id)')
    .option('--wait', 'follow the goal like `baton watch`: its steps, a live progress line, then its result')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        `npx baton start goals/refund-request.yaml --input '{"customerId":"c-42","amount":120}'`,
        'npx baton start goals/refund-request.yaml --id refund-4411 --wait',
      ),
    )
    .action(async (file: string, opts: StartOptions) => {
      await startCommand(loadConfig(), file, opts);
    });
}
