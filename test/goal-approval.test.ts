/**
 * The first goal end to end against a real Temporal dev server and the real openai SDK (pointed at the scripted
 * model): model call → tool call → approval wait → decision → completion, through the CLI's client code.
 */
import { readFile } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState, pendingApprovals } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { approvalSignal } from '../src/workflows/definitions.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';
import { signDecision, signedDecide } from './helpers/identity.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let refund: LoadedBlueprint;

beforeAll(async () => {
  env = await startDevServer();
  const script = parse(await readFile('goals/scripts/refund-request.script.yaml', 'utf8')) as ScriptInput;
  h = await createHarness(env, { scripts: [script] });
  refund = await loadBlueprint('goals/refund-request.yaml');
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

async function waitForApproval(goalId: string) {
  return eventually(async () => {
    const s = await goalState(env.client, goalId);
    return s.status === 'awaiting_approval' ? s : undefined;
  }, `goal ${goalId} to await approval`);
}

async function historyEvents(goalId: string) {
  const history = await env.client.workflow.getHandle(goalId).fetchHistory();
  return history.events ?? [];
}

describe('refund-request, the first goal', () => {
  it('waits for approval, is approved through the decide update, and completes', async () => {
    const handle = await h.start(refund, { customerId: 'c-42', amount: 120 });
    const waiting = await waitForApproval(handle.workflowId);
    expect(waiting.pendingApprovals).toHaveLength(1);
    const approval = waiting.pendingApprovals[0]!;
    expect(approval).toMatchObject({ id: 'apr-1', tool: 'issue_refund', args: { customerId: 'c-42', amount: 120 } });
    expect(approval.reason).toContain('full refund');

    // Visible through the BatonApprovers search attribute, as `baton approvals` finds it.
    const inbox = await eventually(async () => {
      const list = await pendingApprovals(env.client, 'alice');
      return list.some((a) => a.goalId === handle.workflowId) ? list : undefined;
    }, 'the approval in the inbox');
    expect(inbox.find((a) => a.goalId === handle.workflowId)?.tool).toBe('issue_refund');

    const record = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
      comment: 'order checked',
    });
    expect(record.status).toBe('approved');

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.answer).toContain('Refunded 120 USD');
    expect(result.approvals).toEqual([
      { id: 'apr-1', tool: 'issue_refund', status: 'approved', by: ['alice'], comments: ['order checked'] },
    ]);
    expect(h.model.ledger.refunds.size).toBeGreaterThanOrEqual(1);

    const events = await historyEvents(handle.workflowId);
    const activityTypes = events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
    );
    // The operator's trust is recorded at the start; the decision came within its refreshSeconds (60 s by default),
    // so it was judged without reading it again (test/attacks.test.ts reads it before every act).
    expect(activityTypes).toEqual(['loadTrust', 'callModel', 'runTool', 'callModel', 'runTool', 'callModel']);
    const update = events.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(update?.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name).toBe('decide');
    const state = await goalState(env.client, handle.workflowId);
    expect(state.status).toBe('completed');
    expect(state.usage.inputTokens).toBeGreaterThan(0);
    expect(state.usage.costUsd).toBeGreaterThan(0);
  });

  it('ends with the rejection recorded in its result and history, and the refund never runs', async () => {
    const before = h.model.ledger.refunds.size;
    const handle = await h.start(refund, { customerId: 'c-42', amount: 120 });
    await waitForApproval(handle.workflowId);
    const record = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'reject',
      by: 'bob',
      comment: 'outside the refund window',
    });
    expect(record.status).toBe('rejected');
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.answer).toContain('No refund was issued');
    expect(result.approvals[0]).toMatchObject({
      status: 'rejected',
      by: ['bob'],
      comments: ['outside the refund window'],
    });
    expect(h.model.ledger.refunds.size).toBe(before);

    const events = await historyEvents(handle.workflowId);
    const tools = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool');
    expect(tools).toHaveLength(1); // the lookup; the refund was never scheduled
    // The model was told about the rejection, with the approver and the comment, in its next request.
    const lastModelRequest = h.model.requests.filter((r) => r.goal === 'refund-request').at(-1);
    expect(lastModelRequest?.facts.lastContent).toContain('rejected by bob: outside the refund window');
  });

  it('takes the same decision through the plain approval signal', async () => {
    const handle = await h.start(refund, { customerId: 'c-42', amount: 120 });
    await waitForApproval(handle.workflowId);
    const signed = await signDecision(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'bob',
    });
    await handle.signal(approvalSignal, signed);
    const result = await handle.result();
    expect(result.approvals[0]).toMatchObject({ status: 'approved', by: ['bob'] });
    const state = await goalState(env.client, handle.workflowId);
    expect(state.approvals[0]?.votes[0]).toMatchObject({ by: 'bob', via: 'signal', identity: { verified: true } });
  });

  it('refuses invalid decisions: the update with a reason, the signal recorded and ignored', async () => {
    const strict = {
      ...refund,
      blueprint: { ...refund.blueprint, approvers: { finance: ['alice', 'bob'] } },
    };
    const handle = await h.start(strict, { customerId: 'c-42', amount: 120 });
    await waitForApproval(handle.workflowId);
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'mallory' }),
    ).rejects.toThrow(/mallory \(groups: none\) may not decide apr-1; approvers now: group:finance/);
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-9', decision: 'approve', by: 'alice' }),
    ).rejects.toThrow(/no approval "apr-9" in this goal; open approvals: apr-1/);
    await handle.signal(approvalSignal, { approvalId: 'apr-1', decision: 'approve', by: 'mallory' });
    const state = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.refusedDecisions.length ? s : undefined;
    }, 'the refused signal to be recorded');
    expect(state.status).toBe('awaiting_approval');
    // A name in the payload is only a claim: without a signed assertion the signal changes nothing.
    expect(state.refusedDecisions[0]).toMatchObject({
      by: 'mallory',
      via: 'signal',
      approvalId: 'apr-1',
      code: 'missing',
    });
    expect(state.pendingApprovals[0]?.votes).toEqual([]);
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
    expect((await handle.result()).status).toBe('completed');
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'bob' }),
    ).rejects.toThrow(/has already finished/);
  });

  it('loses nothing when the worker restarts while the goal waits', async () => {
    const handle = await h.start(refund, { customerId: 'c-42', amount: 120 });
    await waitForApproval(handle.workflowId);
    const signed = await signDecision(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
      comment: 'after restart',
    });
    await h.stopWorker();
    // With no worker, the decision is still accepted by the server as a signal and waits in history.
    await handle.signal(approvalSignal, signed);
    await h.startWorker();
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', approvals: [{ status: 'approved', by: ['alice'] }] });
  });

  it('fails with the input schema named when the goal input is wrong', async () => {
    await expect(h.start(refund, { customerId: 42 })).rejects.toThrow(/customerId: Invalid input: expected string/);
  });

  it('fails loudly when the scripted model has no reply, naming the agent and the request', async () => {
    const unscripted = { ...refund, blueprint: { ...refund.blueprint, name: 'unscripted-goal' } };
    const handle = await h.start(unscripted, {});
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err as WorkflowFailedError).cause?.message)).toMatch(
      /model call for agent billing at step 1 failed: .*400.*no script for goal "unscripted-goal"/,
    );
    expect((await goalState(env.client, handle.workflowId)).status).toBe('failed');
  });
});
