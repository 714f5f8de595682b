/** `baton start` for a signed-in person: through the gateway, by registered name (`NAME[@VERSION]`) or by file. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { BatonConfig } from '../config.js';
import { GoalCommandError } from './errors.js';
import { readCredentials, start } from './gateway-client.js';

/** What the start commands need of a started goal. */
export interface Started {
  workflowId: string;
  firstExecutionRunId: string;
}

/**
 * Starts through the gateway when the CLI is signed in; otherwise runs `unsigned` (a direct start, which only a
 * worker allowing ad hoc blueprints accepts) for a file, and refuses a name.
 */
export async function startSigned(
  config: BatonConfig,
  what: string,
  input: unknown,
  id: string | undefined,
  unsigned: () => Promise<Started>,
): Promise<Started> {
  const isFile = existsSync(what);
  if (!readCredentials(config)) {
    if (isFile) {
      // Said before the start, not after: the goal is accepted here and refused by a worker that wants signed starts.
      process.stderr.write(
        'baton: not signed in: this start is unsigned, and only workers that allow ad hoc starts (baton dev) run it; `baton login` first to start as you\n',
      );
      return unsigned();
    }
    throw new GoalCommandError(`${what} is not a file; starting a registered blueprint by name needs \`baton login\``);
  }
  const [name, version] = what.split('@') as [string, string | undefined];
  const started = isFile
    ? await start(config, { blueprintYaml: await readFile(what, 'utf8'), file: what }, input, id)
    : await start(config, { blueprint: name, ...(version ? { version } : {}) }, input, id);
  return { workflowId: started.goalId, firstExecutionRunId: started.runId };
}
