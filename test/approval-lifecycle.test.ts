/**
 * Approvals that last days and weeks, on the time-skipping test server: reminders, escalation, quorum, timeouts,
 * refused decisions, a worker restart in the middle of a 30-day wait, and signed webhook notifications received by
 * a real HTTP server that checks their HMAC. Each takes seconds of real time.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BuiltinTool } from '../src/activities/index.js';
import type { LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState, pendingApprovals } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { approvalSignal, type GoalState } from '../src/workflows/definitions.js';
import type { goalWorkflow } from '../src/workflows/goal.js';
import { BatonApprovers, BatonStatus } from '../src/workflows/search-attributes.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { startTimeSkippingServer } from './helpers/servers.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook.js';
import { setSigningClock, signDecision, signedDecide } from './helpers/identity.js';

const DAY = 86_400_000;
const HOOK_KEY = 'whsec-test-key';

let env: TestWorkflowEnvironment;
let h: Harness;
let hook: WebhookReceiver;
const payments: { vendor: string; amount: number; key: string }[] = [];

const payVendor: BuiltinTool = {
  description: 'Pay a vendor invoice',
  schema: z.object({ vendor: z.string(), amount: z.number().positive() }),
  run(args: { vendor: string; amount: number }, ctx) {
    payments.push({ ...args, key: ctx.idempotencyKey });
    return Promise.resolve(`paid ${args.amount} USD to ${args.vendor}`);
  },
};

/** One payment; with `second`, the agent pays a second invoice after the first. */
function script(goal: string, second: boolean): ScriptInput {
  return {
    goal,
    replies: [
      {
        when: { agent: 'payer', after: 'user' },
        content: 'Invoice INV-7 from acme is due and matches the order; paying 500 USD.',
        toolCalls: [{ name: 'pay_vendor', arguments: { vendor: 'acme', amount: 500 } }],
      },
      {
        when: { agent: 'payer', after: 'tool', contains: 'not run' },
        content: 'No payment was made: the approval was not given. Finance should follow up with acme.',
      },
      ...(second
        ? [
            {
              when: { agent: 'payer', after: 'tool' as const, turn: 2 },
              content: 'Invoice INV-8 from globex is due too; paying 700 USD.',
              toolCalls: [{ name: 'pay_vendor', arguments: { vendor: 'globex', amount: 700 } }],
            },
          ]
        : []),
      { when: { agent: 'payer', after: 'tool' }, content: 'Paid the approved invoices.' },
    ],
  };
}

/** A blueprint whose `pay_vendor` tool has this approval policy; webhooks get every approval event. */
function goal(name: string, policy: Record<string, unknown>, notifications?: unknown[]): LoadedBlueprint {
  return blueprint(
    JSON.stringify({
      apiVersion: 'baton/v1',
      name,
      models: { default: { model: 'test-model' } },
      agents: { payer: { role: 'executor', instructions: 'Pay the due invoices.', tools: ['pay_vendor'] } },
      entry: 'payer',
      tools: { pay_vendor: { type: 'builtin', sideEffect: 'idempotent', approval: policy } },
      approvers: { finance: ['alice', 'bob', 'erin'], 'finance-leads': ['carol', 'dave'] },
      notifications: notifications ?? [{ type: 'webhook', url: '${env:HOOK_URL}', secret: '${secret:HOOK_KEY}' }],
    }),
  );
}

beforeAll(async () => {
  env = await startTimeSkippingServer();
  // Assertions are judged by workflow time, which this server moves days ahead: sign by its clock.
  setSigningClock(() => env.currentTimeMs());
  hook = await startWebhookReceiver(HOOK_KEY);
  h = await createHarness(env, {
    scripts: [
      script('pay-vendor', false),
      script('pay-vendors', true),
      script('pay-late', false),
      script('pay-cancel', false),
      script('pay-hooks', false),
    ],
    builtins: { pay_vendor: payVendor },
    extraEnv: { HOOK_URL: hook.url, HOOK_KEY, WRONG_KEY: 'not-the-receivers-key' },
  });
});

afterAll(async () => {
  await h?.close();
  await hook?.close();
  await env?.teardown();
});

type Handle = WorkflowHandle<typeof goalWorkflow>;

function state(handle: Handle): Promise<GoalState> {
  return goalState(env.client, handle.workflowId);
}

async function awaiting(handle: Handle, approvalId = 'apr-1'): Promise<GoalState> {
  return eventually(async () => {
    const s = await state(handle);
    return s.pendingApprovals.some((a) => a.id === approvalId) ? s : undefined;
  }, `${handle.workflowId} to wait on ${approvalId}`);
}

async function searchAttributes(handle: Handle) {
  const sa = (await handle.describe()).typedSearchAttributes;
  return { status: sa.get(BatonStatus), approvers: sa.get(BatonApprovers) };
}

/** Accepted webhook deliveries of one goal, in order. */
function deliveries(handle: Handle) {
  return hook.accepted().filter((d) => d.body.goal.id === handle.workflowId);
}

async function delivered(handle: Handle, count: number) {
  return eventually(() => {
    const list = deliveries(handle);
    return list.length >= count ? list : undefined;
  }, `${count} webhook deliveries for ${handle.workflowId}`);
}

/** Days between two instants, to the minute: a timer fires at its time or a few milliseconds after. */
function days(from: string, to: string): number {
  return Math.round(((Date.parse(to) - Date.parse(from)) / DAY) * 1440) / 1440;
}

describe('approvals over days and weeks (time-skipping server)', () => {
  it('waits 10 days with daily reminders, escalates on day 3, and the escalated group approves', async () => {
    const loaded = goal('pay-vendor', {
      approvers: ['group:finance'],
      remind: '1d',
      escalate: [{ after: '3d', to: ['group:finance-leads'] }],
      timeout: '14d',
    });
    const handle = await h.start(loaded, { invoice: 'INV-7' });
    const waiting = await awaiting(handle);
    const opened = waiting.pendingApprovals[0]!;
    expect(opened).toMatchObject({
      id: 'apr-1',
      tool: 'pay_vendor',
      args: { vendor: 'acme', amount: 500 },
      reason: expect.stringContaining('matches the order') as string,
      requestedBy: 'payer',
      eligible: ['alice', 'bob', 'erin'],
      status: 'pending',
    });
    expect(days(opened.openedAt, opened.deadline!)).toBe(14);
    expect(await searchAttributes(handle)).toEqual({
      status: 'awaiting_approval',
      approvers: ['alice', 'bob', 'erin', 'group:finance'],
    });
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'carol' }),
    ).rejects.toThrow('refused: carol (groups: finance-leads) may not decide apr-1; approvers now: group:finance');

    await env.sleep('3d');
    const escalated = (await state(handle)).pendingApprovals[0]!;
    expect(escalated.events.map((e) => e.kind)).toEqual(['reminder', 'reminder', 'escalation', 'reminder']);
    expect(escalated.events[2]).toMatchObject({ kind: 'escalation', to: ['group:finance-leads'] });
    expect(days(opened.openedAt, escalated.events[2]!.at)).toBe(3);
    expect(escalated.eligible).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(escalated.approvers).toEqual(['group:finance', 'group:finance-leads']);
    expect((await searchAttributes(handle)).approvers).toEqual([
      'alice',
      'bob',
      'carol',
      'dave',
      'erin',
      'group:finance',
      'group:finance-leads',
    ]);

    await env.sleep('7d');
    const tenDays = (await state(handle)).pendingApprovals[0]!;
    const reminders = tenDays.events.filter((e) => e.kind === 'reminder');
    expect(reminders.map((r) => days(opened.openedAt, r.at))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(reminders[9]!.to).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);

    const record = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'carol',
      comment: 'escalated to me; invoice checked',
    });
    expect(record).toMatchObject({ status: 'approved', votes: [{ by: 'carol', via: 'update' }] });
    expect(days(opened.openedAt, record.decidedAt!)).toBeGreaterThanOrEqual(10);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'Paid the approved invoices.' });
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId))).toHaveLength(1);
    expect(await searchAttributes(handle)).toEqual({ status: 'completed', approvers: [] });

    // Opened, ten reminders, the escalation and the decision, each signed and accepted once. Notices due at the
    // same moment travel independently, so they are compared by when they were due.
    const got = await delivered(handle, 13);
    const inOrder = got.toSorted((a, b) => a.body.at.localeCompare(b.body.at) || a.event.localeCompare(b.event));
    expect(inOrder.map((d) => [days(opened.openedAt, d.body.at), d.event])).toEqual([
      [0, 'approval.opened'],
      [1, 'approval.reminder'],
      [2, 'approval.reminder'],
      [3, 'approval.escalated'],
      [3, 'approval.reminder'],
      ...[4, 5, 6, 7, 8, 9, 10].map((d) => [d, 'approval.reminder']),
      [days(opened.openedAt, record.decidedAt!), 'approval.decided'],
    ]);
    expect(new Set(got.map((d) => d.delivery)).size).toBe(13);
    const byEvent = (event: string) => got.filter((d) => d.event === event);
    expect(byEvent('approval.opened')[0]!.body).toMatchObject({
      event: 'approval.opened',
      goal: { id: handle.workflowId, name: 'pay-vendor' },
      approval: { id: 'apr-1', tool: 'pay_vendor', args: { vendor: 'acme', amount: 500 } },
      to: ['alice', 'bob', 'erin'],
    });
    expect(byEvent('approval.escalated')[0]!.body).toMatchObject({
      escalatedTo: ['carol', 'dave'],
      to: ['alice', 'bob', 'carol', 'dave', 'erin'],
    });
    expect(byEvent('approval.decided')[0]!.body).toMatchObject({
      outcome: 'approved',
      to: [],
      approval: { votes: [{ by: 'carol', comment: 'escalated to me; invoice checked' }] },
    });
  });

  it('times out on day 14 and the agent is told, so it takes another path', async () => {
    const loaded = goal('pay-late', { approvers: ['group:finance'], timeout: '14d', onTimeout: 'reject' });
    const handle = await h.start(loaded, {});
    await awaiting(handle);
    const result = await handle.result(); // time skips to the deadline
    expect(result).toMatchObject({
      status: 'completed',
      answer: expect.stringContaining('No payment was made') as string,
      approvals: [{ id: 'apr-1', status: 'timed_out', by: [] }],
    });
    const s = await state(handle);
    const record = s.approvals[0]!;
    expect(days(record.openedAt, record.decidedAt!)).toBe(14);
    expect(record.events).toEqual([
      { kind: 'timeout', at: record.decidedAt, to: ['alice', 'bob', 'erin'], detail: 'no decision: rejected' },
    ]);
    const told = h.model.requests.filter((r) => r.goal === 'pay-late').at(-1);
    expect(told?.facts.lastContent).toBe(
      'not run: approval apr-1 timed out after 14d with no decision, so it counts as rejected. Choose another path or report this.',
    );
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId))).toEqual([]);
    const got = await delivered(handle, 2);
    expect(got.map((d) => [d.event, d.body.outcome])).toEqual([
      ['approval.opened', undefined],
      ['approval.decided', 'timed_out'],
    ]);
  });

  it('ends the goal as cancelled, with the reason, when the policy says onTimeout: cancel', async () => {
    const loaded = goal('pay-cancel', { approvers: ['group:finance'], timeout: '14d', onTimeout: 'cancel' });
    const handle = await h.start(loaded, {});
    await awaiting(handle);
    const result = await handle.result();
    const reason =
      'approval apr-1 for pay_vendor timed out after 14d with no decision; its policy (onTimeout: cancel) ends the goal';
    expect(result).toMatchObject({ status: 'cancelled', reason, approvals: [{ status: 'timed_out' }] });
    const s = await state(handle);
    expect(s.status).toBe('cancelled');
    expect(s.result).toMatchObject({ status: 'cancelled', reason });
    expect(s.approvals[0]!.events[0]).toMatchObject({ kind: 'timeout', detail: 'no decision: the goal is cancelled' });
    expect(await searchAttributes(handle)).toEqual({ status: 'cancelled', approvers: [] });
    // The goal ended by its own rules: Temporal shows the run completed, with the cancelled result.
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId))).toEqual([]);
    expect((await delivered(handle, 2)).at(-1)?.body.outcome).toBe('timed_out');
  });

  it('closes a waiting approval when the goal is cancelled, and says so to the webhook', async () => {
    const handle = await h.start(goal('pay-vendor', { approvers: ['group:finance'], remind: '1d' }), {});
    await awaiting(handle);
    await env.sleep('2d');
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow(/cancelled/i);
    const s = await state(handle);
    expect(s).toMatchObject({ status: 'cancelled', result: { status: 'cancelled', reason: 'the goal was cancelled' } });
    expect(s.approvals[0]).toMatchObject({ status: 'cancelled', decidedAt: expect.any(String) as string });
    expect(s.pendingApprovals).toEqual([]);
    expect(await searchAttributes(handle)).toEqual({ status: 'cancelled', approvers: [] });
    const got = await delivered(handle, 4);
    expect(got.map((d) => d.event).sort()).toEqual([
      'approval.decided',
      'approval.opened',
      'approval.reminder',
      'approval.reminder',
    ]);
    expect(got.find((d) => d.event === 'approval.decided')?.body.outcome).toBe('cancelled');
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' }),
    ).rejects.toThrow(/has already finished \(cancelled\); nothing to decide/);
  });

  it('needs two distinct approvers for a quorum of two, and refuses a repeated vote', async () => {
    const loaded = goal('pay-vendors', { approvers: ['group:finance'], quorum: 2 });
    const handle = await h.start(loaded, {});
    await awaiting(handle);

    const first = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
    });
    expect(first).toMatchObject({ status: 'pending', quorum: 2, votes: [{ by: 'alice', decision: 'approve' }] });
    // Alice has acted: the inbox and BatonApprovers now wait on the others only.
    expect(await pendingApprovals(env.client, 'alice', handle.workflowId)).toEqual([]);
    expect((await pendingApprovals(env.client, 'bob', handle.workflowId)).map((a) => a.id)).toEqual(['apr-1']);
    expect((await searchAttributes(handle)).approvers).toEqual(['bob', 'erin', 'group:finance']);

    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' }),
    ).rejects.toThrow('refused: alice has already voted on apr-1; a quorum counts distinct people');
    await handle.signal(
      approvalSignal,
      await signDecision(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' }),
    );
    const afterSignal = await eventually(async () => {
      const s = await state(handle);
      return s.refusedDecisions.length ? s : undefined;
    }, 'the repeated signal vote to be recorded');
    expect(afterSignal.refusedDecisions).toEqual([
      {
        approvalId: 'apr-1',
        by: 'alice',
        decision: 'approve',
        reason: 'alice has already voted on apr-1; a quorum counts distinct people',
        code: 'already_voted',
        at: expect.any(String) as string,
        via: 'signal',
      },
    ]);
    expect(afterSignal.pendingApprovals[0]!.votes).toHaveLength(1);

    const second = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'bob',
    });
    expect(second).toMatchObject({ status: 'approved', votes: [{ by: 'alice' }, { by: 'bob' }] });

    // The agent pays a second invoice, which waits on apr-2; the first approval is settled for good.
    await awaiting(handle, 'apr-2');
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'reject', by: 'erin' }),
    ).rejects.toThrow('refused: approval apr-1 is already approved');
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-2', decision: 'approve', by: 'erin' });
    await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-2',
      decision: 'reject',
      by: 'bob',
      comment: 'globex is on hold',
    });
    const result = await handle.result();
    expect(result.approvals).toEqual([
      { id: 'apr-1', tool: 'pay_vendor', status: 'approved', by: ['alice', 'bob'], comments: [] },
      { id: 'apr-2', tool: 'pay_vendor', status: 'rejected', by: ['erin', 'bob'], comments: ['globex is on hold'] },
    ]);
    const told = h.model.requests.filter((r) => r.goal === 'pay-vendors').at(-1);
    expect(told?.facts.lastContent).toBe(
      'not run: approval apr-2 was rejected by bob: globex is on hold. Choose another path or report this.',
    );
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId)).map((p) => p.vendor)).toEqual(['acme']);
  });

  it('refuses an unauthorised approver through the update, and records but ignores one through the signal', async () => {
    const loaded = goal('pay-vendor', { approvers: ['group:finance'] });
    const handle = await h.start(loaded, {});
    await awaiting(handle);
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'mallory' }),
    ).rejects.toThrow('refused: mallory (groups: none) may not decide apr-1; approvers now: group:finance');
    await expect(
      signedDecide(env.client, handle.workflowId, { approvalId: 'apr-7', decision: 'approve', by: 'alice' }),
    ).rejects.toThrow('refused: no approval "apr-7" in this goal; open approvals: apr-1');
    // A refused update leaves no trace in the goal (Temporal does not record it); the signal does.
    expect((await state(handle)).refusedDecisions).toEqual([]);

    await handle.signal(
      approvalSignal,
      await signDecision(env.client, handle.workflowId, {
        approvalId: 'apr-1',
        decision: 'approve',
        by: 'mallory',
        comment: 'ok',
      }),
    );
    const s = await eventually(async () => {
      const st = await state(handle);
      return st.refusedDecisions.length ? st : undefined;
    }, 'the unauthorised signal to be recorded');
    expect(s.refusedDecisions[0]).toMatchObject({
      by: 'mallory',
      via: 'signal',
      reason: 'mallory (groups: none) may not decide apr-1; approvers now: group:finance',
      code: 'not_an_approver',
    });
    expect(s.status).toBe('awaiting_approval');
    expect(s.pendingApprovals[0]!.votes).toEqual([]);
    expect(await searchAttributes(handle)).toEqual({
      status: 'awaiting_approval',
      approvers: ['alice', 'bob', 'erin', 'group:finance'],
    });

    await handle.signal(
      approvalSignal,
      await signDecision(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'bob' }),
    );
    expect(await handle.result()).toMatchObject({ status: 'completed', approvals: [{ by: ['bob'] }] });
  });

  it('waits 30 days and survives a worker restart in the middle', async () => {
    // The test server never moves a goal off a stopped worker's sticky queue (a real server does within seconds), so
    // these workers keep no sticky cache: each workflow task, the first after the restart included, replays history.
    await h.stopWorker();
    await h.startWorker({ maxCachedWorkflows: 0 });
    const loaded = goal('pay-vendor', { approvers: ['group:finance'], remind: '7d', timeout: '45d' });
    const handle = await h.start(loaded, {});
    const opened = (await awaiting(handle)).pendingApprovals[0]!;
    await env.sleep('15d');
    const before = (await state(handle)).pendingApprovals[0]!;
    expect(before.events.map((e) => days(opened.openedAt, e.at))).toEqual([7, 14]);
    await h.stopWorker();
    await h.startWorker({ maxCachedWorkflows: 0 });
    await env.sleep('15d');
    const record = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'erin',
      comment: 'back from leave',
    });
    expect(record.events.map((e) => days(opened.openedAt, e.at))).toEqual([7, 14, 21, 28]);
    expect(days(opened.openedAt, record.decidedAt!)).toBeGreaterThanOrEqual(30);
    expect(await handle.result()).toMatchObject({ status: 'completed', approvals: [{ status: 'approved' }] });
    // Nothing was sent twice across the restart.
    const got = (await delivered(handle, 6)).toSorted((a, b) => a.body.at.localeCompare(b.body.at));
    expect(got.map((d) => [days(opened.openedAt, d.body.at), d.event])).toEqual([
      [0, 'approval.opened'],
      ...[7, 14, 21, 28].map((d) => [d, 'approval.reminder']),
      [days(opened.openedAt, record.decidedAt!), 'approval.decided'],
    ]);
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId))).toHaveLength(1);
    await h.stopWorker();
    await h.startWorker();
  });

  it('never loses or blocks an approval when its webhooks fail; the failures are recorded', async () => {
    const loaded = goal('pay-hooks', { approvers: ['group:finance'] }, [
      { type: 'webhook', url: '${env:HOOK_URL}', secret: '${secret:WRONG_KEY}' },
      { type: 'webhook', url: '${env:HOOK_URL}', secret: '${secret:NOT_SET}', events: ['approval.decided'] },
    ]);
    const handle = await h.start(loaded, {});
    await awaiting(handle);
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
    expect(await handle.result()).toMatchObject({ status: 'completed', approvals: [{ status: 'approved' }] });
    const record = (await state(handle)).approvals[0]!;
    const failures = record.events.filter((e) => e.kind === 'notification_failed').map((e) => e.detail);
    expect(failures).toHaveLength(3);
    expect(failures).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^approval\.opened: notifications\[0\] \(webhook\): POST \$\{env:HOOK_URL\} answered 401;/,
        ),
        expect.stringMatching(
          /^approval\.decided: notifications\[0\] \(webhook\): POST \$\{env:HOOK_URL\} answered 401;/,
        ),
        expect.stringMatching(
          /^approval\.decided: notifications\[1\] \(webhook\) needs secret NOT_SET, which this worker does not map: add NOT_SET to BATON_SECRETS/,
        ),
      ]),
    );
    // The receiver refused both signed with the wrong key and accepted nothing.
    expect(hook.received.filter((d) => d.body.goal.id === handle.workflowId).map((d) => d.status)).toEqual([401, 401]);
    expect(deliveries(handle)).toEqual([]);
  });

  it('goes on while a webhook is down, and records the failure once its retries run out', async () => {
    hook.answer(503);
    try {
      const handle = await h.start(goal('pay-hooks', { approvers: ['group:finance'] }), {});
      await awaiting(handle);
      await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
      // The approved payment runs while the notices are still being retried.
      await eventually(
        () => (payments.some((p) => p.key.startsWith(handle.workflowId)) ? true : undefined),
        'the approved payment',
      );
      expect(await handle.result()).toMatchObject({ status: 'completed', approvals: [{ status: 'approved' }] });
      const failures = (await state(handle)).approvals[0]!.events.filter((e) => e.kind === 'notification_failed');
      expect(failures.map((e) => e.detail)).toEqual([
        'approval.opened: notifications[0] (webhook): POST ${env:HOOK_URL} answered 503 (gave up when its retry time ran out)',
        'approval.decided: notifications[0] (webhook): POST ${env:HOOK_URL} answered 503 (gave up when its retry time ran out)',
      ]);
      expect(hook.received.filter((d) => d.body.goal.id === handle.workflowId).length).toBeGreaterThan(2);
    } finally {
      hook.answer(undefined);
    }
  });

  it('retries a webhook that is down and delivers once it is back', async () => {
    hook.answer(503);
    const loaded = goal('pay-hooks', { approvers: ['group:finance'] });
    const handle = await h.start(loaded, {});
    await awaiting(handle);
    await eventually(
      () => (hook.received.some((d) => d.body.goal.id === handle.workflowId && d.status === 503) ? true : undefined),
      'a first failed delivery',
    );
    hook.answer(undefined);
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'bob' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    const opened = hook.received.filter((d) => d.body.goal.id === handle.workflowId && d.event === 'approval.opened');
    expect(opened.map((d) => d.status)).toContain(503);
    expect(opened.at(-1)?.status).toBe(204);
    expect(new Set(opened.map((d) => d.delivery)).size).toBe(1); // one delivery id across retries
    // The decision did not wait for the opening notice: each went out on its own, and both arrived.
    expect(
      deliveries(handle)
        .map((d) => d.event)
        .sort(),
    ).toEqual(['approval.decided', 'approval.opened']);
    expect((await state(handle)).approvals[0]!.events).toEqual([]);
  });
});
