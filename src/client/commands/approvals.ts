/** `baton approvals`: the approvals and questions waiting on you, across goals or in one. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { age, clip, styleFor, table, until } from '../output.js';
import { examples, jsonOption, out, type JsonFlag } from '../text.js';

/** Adds `baton approvals`. */
export function addApprovals(program: Command): void {
  program
    .command('approvals')
    .description('pending approvals and questions waiting on you (the person `baton login` signed in), across goals')
    .argument('[id]', 'only this goal')
    .addOption(jsonOption('the pending approvals as JSON, each with its goal (questions: `baton status ID --json`)'))
    .addHelpText('after', examples('npx baton approvals'))
    .action(async (id: string | undefined, opts: JsonFlag) => {
      const c = loadConfig();
      const { inbox, readCredentials } = await import('../gateway-client.js');
      const found = await inbox(c, id);
      const { approvals, questions } = found;
      // A goal whose state cannot be read is named and skipped; the others are listed.
      for (const f of found.failures)
        process.stderr.write(`baton: goal ${f.goalId} could not be read (${f.error}); skipped\n`);
      const who = readCredentials(c)?.subject ?? 'you';
      const s = styleFor(process.stdout);
      const parts: string[] = [];
      if (approvals.length) {
        parts.push(
          table([
            ['GOAL', 'APPROVAL', 'TOOL', 'ARGUMENTS', 'REASON', 'AGE', 'DEADLINE'].map((h) => s.bold(h)),
            ...approvals.map((a) => [
              a.goalId,
              s.yellow(a.id),
              a.tool,
              clip(JSON.stringify(a.args), 60),
              clip(a.reason, 40),
              age(a.openedAt),
              until(a.deadline),
            ]),
          ]),
          `approve with: npx baton approve ${approvals[0]!.goalId} ${approvals[0]!.id} --comment "..."`,
        );
      }
      if (questions.length) {
        parts.push(
          table([
            ['GOAL', 'QUESTION', 'FROM', 'ASKS', 'AGE', 'DEADLINE'].map((h) => s.bold(h)),
            ...questions.map((q) => [
              q.goalId,
              s.yellow(q.id),
              q.agent,
              clip(q.question, 60),
              age(q.askedAt),
              until(q.deadline),
            ]),
          ]),
          `answer with: npx baton reply ${questions[0]!.goalId} ${questions[0]!.id} "..."`,
        );
      }
      out(opts, approvals, () =>
        parts.length ? parts.join('\n\n') : `nothing waits on ${who} (no approval to decide, no question to answer)`,
      );
    });
}
