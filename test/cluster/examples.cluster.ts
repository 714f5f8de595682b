/**
 * Every example goal in goals/ end to end on the production-like cluster (PostgreSQL persistence and advanced
 * visibility, split server services, four history shards), run by a `baton worker` process against the scripted
 * model; and `baton list` / `baton approvals` answering from PostgreSQL visibility while the goals wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint, type LoadedBlueprint } from '../../src/blueprint/load.js';
import { goalState, replyToQuestion } from '../../src/client/goals.js';
import { loadScript } from '../../src/scripted-model/script.js';
import type { GoalState } from '../../src/workflows/definitions.js';
import { baton } from '../helpers/cli.js';
import { eventually } from '../helpers/harness.js';
import { approve, goalReaches, openWorld, type World } from './helpers/world.js';

const names = ['refund-request', 'support-triage', 'security-alert', 'infra-provisioning'];
const goals: Record<string, LoadedBlueprint> = {};
let w: World;

beforeAll(async () => {
  const scripts = await Promise.all(names.map((n) => loadScript(`goals/${n}.script.yaml`)));
  w = await openWorld({ scripts });
  for (const n of names) goals[n] = await loadBlueprint(`goals/${n}.yaml`);
  await w.worker();
});

afterAll(async () => {
  await w?.close();
});

/** Someone the blueprint lets decide the goal's first pending approval (the demo's '*' lets anyone: alice). */
function decider(state: GoalState): string {
  const eligible = state.pendingApprovals[0]!.eligible[0]!;
  return eligible === '*' ? 'alice' : eligible;
}

/** `baton ARGS --json` against the cluster, as BATON_USER=user. */
async function batonJson<T>(args: string[], user = 'alice'): Promise<T> {
  const r = await baton([...args, '--json'], { ...w.env, BATON_USER: user });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('the example goals on the cluster', () => {
  it('runs all four to completion, with their approvals, question and side effects, and lists them by status', async () => {
    const refund = await w.start(goals['refund-request']!, { customerId: 'c-42', amount: 120 });
    const triage = await w.start(goals['support-triage']!, { ticketId: 'T-1001' });
    const login = await w.start(goals['support-triage']!, { ticketId: 'T-1002' });
    const alert = await w.start(goals['security-alert']!, { alertId: 'A-7' });
    const infra = await w.start(goals['infra-provisioning']!, { environment: 'staging' });

    const waitingRefund = await goalReaches(w.client, refund.workflowId, 'awaiting_approval');
    const waitingTriage = await goalReaches(w.client, triage.workflowId, 'awaiting_approval');
    const waitingInfra = await goalReaches(w.client, infra.workflowId, 'awaiting_approval');
    const asking = await eventually(
      async () => {
        const s = await goalState(w.client, alert.workflowId);
        return s.pendingQuestions.length ? s : undefined;
      },
      'the security analyst desk to ask a human',
      300_000,
    );
    await expect(login.result()).resolves.toMatchObject({ status: 'completed', answeredBy: 'technical' });

    // PostgreSQL visibility answers the CLI's filters: BatonStatus, and BatonApprovers for the inbox.
    const parked = [refund.workflowId, triage.workflowId, infra.workflowId];
    const listed = await eventually(async () => {
      const rows = await batonJson<{ id: string; status: string }[]>(['list', '--status', 'awaiting_approval']);
      const ids = rows.map((r) => r.id);
      return parked.every((id) => ids.includes(id)) ? rows : undefined;
    }, 'baton list --status awaiting_approval to show the parked goals');
    expect(listed.every((r) => r.status === 'awaiting_approval')).toBe(true);
    expect(listed.map((r) => r.id)).not.toContain(login.workflowId);
    await eventually(async () => {
      const rows = await batonJson<{ id: string }[]>(['list', '--status', 'completed']);
      return rows.some((r) => r.id === login.workflowId) ? true : undefined;
    }, 'baton list --status completed to show the finished triage');
    // Each approval is in the inbox of someone its blueprint names (BatonApprovers), and not in an outsider's.
    const waiting = [waitingRefund, waitingTriage, waitingInfra];
    for (const [i, goalId] of parked.entries()) {
      const who = decider(waiting[i]!);
      const inbox = await eventually(async () => {
        const list = await batonJson<{ goalId: string; id: string; tool: string }[]>(['approvals'], who);
        return list.some((a) => a.goalId === goalId) ? list : undefined;
      }, `${who}'s inbox to list ${goalId}`);
      expect(inbox.find((a) => a.goalId === goalId)?.tool).toBe(waiting[i]!.pendingApprovals[0]!.tool);
    }
    const outsidersInbox = await batonJson<{ goalId: string }[]>(['approvals'], 'dave');
    expect(outsidersInbox.map((a) => a.goalId)).not.toContain(infra.workflowId);

    expect(w.model.ledger.refunds.size).toBe(0);
    expect(w.model.ledger.applies.size).toBe(0);
    await approve(w.client, refund.workflowId, 'apr-1', decider(waitingRefund));
    await approve(w.client, triage.workflowId, 'apr-1', decider(waitingTriage));
    const applyApproval = waitingInfra.pendingApprovals[0]!;
    const [first, second] = applyApproval.eligible;
    await approve(w.client, infra.workflowId, applyApproval.id, first!);
    await approve(w.client, infra.workflowId, applyApproval.id, second!);
    await replyToQuestion(w.client, alert.workflowId, {
      questionId: asking.pendingQuestions[0]!.id,
      answer: 'No, that is not expected. Treat it as an intrusion.',
      by: 'sam',
    });

    await expect(refund.result()).resolves.toMatchObject({ status: 'completed', answeredBy: 'billing' });
    await expect(triage.result()).resolves.toMatchObject({ status: 'completed', answeredBy: 'billing' });
    await expect(alert.result()).resolves.toMatchObject({ status: 'completed', validatedBy: 'reviewer' });
    const applied = await infra.result();
    expect(applied.status).toBe('completed');
    expect(applied.approvals[0]).toMatchObject({ tool: 'infra_apply', status: 'approved', by: [first, second] });

    expect([...w.model.ledger.refunds.values()].map((r) => r.amount).sort((a, b) => a - b)).toEqual([80, 120]);
    expect([...w.model.ledger.applies.values()]).toEqual([
      { applyId: 'a-1', planIds: ['plan-staging-network', 'plan-staging-database'] },
    ]);
    expect([...w.model.ledger.incidents.values()][0]).toMatchObject({ alertId: 'A-7', severity: 'high' });
    await eventually(async () => {
      const rows = await batonJson<{ id: string }[]>(['list', '--status', 'awaiting_approval']);
      return rows.some((r) => parked.includes(r.id)) ? undefined : true;
    }, 'the decided goals to leave baton list --status awaiting_approval');
  });
});
