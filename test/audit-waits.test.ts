/**
 * What the audit derives from history and the workflow's own account of the same goal must agree. On the
 * time-skipping server: an approval that waits days (reminders, an escalation, the deadline), a quorum where a
 * repeated signal is refused, and a goal that runs out of budget. Each trail, built from history alone, is compared
 * with the goal's `state` query.
 */
import { readFile } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditGoal, type AuditRecord } from '../src/audit/index.js';
import { verifyJsonl } from '../src/audit/chain.js';
import { renderJsonl } from '../src/audit/format.js';
import { loadBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { approvalSignal } from '../src/workflows/definitions.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startTimeSkippingServer } from './helpers/servers.js';
import { setSigningClock, signDecision, signedDecide } from './helpers/identity.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let refund: LoadedBlueprint;

beforeAll(async () => {
  env = await startTimeSkippingServer();
  // Assertions are judged by workflow time, which this server moves days ahead.
  setSigningClock(() => env.currentTimeMs());
  const script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  h = await createHarness(env, { scripts: [script] });
  refund = await loadBlueprint('goals/refund-request.yaml');
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function variant(change: (bp: LoadedBlueprint['blueprint']) => void): LoadedBlueprint {
  const blueprint = structuredClone(refund.blueprint);
  change(blueprint);
  return { ...refund, blueprint };
}

function kinds(records: AuditRecord[], prefix: string): string[] {
  return records.filter((r) => r.kind.startsWith(prefix)).map((r) => r.kind);
}

const DAY = 86_400_000;

describe('audit of approval waits, quorum and budget', () => {
  it('derives reminders, the escalation and the timeout exactly as the workflow recorded them', async () => {
    const slow = variant((bp) => {
      bp.approvers = { finance: ['alice'], leads: ['carol'] };
      bp.tools.issue_refund!.approval = {
        ...bp.tools.issue_refund!.approval!,
        remind: '1d',
        escalate: [{ after: '3d', to: ['group:leads'] }],
        timeout: '5d',
        onTimeout: 'reject',
      };
    });
    const handle = await h.start(slow, { customerId: 'c-42', amount: 120 });
    const result = await handle.result();
    expect(result.answer).toContain('No refund was issued');
    const state = await goalState(env.client, handle.workflowId);
    const { records } = await auditGoal(env.client, handle.workflowId);

    // The workflow's own record of the wait, and the audit's, from history alone, in the same order.
    const recorded = state.approvals[0]!.events.map((e) => `approval.${e.kind}`);
    expect(recorded).toEqual([
      'approval.reminder',
      'approval.reminder',
      'approval.escalation',
      'approval.reminder',
      'approval.reminder',
      'approval.timeout',
    ]);
    const derived = records.filter((r) => /^approval\.(reminder|escalation|timeout)$/.test(r.kind));
    expect(derived.map((r) => r.kind)).toEqual(recorded);
    // Each timer's summary named the work due at its wake, and the audit's replay of the schedule agrees with it.
    expect(derived.map((r) => r.data.derived)).toEqual(recorded.map(() => 'as the timer summary states'));
    expect(derived[2]!.data.timerSummary).toMatch(/^apr-1 issue_refund: waiting until \S+ for escalation 1, reminder$/);
    const requested = records.find((r) => r.kind === 'approval.requested')!;
    const opened = Date.parse(requested.at);
    derived.forEach((r, i) => {
      const event = state.approvals[0]!.events[i]!;
      expect(Math.abs(Date.parse(r.at) - Date.parse(event.at))).toBeLessThan(1000);
      expect(Date.parse(r.at) - opened).toBeGreaterThan(DAY - 1000);
    });
    const escalation = derived.find((r) => r.kind === 'approval.escalation')!;
    expect(escalation.data).toMatchObject({ to: ['group:leads'], eligible: ['alice', 'carol'], after: '3d' });
    expect(derived.at(-1)!.data).toMatchObject({ onTimeout: 'reject', approvalId: 'apr-1' });
    const refundCall = records.find((r) => r.kind === 'tool.call' && r.data.tool === 'issue_refund')!;
    expect(refundCall.data).toMatchObject({ outcome: 'not_run', ranActivity: false, approvalId: 'apr-1' });
    expect(String(refundCall.data.told)).toContain('approval apr-1 timed out after 5d with no decision');
    expect(kinds(records, 'goal.')).toEqual(['goal.started', 'goal.finished']);
  });

  it("reports signalled votes with the workflow's verdict: a counted vote, a repeated one refused, the quorum met", async () => {
    const two = variant((bp) => {
      bp.approvers = { finance: ['alice', 'bob'] };
      bp.tools.issue_refund!.approval = { ...bp.tools.issue_refund!.approval!, quorum: 2 };
    });
    const handle = await h.start(two, { customerId: 'c-42', amount: 120 });
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.status === 'awaiting_approval' ? s : undefined;
    }, 'the approval to open');
    const id = handle.workflowId;
    const vote = (by: string, comment?: string) =>
      signDecision(env.client, id, { approvalId: 'apr-1', decision: 'approve', by, ...(comment ? { comment } : {}) });
    await handle.signal(approvalSignal, await vote('alice', 'fine'));
    await handle.signal(approvalSignal, await vote('alice'));
    await handle.signal(approvalSignal, await vote('mallory'));
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.refusedDecisions.length === 2 ? s : undefined;
    }, 'the refused signals to be recorded');
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'bob' });
    await handle.result();
    const state = await goalState(env.client, handle.workflowId);
    const { records } = await auditGoal(env.client, handle.workflowId);

    const decisions = records.filter((r) => r.kind === 'approval.decision');
    expect(decisions.map((r) => [r.actor, r.data.via, r.data.outcome, r.data.approvalStatus])).toEqual([
      ['user:alice', 'signal', 'accepted', 'pending'],
      ['unverified:alice', 'signal', 'refused', null],
      ['unverified:mallory', 'signal', 'refused', null],
      ['user:bob', 'update', 'accepted', 'approved'],
    ]);
    // The refusals the audit derived are the ones the workflow recorded, word for word.
    expect(decisions.filter((r) => r.data.outcome === 'refused').map((r) => r.data.refusal)).toEqual(
      state.refusedDecisions.map((r) => r.reason),
    );
    expect(decisions[0]!.summary).toContain('vote counted');
    expect(records.find((r) => r.kind === 'approval.requested')!.data).toMatchObject({ quorum: 2 });
  });

  it('records the budget running out, and the export verifies', async () => {
    const tight = variant((bp) => {
      bp.budget = { ...bp.budget, maxSteps: 2 };
    });
    const handle = await h.start(tight, { customerId: 'c-42', amount: 120 });
    await expect(handle.result()).rejects.toThrow();
    const { records, facts } = await auditGoal(env.client, handle.workflowId);
    expect(facts).toMatchObject({ status: 'failed', closed: true });
    const budget = records.find((r) => r.kind === 'budget.exceeded')!;
    expect(budget.data.reason).toMatch(/step budget of 2 used up/);
    expect(records.at(-2)).toMatchObject({
      kind: 'goal.finished',
      data: { status: 'failed', failureType: 'BudgetExceeded' },
    });
    expect(verifyJsonl(renderJsonl(records))).toMatchObject({ ok: true, records: records.length, complete: true });
  });
});
