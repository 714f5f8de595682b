/**
 * The CLI as a user runs it, against a real dev server: start, approvals, approve, status, list, and the same
 * decision sent with plain `temporal workflow signal`; `temporal workflow show` tells the story. Commands run
 * in-process (the same `runCli` as bin/baton.js) so that no wait depends on how fast node starts on a busy machine;
 * what needs a real process (a terminal, piped output) spawns bin/baton.js.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { baton as spawnBaton, temporal } from './helpers/cli.js';
import { batonInProcess as baton, reason } from './helpers/in-process.js';
import { createHarness, eventually as eventuallyWithin, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { startTestGateway, trustingGateway, type TestGateway } from './helpers/gateway.js';
import { signDecision } from './helpers/identity.js';

/** Waits for a condition; generous, because a loaded machine may take long and that is not a failure. */
const eventually = <T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> =>
  eventuallyWithin(check, what, 120_000);

let env: TestWorkflowEnvironment;
let h: Harness;
let vars: Record<string, string>;
/** The CLI signed in as alice, a finance approver (through the real gateway and identity provider). */
let approver: Record<string, string>;
let gw: TestGateway;
const holder: { gw?: TestGateway } = {};
let dir: string;

beforeAll(async () => {
  env = await startDevServer();
  const script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  h = await createHarness(env, { scripts: [script], trust: trustingGateway(holder) });
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue };
  gw = await startTestGateway(env, h.taskQueue);
  holder.gw = gw;
  approver = { ...vars, ...(await gw.login('alice')) };
  dir = mkdtempSync(join(tmpdir(), 'baton-cli-test-'));
});

afterAll(async () => {
  await gw?.close();
  await h?.close();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;
// eslint-disable-next-line no-control-regex
const plain = (text: string): string => text.replace(/\u001b\[[0-9;]*[mK]/g, '');

/** Runs `baton ARGS` on a pseudo-terminal (util-linux `script`), as in an interactive shell; resolves on exit. */
function onTerminal(
  args: string[],
  extraEnv: Record<string, string> = {},
): { output: () => string; exited: Promise<number | null> } {
  const command = [process.execPath, 'bin/baton.js', ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, ...vars, ...extraEnv, TERM: 'xterm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => out, exited };
}

async function startRefund(): Promise<string> {
  const started = await baton(['start', 'goals/refund-request.yaml', '--json'], vars);
  expect(started.code, started.stderr).toBe(0);
  const { goalId, url } = JSON.parse(started.stdout) as { goalId: string; url: string };
  expect(goalId).toMatch(/^refund-request-[0-9a-f]{8}$/);
  expect(url).toBe(`http://localhost:8233/namespaces/default/workflows/${goalId}`);
  return goalId;
}

async function pendingFor(goalId: string): Promise<{ goalId: string; id: string; tool: string }[]> {
  return eventually(async () => {
    const r = await baton(['approvals', '--json'], approver);
    const list = JSON.parse(r.stdout) as { goalId: string; id: string; tool: string }[];
    return list.some((a) => a.goalId === goalId) ? list : undefined;
  }, 'the approval to be listed');
}

describe('baton CLI', { timeout: 300_000 }, () => {
  it('starts a goal, lists its approval, approves it, and temporal shows the model call, tool call and decision', async () => {
    const goalId = await startRefund();
    const pending = await pendingFor(goalId);
    expect(pending.find((a) => a.goalId === goalId)).toMatchObject({ id: 'apr-1', tool: 'issue_refund' });

    const human = await baton(['approvals'], approver);
    expect(human.stdout).toContain(`approve with: npx baton approve`);

    const approved = await baton(['approve', goalId, 'apr-1', '--comment', 'fine'], approver);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^alice approved apr-1: issue_refund \{.*\} is approved$/m);

    const status = await eventually(async () => {
      const r = await baton(['status', goalId, '--json'], vars);
      const s = JSON.parse(r.stdout) as { status: string; result?: { answer: string } };
      return s.status === 'completed' ? s : undefined;
    }, 'the goal to complete');
    expect(status.result?.answer).toContain('Refunded 120 USD');

    const shown = await temporal(['workflow', 'show', '-w', goalId, '--address', env.address, '--output', 'json']);
    expect(shown.code, shown.stderr).toBe(0);
    const history = JSON.parse(shown.stdout) as {
      events: Record<string, { activityType?: { name: string }; acceptedRequest?: { input?: { name: string } } }>[];
    };
    const scheduled = history.events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
    );
    expect(scheduled).toContain('callModel');
    expect(scheduled).toContain('runTool');
    expect(
      history.events.some(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'decide',
      ),
    ).toBe(true);

    const list = await baton(['list', '--status', 'completed', '--json'], vars);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((r) => r.id)).toContain(goalId);
  });

  it('accepts the same decision from `temporal workflow signal --name approval`', async () => {
    const goalId = await startRefund();
    await pendingFor(goalId);
    const input = JSON.stringify(
      await signDecision(env.client, goalId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' }),
    );
    const signalled = await temporal([
      'workflow',
      'signal',
      '-w',
      goalId,
      '--name',
      'approval',
      '--input',
      input,
      '--address',
      env.address,
    ]);
    expect(signalled.code, signalled.stderr).toBe(0);
    const s = await eventually(async () => {
      const r = await baton(['status', goalId, '--json'], vars);
      const state = JSON.parse(r.stdout) as { status: string; approvals: { votes: { by: string; via: string }[] }[] };
      return state.status === 'completed' ? state : undefined;
    }, 'the signalled goal to complete');
    expect(s.approvals[0]?.votes[0]).toMatchObject({ by: 'alice', via: 'signal' });
  });

  it('exits non-zero with a one-line reason that names the fix', async () => {
    const unknown = await baton(['status', 'no-such-goal'], vars);
    expect(unknown.code).toBe(1);
    expect(reason(unknown)).toBe(
      `baton: no goal with id no-such-goal on ${env.address}, namespace default; \`baton list\` shows the goals there (TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE choose the server)`,
    );

    const down = await baton(['list'], { ...vars, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(reason(down)).toMatch(
      /^baton: cannot reach Temporal at 127\.0\.0\.1:1 .*start one with `baton dev`, or set TEMPORAL_ADDRESS$/,
    );

    const badInput = await baton(['start', 'goals/refund-request.yaml', '--input', '{oops'], vars);
    expect(badInput.code).toBe(1);
    expect(reason(badInput)).toMatch(/^baton: --input is not valid JSON/);

    const invalid = await baton(['validate', 'goals/scripts/refund-request.script.yaml'], vars);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^goals\/scripts\/refund-request\.script\.yaml:\d+:\d+ /m);

    // `baton validate goals/*.yaml` sees blueprints only: the scripts live in goals/scripts/.
    const all = (await readdir('goals')).filter((f) => f.endsWith('.yaml')).map((f) => `goals/${f}`);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const examples = await baton(['validate', ...all]);
    expect(examples.code, examples.stdout).toBe(0);
    expect(examples.stdout.trim().split('\n')).toEqual(all.map((f) => `${f}: ok`));

    const ok = await baton(['validate', 'goals/refund-request.yaml']);
    expect(ok).toMatchObject({ code: 0, stdout: 'goals/refund-request.yaml: ok\n' });
  });

  it('says a finished goal cannot be cancelled or decided', async () => {
    const goalId = await startRefund();
    await pendingFor(goalId);
    expect((await baton(['approve', goalId, 'apr-1'], approver)).code).toBe(0);
    await eventually(async () => {
      const r = await baton(['status', goalId, '--json'], vars);
      return (JSON.parse(r.stdout) as { status: string }).status === 'completed' ? true : undefined;
    }, 'the goal to complete');
    const cancel = await baton(['cancel', goalId], vars);
    expect(cancel.code).toBe(1);
    expect(reason(cancel)).toBe(`baton: goal ${goalId} has already finished (completed); nothing to cancel`);
    const again = await baton(['reject', goalId, 'apr-1'], approver);
    expect(again.code).toBe(1);
    expect(reason(again)).toBe(`baton: goal ${goalId} has already finished (completed); nothing to decide`);
    const unknown = await baton(['watch', 'no-such-goal'], vars);
    expect(reason(unknown)).toBe(
      `baton: no goal with id no-such-goal on ${env.address}, namespace default; \`baton list\` shows the goals there (TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE choose the server)`,
    );
  });
});

describe('baton output on a terminal', { timeout: 300_000 }, () => {
  it('colours only on a terminal, and never with NO_COLOR', async () => {
    const goalId = await startRefund();
    const piped = await spawnBaton(['status', goalId], vars);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).not.toMatch(ANSI);
    const tty = onTerminal(['status', goalId]);
    expect(await tty.exited).toBe(0);
    expect(tty.output()).toMatch(ANSI);
    expect(plain(tty.output())).toContain(`goal      ${goalId} (refund-request)`);
    const noColor = onTerminal(['status', goalId], { NO_COLOR: '1' });
    expect(await noColor.exited).toBe(0);
    expect(noColor.output()).not.toMatch(ANSI);
    expect(noColor.output()).toContain(`goal      ${goalId} (refund-request)`);
  });

  it('`baton watch` draws a live progress line, prints each step as it happens, then the result', async () => {
    const goalId = await startRefund();
    await pendingFor(goalId);
    const watching = onTerminal(['watch', goalId]);
    await eventually(
      () =>
        /awaiting_approval · waiting for alice, bob, carol, group:finance · 3 steps/.test(plain(watching.output()))
          ? true
          : undefined,
      'the progress line to show the wait',
    );
    expect(plain(watching.output())).toMatch(
      /agent:billing.*billing: lookup_customer \{"customerId":"c-42"\} → HTTP 200/,
    );
    const approved = await baton(['approve', goalId, 'apr-1', '--comment', 'watched'], approver);
    expect(approved.code, approved.stderr).toBe(0);
    expect(await watching.exited).toBe(0);
    expect(watching.output()).toContain('\r\u001b[2K'); // the progress line is redrawn in place, and cleared at the end
    const out = plain(watching.output());
    expect(out).toMatch(/user:alice.*alice approved apr-1 \(update\): "watched" → approved/);
    expect(out).toMatch(/issue_refund .* → HTTP 201/);
    expect(out).toMatch(new RegExp(`${goalId}.*: .*completed.*: Refunded 120 USD`));
  });

  it('`baton start --wait` follows the goal and exits 1 with the reason when it fails', async () => {
    const tight = (await readFile('goals/refund-request.yaml', 'utf8')).replace(/maxSteps: \d+/, 'maxSteps: 2');
    const file = join(dir, 'tight.yaml');
    writeFileSync(file, tight);
    const r = await baton(['start', file, '--wait'], vars);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^started goal refund-request-\w+, waiting for it to finish/);
    expect(r.stdout).toMatch(/billing: lookup_customer .* → HTTP 200/);
    expect(r.stdout).toMatch(/budget exceeded: step budget of 2 used up/);
    expect(r.stderr).toMatch(/^baton: goal refund-request-\w+ failed: step budget of 2 used up \(2 steps\) at step 2/m);
    const json = await baton(['start', file, '--wait', '--json'], vars);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'failed', result: { failureType: 'BudgetExceeded' } });
  });
});
