/** `baton list`: goals, filtered by search attributes. */
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config.js';
import { GoalCommandError } from '../errors.js';
import { age, statusColor, styleFor, table } from '../output.js';
import { examples, jsonOption, out, type JsonFlag } from '../text.js';
import { connect, goals } from './connect.js';

/** Adds `baton list`. */
export function addList(program: Command): void {
  program
    .command('list')
    .description('goals on TEMPORAL_ADDRESS, newest first, filtered by search attributes')
    .addOption(
      new Option('--status <status>', 'only goals in this status').choices([
        'running',
        'awaiting_approval',
        'awaiting_reply',
        'completed',
        'failed',
        'cancelled',
      ]),
    )
    .option('--limit <n>', 'at most this many', '50')
    .addOption(jsonOption())
    .addHelpText('after', examples('npx baton list --status awaiting_approval'))
    .action(async (opts: JsonFlag & { status?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new GoalCommandError(`--limit must be a positive whole number, not ${opts.limit}`, 'usage');
      const c = loadConfig();
      const rows = await (
        await goals()
      ).listGoals(await connect(c), {
        ...(opts.status ? { status: opts.status } : {}),
        limit,
      });
      const s = styleFor(process.stdout);
      const where = `on ${c.address} (namespace ${c.namespace})`;
      out(opts, rows, () =>
        rows.length
          ? table([
              ['ID', 'GOAL', 'STATUS', 'STARTED'].map((h) => s.bold(h)),
              ...rows.map((r) => [r.id, r.goal, statusColor(s, r.status), `${age(r.startTime)} ago`]),
            ])
          : opts.status
            ? `no ${opts.status} goals ${where}`
            : `no goals yet ${where}; start one with \`npx baton start goals/refund-request.yaml\``,
      );
    });
}
