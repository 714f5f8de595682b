/**
 * `baton dev` as a user runs it: the stack comes up with the Web UI, runs the example goal with the scripted model,
 * stops completely on Ctrl-C (SIGINT), and keeps finished goals in its SQLite file across restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baton } from './helpers/cli.js';
import { eventually } from './helpers/harness.js';
import { freePort } from '../src/runtime/free-port.js';

const dataDir = mkdtempSync(join(tmpdir(), 'baton-dev-test-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Processes whose command line mentions the test's data directory (the dev server child). */
function stackProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-af', dataDir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function startDev(port: number, uiPort: number): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(
    process.execPath,
    ['bin/baton.js', 'dev', '--port', String(port), '--ui-port', String(uiPort), '--data', dataDir],
    {
      env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(
    () => (out.includes('Baton dev stack is up') ? true : undefined),
    `baton dev to come up:\n${out}`,
    60_000,
  );
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

describe('baton dev', () => {
  it('runs the example goal offline, stops cleanly on Ctrl-C, and keeps goals across restarts', async () => {
    const port = await freePort();
    const uiPort = await freePort();
    const vars = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, BATON_USER: 'alice' };
    const first = await startDev(port, uiPort);
    expect(first.output()).toContain(`Web UI          http://127.0.0.1:${uiPort}/namespaces/default/workflows`);
    expect(first.output()).toContain('SCRIPTED MODEL');
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);

    const started = await baton(['start', 'goals/refund-request.yaml', '--json'], vars);
    expect(started.code, started.stderr).toBe(0);
    const { goalId } = JSON.parse(started.stdout) as { goalId: string };
    await eventually(async () => {
      const r = await baton(['approvals', '--json'], vars);
      return (JSON.parse(r.stdout) as { goalId: string }[]).some((a) => a.goalId === goalId) ? true : undefined;
    }, 'the approval');
    const approved = await baton(['approve', goalId, 'apr-1'], vars);
    expect(approved.code, approved.stderr).toBe(0);
    await eventually(async () => {
      const r = await baton(['status', goalId, '--json'], vars);
      return (JSON.parse(r.stdout) as { status: string }).status === 'completed' ? true : undefined;
    }, 'the goal to complete');

    expect(stackProcesses().length).toBeGreaterThan(0);
    expect(await stop(first.child)).toBe(0);
    expect(first.output()).toContain('[baton] stopped.');
    expect(stackProcesses()).toEqual([]);

    const second = await startDev(port, uiPort);
    const list = await baton(['list', '--json'], vars);
    expect(JSON.parse(list.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: goalId, status: 'completed' })]),
    );
    expect(await stop(second.child)).toBe(0);
    expect(stackProcesses()).toEqual([]);
  });
});
