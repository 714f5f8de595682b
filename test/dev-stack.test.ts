/**
 * `baton dev` as a user runs it: the stack comes up with the Web UI, runs the example goal with the scripted model,
 * stops completely on Ctrl-C (SIGINT), and keeps finished goals in its SQLite file across restarts. It refuses a
 * port someone else holds, and a Ctrl-C from the terminal (SIGINT to the whole process group) while a model call
 * runs lets that call finish and be recorded: after a restart it is not made again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loginThrough } from './helpers/gateway.js';
import { batonInProcess as baton } from './helpers/in-process.js';
import { eventually as eventuallyWithin } from './helpers/harness.js';
import { freePort } from '../src/runtime/free-port.js';
import { listensOn } from '../src/client/dev-server.js';

/** Waits for a condition; generous (or as given), because a loaded machine may take long and that is no failure. */
const eventually = <T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 120_000,
): Promise<T> => eventuallyWithin(check, what, Math.max(timeoutMs, 120_000));

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

/**
 * Where this file's `baton dev` runs its approval gateway: a free port of its own rather than the default 8455, which
 * another test file's `baton dev` may hold at the same time. One port serves this file's stacks, one after another.
 */
const servePort = String(await freePort());

/** `baton dev` in its own process group (as a terminal runs it), so a test can Ctrl-C the group. */
function spawnDev(port: number, uiPort: number, cwd = process.cwd(), data = dataDir): ChildProcess {
  const child = spawn(
    process.execPath,
    [resolve('bin/baton.js'), 'dev', '--port', String(port), '--ui-port', String(uiPort), '--data', data],
    {
      cwd,
      env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', BATON_SERVE_PORT: servePort },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  children.push(child);
  return child;
}

async function startDev(
  port: number,
  uiPort: number,
  cwd?: string,
  data?: string,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawnDev(port, uiPort, cwd, data);
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

describe('baton dev', { timeout: 300_000 }, () => {
  it('runs the example goal offline, stops cleanly on Ctrl-C, and keeps goals across restarts', async () => {
    const port = await freePort();
    const uiPort = await freePort();
    const first = await startDev(port, uiPort);
    // The CLI acts as alice, signed in through the gateway and identity provider `baton dev` runs.
    const inbox = /Approvals inbox (\S+)/.exec(first.output())?.[1] ?? expect.fail(`no inbox in:\n${first.output()}`);
    // The sessions' credentials: in the run's scratch directory, which the global setup removes.
    const creds = mkdtempSync(join(inject('testScratchDir'), 'dev-creds-'));
    const vars = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, ...(await loginThrough(inbox, 'alice', creds)) };
    expect(first.output()).toContain(`Web UI          http://127.0.0.1:${uiPort}/namespaces/default/workflows`);
    expect(first.output()).toContain(
      `In another shell: export TEMPORAL_ADDRESS=127.0.0.1:${port} BATON_UI_URL=http://127.0.0.1:${uiPort}`,
    );
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
    // alice started it, and nobody approves their own goal: bob, also in finance, does.
    const approved = await baton(['approve', goalId, 'apr-1'], {
      ...vars,
      ...(await loginThrough(inbox, 'bob', creds)),
    });
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

/** Listens on a loopback port, as another program holding it would. */
async function hold(port: number): Promise<Server> {
  const srv = createServer();
  await new Promise<void>((done) => srv.listen(port, '127.0.0.1', done));
  return srv;
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  return { code, output };
}

describe('baton dev and ports it does not own', { timeout: 300_000 }, () => {
  it('tells the process that listens on a port from one that does not (how it verifies its own server)', async () => {
    const port = await freePort();
    const stranger = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1')`], {
      stdio: 'ignore',
    });
    children.push(stranger);
    try {
      await eventually(() => (listensOn(stranger.pid!, port) ? true : undefined), 'the stranger to listen');
      expect(listensOn(process.pid, port)).toBe(false);
      const mine = await hold(await freePort());
      const minePort = (mine.address() as { port: number }).port;
      expect(listensOn(process.pid, minePort)).toBe(true);
      expect(listensOn(stranger.pid!, minePort)).toBe(false);
      await new Promise((done) => mine.close(done));
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('exits 1 naming the port when --port or --ui-port is taken, and starts nothing', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    for (const [flag, taken] of [
      ['--port', port],
      ['--ui-port', uiPort],
    ] as const) {
      const stranger = await hold(taken);
      try {
        const r = await exitOf(spawnDev(port, uiPort));
        expect(r.code, r.output).toBe(1);
        expect(r.output).toContain(`baton: port ${taken} (${flag}) is already in use by another program`);
        expect(r.output).toContain('will not use one it did not start');
        expect(r.output).not.toContain('Baton dev stack is up');
        expect(stackProcesses()).toEqual([]);
      } finally {
        await new Promise((done) => stranger.close(done));
      }
    }
  });
});

describe('Ctrl-C while a model call runs', { timeout: 300_000 }, () => {
  it('lets the call finish and be recorded before the server stops: after a restart it is not made again', async () => {
    const cwd = mkdtempSync(join(inject('testScratchDir'), 'dev-ctrlc-'));
    const data = join(cwd, '.baton');
    mkdirSync(join(cwd, 'goals', 'scripts'), { recursive: true });
    writeFileSync(
      join(cwd, 'goals', 'slow-model.yaml'),
      'apiVersion: baton/v1\nname: slow-model\nmodels: { default: { model: gpt-4o-mini } }\n' +
        'agents: { solo: { role: executor, instructions: answer } }\nentry: solo\n',
    );
    // The model takes 15 s to answer: long enough that Ctrl-C surely lands while the call runs.
    writeFileSync(
      join(cwd, 'goals', 'scripts', 'slow-model.script.yaml'),
      'goal: slow-model\nreplies:\n  - content: Done after a long think.\n    hang: { ms: 15000 }\n',
    );
    const [port, uiPort] = [await freePort(), await freePort()];
    const vars = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, BATON_USER: 'dana' };
    const first = await startDev(port, uiPort, cwd, data);
    const started = await baton(['start', join(cwd, 'goals', 'slow-model.yaml'), '--json'], vars);
    expect(started.code, started.stderr).toBe(0);
    const { goalId } = JSON.parse(started.stdout) as { goalId: string };

    let connection = await Connection.connect({ address: vars.TEMPORAL_ADDRESS });
    let client = new Client({ connection });
    await eventually(
      async () => {
        const d = await client.workflow.getHandle(goalId).describe();
        const p = d.raw.pendingActivities?.[0];
        return p?.activityId === 'model-1' && p.lastStartedTime ? true : undefined;
      },
      'the model call to be running',
      60_000,
    );
    await connection.close();
    const interruptedAt = Date.now();
    process.kill(-first.child.pid!, 'SIGINT'); // what a terminal's Ctrl-C does: the whole foreground group
    const code = await new Promise<number | null>((done) => first.child.once('exit', (c) => done(c)));
    expect(code, first.output()).toBe(0);
    expect(first.output()).toContain('letting running activities finish');
    expect(stackProcesses().filter((p) => p.includes(data))).toEqual([]);

    const second = await startDev(port, uiPort, cwd, data);
    connection = await Connection.connect({ address: vars.TEMPORAL_ADDRESS });
    client = new Client({ connection });
    try {
      const handle = client.workflow.getHandle(goalId);
      await eventually(
        async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
        'the goal to complete after the restart',
        120_000,
      );
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const modelCalls = events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel',
      );
      expect(modelCalls).toHaveLength(1);
      // The model call's own events (the goal also records the operator's trust through loadTrust).
      const callId = Number(modelCalls[0]!.eventId);
      const startedEvents = events.filter(
        (e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === callId,
      );
      expect(startedEvents.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
      const completed = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === callId);
      expect(completed).toBeDefined();
      // The call was in flight when Ctrl-C came: it completed after the interrupt, and was recorded all the same.
      const completedMs = Number(completed!.eventTime!.seconds) * 1000;
      expect(completedMs).toBeGreaterThan(interruptedAt - 1000);
      expect(events.some((e) => e.activityTaskTimedOutEventAttributes || e.activityTaskFailedEventAttributes)).toBe(
        false,
      );
    } finally {
      await connection.close();
      expect(await stop(second.child)).toBe(0);
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 300_000);
});
