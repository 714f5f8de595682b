/** `baton approve` / `baton reject`: a person's decision, through the `decide` update. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { GoalCommandError } from '../errors.js';
import { styleFor } from '../output.js';
import { EXAMPLE_ID, describeVote, examples, jsonOption, out, type JsonFlag } from '../text.js';
import { connect, goals } from './connect.js';

/** Adds `baton approve` and `baton reject`. */
export function addDecide(program: Command): void {
  for (const verb of ['approve', 'reject'] as const) {
    program
      .command(verb)
      .description(`${verb} a pending approval as the person \`baton login\` signed in (a signed decision)`)
      .argument('<id>', 'goal id')
      .argument('<approvalId>', 'approval id, e.g. apr-1 (a question, q-1, is answered with `baton reply`)')
      .option('--comment <text>', 'why; recorded in the history')
      .addOption(jsonOption())
      .addHelpText('after', examples(`npx baton ${verb} ${EXAMPLE_ID} apr-1 --comment "checked the order"`))
      .action(async (id: string, approvalId: string, opts: JsonFlag & { comment?: string }) => {
        const c = loadConfig();
        const { decide, readCredentials } = await import('../gateway-client.js');
        let record;
        try {
          record = await decide(c, id, approvalId, verb, opts.comment);
        } catch (err) {
          if (!(err instanceof GoalCommandError)) throw err;
          const { goalState } = await goals();
          // Only to say so when the id names a question; if the goal cannot be read, the refusal stands as it is.
          const state = await connect(c)
            .then((client) => goalState(client, id))
            .catch(() => undefined);
          const question = state?.pendingQuestions?.find((q) => q.id === approvalId);
          if (!question) throw err;
          throw new GoalCommandError(
            `${approvalId} is a question from ${question.agent}, not an approval: answer it with ` +
              `npx baton reply ${id} ${approvalId} "..."`,
            'refused',
          );
        }
        const s = styleFor(process.stdout);
        const line = describeVote(readCredentials(c)?.subject ?? '?', verb, record);
        out(opts, record, () => (verb === 'approve' ? s.green(line) : s.red(line)));
      });
  }
}
