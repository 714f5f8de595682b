/**
 * The CLI as a user runs it, against a real dev server: start, approvals, approve, status, list, and the same
 * decision sent with plain `temporal workflow signal`; `temporal workflow show` tells the story.
 */
import { readFile } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { baton, temporal } from './helpers/cli.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let vars: Record<string, string>;

beforeAll(async () => {
  env = await startDevServer();
  const script = parse(await readFile('goals/refund-request.script.yaml', 'utf8')) as ScriptInput;
  h = await createHarness(env, { scripts: [script] });
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue, BATON_USER: 'alice' };
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

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
    const r = await baton(['approvals', '--json'], vars);
    const list = JSON.parse(r.stdout) as { goalId: string; id: string; tool: string }[];
    return list.some((a) => a.goalId === goalId) ? list : undefined;
  }, 'the approval to be listed');
}

describe('baton CLI', () => {
  it('starts a goal, lists its approval, approves it, and temporal shows the model call, tool call and decision', async () => {
    const goalId = await startRefund();
    const pending = await pendingFor(goalId);
    expect(pending.find((a) => a.goalId === goalId)).toMatchObject({ id: 'apr-1', tool: 'issue_refund' });

    const human = await baton(['approvals'], vars);
    expect(human.stdout).toContain(`approve with: npx baton approve`);

    const approved = await baton(['approve', goalId, 'apr-1', '--comment', 'fine'], vars);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^approved: apr-1 approved · issue_refund/);

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
    const input = JSON.stringify({ approvalId: 'apr-1', decision: 'approve', by: 'alice' });
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
    expect(unknown.stderr.trim()).toBe('baton: no goal with id no-such-goal; `baton list` shows the goals');

    const down = await baton(['list'], { ...vars, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^baton: cannot reach Temporal at 127\.0\.0\.1:1 .*start one with `baton dev`, or set TEMPORAL_ADDRESS\n$/,
    );

    const badInput = await baton(['start', 'goals/refund-request.yaml', '--input', '{oops'], vars);
    expect(badInput.code).toBe(1);
    expect(badInput.stderr).toMatch(/^baton: --input is not valid JSON/);

    const invalid = await baton(['validate', 'goals/refund-request.script.yaml'], vars);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^goals\/refund-request\.script\.yaml:\d+:\d+ /m);

    const ok = await baton(['validate', 'goals/refund-request.yaml']);
    expect(ok).toMatchObject({ code: 0, stdout: 'goals/refund-request.yaml: ok\n' });
  });
});
