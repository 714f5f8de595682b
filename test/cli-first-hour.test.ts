/**
 * What a newcomer meets in the first hour (issue 19), against a real dev server, with the CLI run in-process:
 * input checked against the blueprint's schema, errors that say which server was asked and come as JSON under
 * --json, a failing model call visible in `status` and `watch`, a waiting question in `approvals`, the wording of
 * votes, the scripted demo following --input, and `audit --format md` opening with a sequence diagram.
 */
import { readFile } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadBlueprint } from '../src/blueprint/load.js';
import { goalState, startGoal } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { createBatonWorker } from '../src/worker.js';
import { freePort } from '../src/runtime/free-port.js';
import { blueprint, createHarness, eventually as eventuallyWithin, type Harness } from './helpers/harness.js';
import { batonInProcess as baton } from './helpers/in-process.js';
import { testTrustStore } from './helpers/identity.js';
import { startTestGateway, trustingGateway, type TestGateway } from './helpers/gateway.js';
import { startDevServer } from './helpers/servers.js';

/** Waits for a condition; generous (or as given), because a loaded machine may take long and that is no failure. */
const eventually = <T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 120_000,
): Promise<T> => eventuallyWithin(check, what, Math.max(timeoutMs, 120_000));

let env: TestWorkflowEnvironment;
let h: Harness;
let vars: Record<string, string>;
/** The CLI signed in through the real gateway and identity provider, per demo user. */
let as: Record<'alice' | 'bob' | 'sam', Record<string, string>>;
let gw: TestGateway | undefined;
const holder: { gw?: TestGateway } = {};

/** The CLI's one-line reason (the in-process worker may log on the same stderr). */
const reason = (r: { stderr: string }): string | undefined =>
  r.stderr.split('\n').findLast((l) => l.startsWith('baton: '));
const jsonError = (r: { stderr: string }): unknown =>
  JSON.parse(r.stderr.split('\n').findLast((l) => l.startsWith('{"code"')) ?? 'null');

const script = async (name: string): Promise<ScriptInput> =>
  parse(await readFile(`goals/scripts/${name}.script.yaml`, 'utf8')) as ScriptInput;

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    scripts: [await script('refund-request'), await script('security-alert')],
    trust: trustingGateway(holder),
  });
  gw = holder.gw = await startTestGateway(env, h.taskQueue);
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue, NO_COLOR: '1', ...(await gw.login('alice')) };
  as = {
    alice: vars,
    bob: { ...vars, ...(await gw.login('bob')) },
    sam: { ...vars, ...(await gw.login('sam')) },
  };
});

afterAll(async () => {
  await gw?.close();
  await h?.close();
  await env?.teardown();
});

describe('input is checked against the blueprint', { timeout: 300_000 }, () => {
  it('refuses an unknown field, naming it and the fields the schema has; the JSON hint uses real fields', async () => {
    const typo = await baton(['start', 'goals/support-triage.yaml', '--input', '{"ticket":"T-1002"}'], vars);
    expect(typo.code).toBe(1);
    expect(reason(typo)).toBe(
      'baton: input field "ticket" is not in support-triage\'s input schema (goals/support-triage.yaml); its fields: ticketId',
    );
    const nested = await baton(['start', 'goals/refund-request.yaml', '--input', '{"amount":5,"amout":6}'], vars);
    expect(nested.stderr).toMatch(/input field "amout" is not in .*its fields: customerId, amount, reason/);

    const bad = await baton(['start', 'goals/support-triage.yaml', '--input', '{oops'], vars);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^baton: --input is not valid JSON \(.*\); e\.g\. --input '\{"ticketId":"T-1001"\}'\n$/);
    expect(bad.stderr).not.toContain('"ticket"');

    const missing = await baton(['start', 'goals/refund-request.yaml', '--input-file', 'no/such.json'], vars);
    expect(reason(missing)).toBe('baton: cannot read --input-file no/such.json: no such file');
  });

  it('prints errors as one JSON line {code, message} under --json', async () => {
    const typo = await baton(['start', 'goals/refund-request.yaml', '--input', '{"x":1}', '--json'], vars);
    expect(typo.code).toBe(1);
    expect(typo.stdout).toBe('');
    expect(jsonError(typo)).toEqual({ code: 'bad_input', message: expect.stringContaining('"x"') as string });
    const unknown = await baton(['status', 'no-such-goal', '--json'], vars);
    expect(jsonError(unknown)).toMatchObject({ code: 'not_found' });
    const usage = await baton(['status', '--json'], vars);
    expect(jsonError(usage)).toEqual({ code: 'usage', message: "missing required argument 'id'" });
  });

  it('the scripted demo follows the input: 50 USD is refunded without an approval', async () => {
    const started = await baton(['start', 'goals/refund-request.yaml', '--input', '{"amount":50}', '--json'], vars);
    expect(started.code, started.stderr).toBe(0);
    const { goalId } = JSON.parse(started.stdout) as { goalId: string };
    const s = await eventually(async () => {
      const state = await goalState(env.client, goalId);
      return state.status === 'completed' ? state : undefined;
    }, 'the 50 USD refund');
    expect(s.result?.answer).toContain('Refunded 50 USD');
    expect(s.approvals).toEqual([]);
  });
});

describe('the CLI says which server it asked', { timeout: 300_000 }, () => {
  it('a goal that is not found names TEMPORAL_ADDRESS and the namespace', async () => {
    const r = await baton(['status', 'no-such-goal'], vars);
    expect(r.code).toBe(1);
    expect(reason(r)).toBe(
      `baton: no goal with id no-such-goal on ${env.address}, namespace default; \`baton list\` shows the goals there (TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE choose the server)`,
    );
    const list = await baton(['list', '--status', 'cancelled'], vars);
    expect(list.stdout.trim()).toBe(`no cancelled goals on ${env.address} (namespace default)`);
  });

  it('links use BATON_UI_URL', async () => {
    const r = await baton(['start', 'goals/refund-request.yaml', '--json'], {
      ...vars,
      BATON_UI_URL: 'http://127.0.0.1:9333',
    });
    const { goalId, url } = JSON.parse(r.stdout) as { goalId: string; url: string };
    expect(url).toBe(`http://127.0.0.1:9333/namespaces/default/workflows/${goalId}`);
  });
});

describe('a failing model call is visible', { timeout: 300_000 }, () => {
  const flaky = blueprint(`
apiVersion: baton/v1
name: flaky-model
models: { default: { model: gpt-4o-mini } }
agents: { solo: { role: executor, instructions: answer } }
entry: solo
budget: { maxSteps: 3 }
`);

  it('`baton status` shows the retrying model call and its last error when the endpoint is down', async () => {
    const port = await freePort(); // nothing listens there: the endpoint is down
    const taskQueue = `${h.taskQueue}-down`;
    const worker: Worker = await createBatonWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      model: { baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'none' },
      env: {},
      trust: testTrustStore(),
      builtins: {},
      workflowCode: { workflowBundle: { codePath: inject('workflowBundlePath') } },
    });
    const running = worker.run();
    try {
      const handle = await startGoal(env.client, { loaded: flaky, input: {}, startedBy: 'test', taskQueue });
      const status = await eventually(async () => {
        const r = await baton(['status', handle.workflowId], vars);
        return /retrying/.test(r.stdout) ? r : undefined;
      }, 'status to show the retrying model call');
      expect(status.stdout).toMatch(
        /retrying {2}model call model-1 is retrying \(attempt \d+( of \d+)?, (next attempt in \d+s|attempt running now)\); last error: .+/,
      );
      const json = await baton(['status', handle.workflowId, '--json'], vars);
      const state = JSON.parse(json.stdout) as { status: string; retrying: { activity: string; lastError: string }[] };
      expect(state.status).toBe('running');
      expect(state.retrying[0]).toMatchObject({ activity: 'callModel', lastError: expect.any(String) as string });
      await env.client.workflow.getHandle(handle.workflowId).terminate('test over');
    } finally {
      worker.shutdown();
      await running;
    }
  });

  it('`baton watch` prints each retry with its last error, and the goal goes on once the model answers', async () => {
    h.model.load({
      goal: 'flaky-model',
      replies: [{ when: {}, fail: { status: 503, message: 'model overloaded', times: 1000 } }],
    });
    const handle = await h.start(flaky);
    const watching = baton(['watch', handle.workflowId], vars);
    // The goal stays open until the model answers; the watch must show why in the meantime.
    await eventually(
      async () => {
        const d = await handle.describe();
        return (d.raw.pendingActivities?.[0]?.attempt ?? 0) >= 2 ? true : undefined;
      },
      'a second attempt of the model call',
      120_000,
    );
    h.model.load({ goal: 'flaky-model', replies: [{ content: 'All good.' }] });
    const watched = await watching;
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/retrying {2}model call model-1 is retrying \(attempt 2[ ,].*model overloaded/);
    expect(watched.stdout).toMatch(/completed: All good\./);
  }, 300_000);
});

describe('what waits on a person', { timeout: 300_000 }, () => {
  it('`approvals` lists a waiting question, and approving a question id points to `baton reply`', async () => {
    const handle = await h.start(await loadBlueprint('goals/security-alert.yaml'), {});
    const q = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingQuestions[0];
    }, 'the question');
    expect(q.eligible).toContain('sam');
    const r = await baton(['approvals', handle.workflowId], as.sam);
    expect(r.stdout).not.toContain('nothing waits');
    expect(r.stdout).toContain(q.id);
    expect(r.stdout).toContain(`answer with: npx baton reply ${handle.workflowId} ${q.id} "..."`);
    const wrong = await baton(['approve', handle.workflowId, q.id], as.sam);
    expect(wrong.code).toBe(1);
    // (the in-process worker logs the refusal on the same stderr)
    expect(wrong.stderr).toContain(
      `baton: ${q.id} is a question from ${q.agent}, not an approval: answer it with npx baton reply ${handle.workflowId} ${q.id} "..."\n`,
    );
    await env.client.workflow.getHandle(handle.workflowId).terminate('test over');
  });

  it('a vote names the decider, and a vote short of the quorum says what is still needed', async () => {
    const yaml = (await readFile('goals/refund-request.yaml', 'utf8'))
      .replace('finance: [alice, bob, carol]', 'finance: [alice, bob]')
      .replace('onTimeout: reject', 'onTimeout: reject\n      quorum: 2');
    const two = blueprint(yaml);
    const handle = await h.start(two, {});
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingApprovals[0];
    }, 'the approval');
    const first = await baton(['approve', handle.workflowId, 'apr-1'], vars);
    expect(first.stdout.trim()).toBe(
      'alice approved apr-1: issue_refund {"customerId":"c-42","amount":120} has 1 of 2 approvals, still waiting on bob',
    );
    const second = await baton(['reject', handle.workflowId, 'apr-1', '--comment', 'no'], as.bob);
    expect(second.stdout.trim()).toBe(
      'bob rejected apr-1: issue_refund {"customerId":"c-42","amount":120} is rejected',
    );
    const status = await baton(['status', handle.workflowId], vars);
    expect(status.stdout).toContain('asked by agent billing');
    expect(status.stdout).toContain('alice approved, bob rejected ("no")');
    expect(status.stdout).not.toContain('rejectd');
  });
});

describe('audit --format md', { timeout: 300_000 }, () => {
  it('opens with a Mermaid sequence diagram of the goal', async () => {
    const handle = await h.start(await loadBlueprint('goals/refund-request.yaml'), { amount: 20 });
    await handle.result();
    const r = await baton(['audit', handle.workflowId, '--format', 'md'], vars);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`# Audit trail of goal \`${handle.workflowId}\``);
    expect(lines.slice(2, 4)).toEqual(['```mermaid', 'sequenceDiagram']);
    const diagram = r.stdout.slice(r.stdout.indexOf('```mermaid'), r.stdout.indexOf('```\n', 12));
    // The harness starts goals ad hoc, without a signed start: the starter's name is a claim, and says so.
    expect(diagram).toMatch(/actor P1 as test \(unverified\)/);
    expect(diagram).toMatch(/participant P\d as agent billing/);
    expect(diagram).toMatch(/participant P\d as model gpt-4o-mini/);
    expect(diagram).toMatch(/participant P\d as tool issue_refund/);
    expect(diagram).toMatch(/P\d->>P\d: \d\d:\d\d:\d\d .*issue_refund/);
    expect(diagram).toMatch(/P2-->>P1: \d\d:\d\d:\d\d completed: Refunded 20 USD/);
    expect(diagram).not.toMatch(/[;#{}]/);
  });
});
