/** `baton cancel`: cancels a goal cleanly. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { EXAMPLE_ID, examples, jsonOption, out, type JsonFlag } from '../text.js';
import { connect, goals } from './connect.js';

/** Adds `baton cancel`. */
export function addCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a goal cleanly')
    .argument('<id>', 'goal id')
    .addOption(jsonOption())
    .addHelpText('after', examples(`npx baton cancel ${EXAMPLE_ID}`))
    .action(async (id: string, opts: JsonFlag) => {
      await (await goals()).cancelGoal(await connect(loadConfig()), id);
      out(opts, { goalId: id, cancelled: true }, () => `cancellation requested for ${id}`);
    });
}
