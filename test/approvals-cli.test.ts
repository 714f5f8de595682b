/**
 * Approvals as people handle them, against a real dev server (as under `baton dev`): the inbox, `baton approve`
 * and plain `temporal workflow signal` deciding the same way, an unauthorised decider visible in `baton status`,
 * the Web UI's `BatonStatus="awaiting_approval"` filter, and an escalation that reaches a new approver's inbox.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goalState, pendingApprovals } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import type { GoalState } from '../src/workflows/definitions.js';
import { baton, temporal } from './helpers/cli.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { startTestGateway, trustingGateway, type TestGateway } from './helpers/gateway.js';
import { signDecision } from './helpers/identity.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let vars: Record<string, string>;
/** The CLI signed in as alice and as carol, through the real gateway and identity provider. */
let asAlice: Record<string, string>;
let asCarol: Record<string, string>;
const holder: { gw?: TestGateway } = {};
const dir = mkdtempSync(join(tmpdir(), 'baton-approvals-cli-'));
let strictFile: string;
let escalatingFile: string;

beforeAll(async () => {
  env = await startDevServer();
  const script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  h = await createHarness(env, { scripts: [script], trust: trustingGateway(holder) });
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue };
  holder.gw = await startTestGateway(env, h.taskQueue);
  asAlice = { ...vars, ...(await holder.gw.login('alice')) };
  asCarol = { ...vars, ...(await holder.gw.login('carol')) };
  // The example goal, with a leads group for escalation.
  const example = await readFile('goals/refund-request.yaml', 'utf8');
  const strict = example.replace(/finance: \[[^\]]*\]/, 'finance: [alice, bob]\n  leads: [carol]');
  expect(strict).not.toBe(example);
  strictFile = join(dir, 'strict.yaml');
  writeFileSync(strictFile, strict);
  escalatingFile = join(dir, 'escalating.yaml');
  writeFileSync(
    escalatingFile,
    strict.replace('      remind: 1d\n', '      remind: 1d\n      escalate: [{ after: 3s, to: [group:leads] }]\n'),
  );
});

afterAll(async () => {
  await holder.gw?.close();
  await h?.close();
  await env?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

async function start(file: string): Promise<string> {
  const started = await baton(['start', file, '--json'], vars);
  expect(started.code, started.stderr).toBe(0);
  return (JSON.parse(started.stdout) as { goalId: string }).goalId;
}

/** Waits until the goal is in `user`'s inbox, found through BatonApprovers as `baton approvals` finds it. */
async function waiting(goalId: string, user = 'alice') {
  return eventually(async () => {
    const list = await pendingApprovals(env.client, user);
    return list.some((a) => a.goalId === goalId) ? list : undefined;
  }, `${goalId} in ${user}'s inbox`);
}

async function completed(goalId: string): Promise<GoalState> {
  return eventually(async () => {
    const s = await goalState(env.client, goalId);
    return s.status === 'completed' ? s : undefined;
  }, `${goalId} to complete`);
}

function signal(goalId: string, payload: Record<string, string>) {
  return temporal([
    'workflow',
    'signal',
    '-w',
    goalId,
    '--name',
    'approval',
    '--input',
    JSON.stringify(payload),
    '--address',
    env.address,
  ]);
}

async function awaitingList(): Promise<string[]> {
  const r = await temporal([
    'workflow',
    'list',
    '--query',
    'BatonStatus="awaiting_approval"',
    '--address',
    env.address,
    '--output',
    'json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const rows = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as { execution: { workflowId: string } }[];
  return rows.map((w) => w.execution.workflowId);
}

describe('approvals from the command line', () => {
  it('decides the same through `temporal workflow signal` as through `baton approve`; an unauthorised by changes nothing', async () => {
    const viaCli = await start(strictFile);
    const viaSignal = await start(strictFile);
    await waiting(viaCli);
    await waiting(viaSignal);

    // The Web UI's filter finds both, and the inbox shows what is asked.
    await eventually(async () => {
      const ids = await awaitingList();
      return ids.includes(viaCli) && ids.includes(viaSignal) ? true : undefined;
    }, 'both goals under BatonStatus="awaiting_approval"');
    const table = await baton(['approvals'], asAlice);
    expect(table.stdout).toMatch(/^GOAL\s+APPROVAL\s+TOOL\s+ARGUMENTS\s+REASON\s+AGE\s+DEADLINE$/m);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${viaCli}\\s+apr-1\\s+issue_refund\\s+\\{"customerId":"c-42","amount":120\\}\\s+Customer c-42 .*\\s+\\d+s\\s+in 14d \\(`,
        'm',
      ),
    );

    const refused = await signal(viaSignal, { approvalId: 'apr-1', decision: 'approve', by: 'mallory' });
    expect(refused.code, refused.stderr).toBe(0); // a signal is always delivered; the goal judges it
    await eventually(async () => {
      const s = await goalState(env.client, viaSignal);
      return s.refusedDecisions.length ? s : undefined;
    }, 'the refused signal to be recorded');
    const shown = (await baton(['status', viaSignal], vars)).stdout;
    expect(shown).toMatch(/^status\s+awaiting_approval$/m);
    expect(shown).toMatch(
      /^refused\s+mallory → apr-1 \(signal, [^)]+\): no assertion: decide through `baton approve` after `baton login`/m,
    );
    expect((await goalState(env.client, viaSignal)).pendingApprovals[0]?.votes).toEqual([]);

    const approved = await baton(['approve', viaCli, 'apr-1', '--comment', 'order checked'], asAlice);
    expect(approved.code, approved.stderr).toBe(0);
    // Plain Temporal stays a valid transport for a signed decision.
    const signalled = await signal(
      viaSignal,
      await signDecision(env.client, viaSignal, {
        approvalId: 'apr-1',
        decision: 'approve',
        by: 'alice',
        comment: 'order checked',
      }),
    );
    expect(signalled.code, signalled.stderr).toBe(0);

    const [a, b] = await Promise.all([completed(viaCli), completed(viaSignal)]);
    // The same result, apart from how long each waited on its approver.
    expect({ ...b.result, humanWaitMs: 0 }).toEqual({ ...a.result, humanWaitMs: 0 });
    // The same record, apart from times and the channel each vote came through.
    const comparable = (s: GoalState) =>
      s.approvals.map((r) => ({
        id: r.id,
        tool: r.tool,
        args: r.args,
        status: r.status,
        eligible: r.eligible,
        votes: r.votes.map((v) => [v.by, v.decision, v.comment]),
      }));
    expect(comparable(b)).toEqual(comparable(a));
    expect(comparable(a)).toEqual([
      {
        id: 'apr-1',
        tool: 'issue_refund',
        args: { customerId: 'c-42', amount: 120 },
        status: 'approved',
        eligible: ['alice', 'bob'],
        votes: [['alice', 'approve', 'order checked']],
      },
    ]);
    expect(a.approvals[0]?.votes[0]?.via).toBe('update');
    expect(b.approvals[0]?.votes[0]?.via).toBe('signal');
    expect(a.refusedDecisions).toEqual([]);
    expect(b.refusedDecisions).toHaveLength(1);
    const ids = await awaitingList();
    expect(ids).not.toContain(viaCli);
    expect(ids).not.toContain(viaSignal);
  });

  it('puts an escalated approval in the new approver’s inbox, and they decide it', async () => {
    const goalId = await start(escalatingFile);
    const [opened] = (await waiting(goalId)).filter((a) => a.goalId === goalId);
    expect(opened?.eligible).toEqual(['alice', 'bob']);
    await waiting(goalId, 'carol'); // 3s after it opened, the leads group may act too
    const listed = await baton(['approvals', '--json'], asCarol);
    expect((JSON.parse(listed.stdout) as { goalId: string }[]).map((a) => a.goalId)).toContain(goalId);
    const shown = (await baton(['status', goalId], vars)).stdout;
    expect(shown).toMatch(/approvers alice, bob, carol/);
    expect(shown).toMatch(/^ {12}escalated to group:leads at \S+$/m);
    const record = (await goalState(env.client, goalId)).pendingApprovals[0]!;
    const escalation = record.events.find((e) => e.kind === 'escalation')!;
    expect(Date.parse(escalation.at) - Date.parse(record.openedAt)).toBeGreaterThanOrEqual(3000);
    const approved = await baton(['approve', goalId, 'apr-1'], asCarol);
    expect(approved.code, approved.stderr).toBe(0);
    expect((await completed(goalId)).approvals[0]?.votes[0]?.by).toBe('carol');
  });
});
