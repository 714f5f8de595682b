/** `baton watch`: follows a goal live; also how `baton start --wait` follows the goal it started. */
import { Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { text as str } from '../../audit/history.js';
import { loadConfig } from '../../config.js';
import { statusColor, styleFor } from '../output.js';
import { EXAMPLE_ID, examples } from '../text.js';
import type { WatchOutcome } from '../watch.js';
import { connect, goals } from './connect.js';

/** Follows a goal: its steps as they happen and, on a terminal, a live progress line. */
export async function follow(
  client: Client,
  goalId: string,
  opts: { json: boolean; quiet?: boolean },
): Promise<WatchOutcome> {
  const { watchGoal } = await import('../watch.js');
  return watchGoal(client, goalId, {
    json: opts.json,
    ...(opts.quiet ? {} : { out: process.stdout }),
    err: process.stderr,
    progress: !opts.json && !opts.quiet && process.stderr.isTTY === true,
    style: styleFor(process.stdout),
  });
}

/** Prints how a followed goal ended (its result line, unless JSON); anything but completed exits 1 with the reason. */
export function finishWith(goalId: string, outcome: WatchOutcome, json: boolean): void {
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

/** Adds `baton watch`. */
export function addWatch(program: Command): void {
  program
    .command('watch')
    .summary('follow a goal live: its steps as they happen, then its result')
    .description(
      "follow a goal: each step as it happens (from the goal's history), a live progress line on a terminal, calls being retried, then the result; exit 1 unless it completes",
    )
    .argument('<id>', 'goal id')
    .addOption(new Option('--json', 'each step as a JSON line, the same records `baton audit --format jsonl` exports'))
    .addHelpText('after', examples(`npx baton watch ${EXAMPLE_ID}`))
    .action(async (id: string, opts: { json?: boolean }) => {
      const client = await connect(loadConfig());
      await (await goals()).describeGoal(client, id); // an unknown id is named with the server that was asked
      const outcome = await follow(client, id, { json: opts.json === true });
      finishWith(id, outcome, opts.json === true);
    });
}
