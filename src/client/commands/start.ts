/** `baton start`: validates a blueprint and its input, then starts a goal. */
import type { Command } from 'commander';
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
  const loaded = await loadBlueprint(file);
  // Checked before connecting: a typo in the input is found without a server.
  const input = checkInput(loaded, await readInput(loaded, opts));
  const { connectClient, goalUrl, startGoal } = await goals();
  const client = await connectClient(config);
  const handle = await startGoal(client, {
    loaded,
    input,
    startedBy: config.user,
    taskQueue: config.taskQueue,
    ...(opts.id ? { id: opts.id } : {}),
    ...(opts.reuseId ? { reuseId: true } : {}),
  });
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
    .description('validate a blueprint and its input, and start a goal; prints its id and Web UI link')
    .argument('<file>', 'blueprint file')
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
