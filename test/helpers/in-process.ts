/**
 * Runs the `baton` command tree in this process (no node start-up per command): the same `runCli` that
 * bin/baton.js runs, with stdout and stderr captured and the environment and folder set for the call.
 */
import { runCli } from '../../src/client/program.js';
import type { CliResult } from './cli.js';

let busy = false;

/** `baton ARGS` in-process; env values of '' unset the variable for the call. One call at a time. */
export async function batonInProcess(
  args: string[],
  env: Record<string, string> = {},
  opts: { cwd?: string } = {},
): Promise<CliResult> {
  if (busy) throw new Error('batonInProcess: one call at a time (it swaps process.stdout and process.env)');
  busy = true;
  const saved = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
    env: { ...process.env },
    cwd: process.cwd(),
    exitCode: process.exitCode,
  };
  let stdout = '';
  let stderr = '';
  const capture =
    (add: (text: string) => void) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      add(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    };
  process.stdout.write = capture((t) => (stdout += t));
  process.stderr.write = capture((t) => (stderr += t));
  for (const [k, v] of Object.entries(env)) {
    if (v === '') delete process.env[k];
    else process.env[k] = v;
  }
  if (opts.cwd) process.chdir(opts.cwd);
  try {
    const code = await runCli(['node', 'baton', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    for (const k of Object.keys(process.env)) if (!(k in saved.env)) delete process.env[k];
    Object.assign(process.env, saved.env);
    process.chdir(saved.cwd);
    process.exitCode = saved.exitCode;
    busy = false;
  }
}

/** The CLI's one-line reason on stderr (an in-process worker may log on the same stderr). */
export function reason(r: { stderr: string }): string | undefined {
  return r.stderr.split('\n').findLast((l) => l.startsWith('baton: '));
}
