/**
 * The three example blueprints end to end, as `baton dev` runs them: a real dev server, the real openai SDK pointed
 * at the scripted model, the demo back office, and humans deciding through the CLI's client code.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import { loadScript } from '../src/scripted-model/script.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { eventsOf, messagesReceived, modelRequests, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';
import { signedDecide, signedReply } from './helpers/identity.js';

let env: TestWorkflowEnvironment;
let h: Harness;
const goals: Record<string, LoadedBlueprint> = {};

beforeAll(async () => {
  env = await startDevServer();
  const names = ['support-triage', 'security-alert', 'infra-provisioning'];
  const scripts = await Promise.all(names.map((n) => loadScript(`goals/scripts/${n}.script.yaml`)));
  h = await createHarness(env, { scripts });
  for (const n of names) goals[n] = await loadBlueprint(`goals/${n}.yaml`);
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function waitFor(goalId: string, status: string) {
  return eventually(async () => {
    const s = await goalState(env.client, goalId);
    return s.status === status ? s : undefined;
  }, `goal ${goalId} to be ${status}`);
}

describe('support-ticket triage', () => {
  it('hands a duplicate charge to billing, whose refund above 50 USD waits for a support lead', async () => {
    const handle = await h.start(goals['support-triage']!, { ticketId: 'T-1001' });
    const waiting = await waitFor(handle.workflowId, 'awaiting_approval');
    expect(waiting.agent).toBe('billing');
    expect(waiting.handoffs).toEqual([
      expect.objectContaining({
        from: 'triage',
        to: 'billing',
        note: expect.stringContaining('charged twice') as string,
      }),
    ]);
    expect(waiting.memory).toEqual([
      expect.objectContaining({
        key: 'ticket.summary',
        agent: 'triage',
        value: expect.stringContaining('T-1001') as string,
      }),
    ]);
    expect(waiting.pendingApprovals[0]).toMatchObject({
      tool: 'issue_refund',
      args: { amount: 80 },
      requestedBy: 'billing',
    });
    expect(h.model.ledger.refunds.size).toBe(0);

    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'carol' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answeredBy: 'billing' });
    expect(result.answer).toContain('Refunded the duplicate charge of 80 USD');
    expect([...h.model.ledger.refunds.values()]).toEqual([{ refundId: 'r-1', customerId: 'c-42', amount: 80 }]);

    const events = await eventsOf(env.client, handle.workflowId);
    const requests = modelRequests(events);
    expect(requests.map((r) => r.agent)).toEqual(['triage', 'triage', 'billing', 'billing', 'billing']);
    // Billing was offered only its own tools; the handoff note opened its turn.
    expect(requests[2]?.tools).toEqual(['lookup_customer', 'issue_refund', 'memory_read']);
    expect(requests[2]?.messages.at(-1)?.content).toMatch(/^\[handoff from triage to billing\] Customer c-42/);
    expect(
      scheduledActivities(events)
        .filter((a) => a.type === 'runTool')
        .map((a) => a.input.tool),
    ).toEqual(['get_ticket', 'lookup_customer', 'issue_refund']);
  });

  it('hands a login problem to technical support, with no approval needed', async () => {
    const handle = await h.start(goals['support-triage']!, { ticketId: 'T-1002' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answeredBy: 'technical', approvals: [] });
    expect(result.answer).toContain('kb-12');
    const state = await goalState(env.client, handle.workflowId);
    expect(state.handoffs.map((x) => `${x.from}->${x.to}`)).toEqual(['triage->technical']);
  });
});

describe('security-alert analysis', () => {
  it('is sent back once by the validator, escalated to a human analyst who answers, and accepted', async () => {
    const handle = await h.start(goals['security-alert']!, { alertId: 'A-7' });
    const asking = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingQuestions.length ? s : undefined;
    }, 'the analyst desk to ask a human');
    expect(asking.status).toBe('awaiting_reply');
    expect(asking.agent).toBe('analyst-desk');
    expect(asking.pendingQuestions[0]).toMatchObject({ id: 'q-1', agent: 'analyst-desk', eligible: ['sam'] });
    expect(asking.validation.verdicts).toEqual([
      expect.objectContaining({ verdict: 'rejected', by: 'reviewer', answerBy: 'researcher' }),
    ]);
    expect(asking.memory[0]).toMatchObject({ key: 'alert.evidence', agent: 'researcher' });
    expect(asking.handoffs.map((x) => `${x.from}->${x.to}`)).toEqual(['reviewer->analyst-desk']);

    const answered = await signedReply(env.client, handle.workflowId, {
      questionId: 'q-1',
      answer: 'No, that is not expected. Treat it as an intrusion.',
      by: 'sam',
    });
    expect(answered).toMatchObject({ status: 'answered', by: 'sam', via: 'update' });

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answeredBy: 'analyst-desk', validatedBy: 'reviewer' });
    expect(result.answer).toContain('INC-1');
    expect([...h.model.ledger.incidents.values()][0]).toMatchObject({ alertId: 'A-7', severity: 'high' });

    const state = await goalState(env.client, handle.workflowId);
    expect(state.validation.verdicts.map((v) => v.verdict)).toEqual(['rejected', 'accepted']);
    const events = await eventsOf(env.client, handle.workflowId);
    expect(messagesReceived(events)).toEqual(['update:reply']);
    const requests = modelRequests(events);
    expect(requests.map((r) => r.agent)).toEqual([
      'researcher',
      'researcher',
      'researcher',
      'researcher',
      'reviewer',
      'researcher',
      'researcher',
      'reviewer',
      'analyst-desk',
      'analyst-desk',
      'analyst-desk',
      'reviewer',
    ]);
    // The feedback went back to the researcher, and the human's answer reached the analyst desk, as recorded.
    expect(requests[5]?.messages.at(-1)?.content).toContain('[validator reviewer rejected your answer] The process');
    expect(requests[9]?.messages.at(-1)?.content).toContain('answer from sam to q-1: No, that is not expected');
  });
});

describe('infrastructure provisioning', () => {
  it('plans, delegates two component plans in parallel, and applies only after two approvers', async () => {
    const handle = await h.start(goals['infra-provisioning']!, { environment: 'staging' });
    const waiting = await waitFor(handle.workflowId, 'awaiting_approval');
    expect(waiting.plan?.steps.map((s) => s.status)).toEqual(['done', 'done', 'in_progress']);
    expect(waiting.plan?.revision).toBe(2);
    expect(waiting.tasks).toEqual([
      expect.objectContaining({
        id: 't-1',
        agent: 'executor',
        status: 'completed',
        answer: expect.stringContaining('plan-staging-network') as string,
      }),
      expect.objectContaining({
        id: 't-2',
        agent: 'executor',
        status: 'completed',
        answer: expect.stringContaining('plan-staging-database') as string,
      }),
    ]);
    expect(waiting.memory.map((m) => [m.key, m.task])).toEqual([
      ['plans.network', 't-1'],
      ['plans.database', 't-2'],
    ]);
    const approval = waiting.pendingApprovals[0]!;
    expect(approval).toMatchObject({ tool: 'infra_apply', quorum: 2, eligible: ['alice', 'bob', 'carol'] });

    const first = await signedDecide(env.client, handle.workflowId, {
      approvalId: approval.id,
      decision: 'approve',
      by: 'alice',
    });
    expect(first.status).toBe('pending');
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: approval.id, decision: 'approve', by: 'alice' }),
    ).rejects.toThrow(/alice has already voted/);
    expect(h.model.ledger.applies.size).toBe(0);
    const second = await signedDecide(env.client, handle.workflowId, {
      approvalId: approval.id,
      decision: 'approve',
      by: 'bob',
    });
    expect(second.status).toBe('approved');

    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answeredBy: 'executor' });
    expect(result.approvals[0]).toMatchObject({ tool: 'infra_apply', status: 'approved', by: ['alice', 'bob'] });
    expect([...h.model.ledger.applies.values()]).toEqual([
      { applyId: 'a-1', planIds: ['plan-staging-network', 'plan-staging-database'] },
    ]);

    // Each sub-task ran as its own child workflow with its own history and only the executor's tools.
    for (const t of waiting.tasks) {
      const child = await goalState(env.client, t.workflowId);
      expect(child).toMatchObject({
        status: 'completed',
        agent: 'executor',
        parent: { goalId: handle.workflowId, taskId: t.id },
      });
      expect(child.budget.limits.maxSteps).toBe(t.budget.maxSteps);
      const childTools = scheduledActivities(await eventsOf(env.client, t.workflowId)).filter(
        (a) => a.type === 'runTool',
      );
      expect(childTools.map((a) => a.input.tool)).toEqual(['infra_plan']);
    }
    const parentTools = scheduledActivities(await eventsOf(env.client, handle.workflowId)).filter(
      (a) => a.type === 'runTool',
    );
    expect(parentTools.map((a) => a.input.tool)).toEqual(['infra_apply']);
  });
});
