/** `baton reply`: answers an agent's `ask_human` question, through the `reply` update. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { QUESTION_EXAMPLE_ID, examples, jsonOption, out, type JsonFlag } from '../text.js';

/** Adds `baton reply`. */
export function addReply(program: Command): void {
  program
    .command('reply')
    .description("answer an agent's ask_human question as the person `baton login` signed in (a signed answer)")
    .argument('<id>', 'goal id')
    .argument('<questionId>', 'question id, e.g. q-1 (see baton status ID)')
    .argument('<answer...>', 'the answer')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(`npx baton reply ${QUESTION_EXAMPLE_ID} q-1 "Not expected: treat it as an intrusion"`),
    )
    .action(async (id: string, questionId: string, answer: string[], opts: JsonFlag) => {
      const c = loadConfig();
      const { reply } = await import('../gateway-client.js');
      const q = await reply(c, id, questionId, answer.join(' '));
      out(opts, q, () => `${q.by ?? '?'} answered ${q.id} (${q.agent} asked: ${q.question})`);
    });
}
