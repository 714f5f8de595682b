/**
 * Human waits stay under Temporal's history limits (issue 14). A 14-day approval with a reminder every 15 minutes and
 * a webhook for every event, on the time-skipping server: in one run its history would pass 10,240 events; the goal
 * continues as new while it waits, each run stays under the limits, reminders carry the approval by reference, and
 * the decision that comes on day 14 reaches the approval in the goal's latest run. Then, on a dev server that
 * suggests continue-as-new early: an approval and a question that open in a full run are taken up by the next run,
 * where the turn resumes at the same tool call.
 */
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BuiltinTool } from '../src/activities/index.js';
import { auditGoal } from '../src/audit/index.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { runsOf, type Run } from './helpers/history.js';
import { startDevServer, startTimeSkippingServer } from './helpers/servers.js';
import { setSigningClock, signedDecide, signedReply } from './helpers/identity.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook.js';

const MAX_EVENTS = 10_240;
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_PAYLOAD = 256 * 1024;
const MINUTE = 60_000;
const HOOK_KEY = 'whsec-bounded-waits';
/** The invoice the agent wants to pay, quoted in the call's arguments: 16 KiB that reminders must not repeat. */
const INVOICE_TEXT = 'line item: consulting hours, rate 120 USD; '.repeat(380);

const payments: { vendor: string; key: string }[] = [];
const payVendor: BuiltinTool = {
  description: 'Pay a vendor invoice',
  schema: z.object({ vendor: z.string(), amount: z.number().positive(), invoice: z.string() }),
  run(args: { vendor: string }, ctx) {
    payments.push({ vendor: args.vendor, key: ctx.idempotencyKey });
    return Promise.resolve(`paid ${args.vendor}`);
  },
};

function script(goal: string): ScriptInput {
  return {
    goal,
    replies: [
      {
        when: { after: 'user' },
        content: 'Paying the acme invoice.',
        toolCalls: [{ name: 'pay_vendor', arguments: { vendor: 'acme', amount: 500, invoice: INVOICE_TEXT } }],
      },
      { when: { after: 'tool', contains: 'paid acme' }, content: 'Paid acme.' },
    ],
  };
}

/** Every payload in a run's events with its size, found by walking the events (inputs, results, memo, ...). */
function payloadSizes(events: unknown): number[] {
  const sizes: number[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array || !v || typeof v !== 'object') return;
    const p = v as { metadata?: unknown; data?: unknown };
    if (p.data instanceof Uint8Array && p.metadata && typeof p.metadata === 'object') {
      sizes.push(p.data.length);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
  };
  walk(events);
  return sizes;
}

/** A run's size as Temporal stores it: its events encoded as the History protobuf. */
function encodedBytes(run: Run): number {
  return temporal.api.history.v1.History.encode({ events: run.events }).finish().length;
}

/** The BatonStatus values a run published, in order. */
function publishedStatuses(run: Run): string[] {
  return run.events.flatMap((e) => {
    const data = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.BatonStatus?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as string] : [];
  });
}

/** The `BatonStatus` a run started with: a continued run's are its predecessor's, carried over by the server. */
function startedStatus(run: Run): string[] {
  const data =
    run.events[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields?.BatonStatus?.data;
  return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as string] : [];
}

describe('a 14-day approval with 15-minute reminders (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let hook: WebhookReceiver;

  beforeAll(async () => {
    env = await startTimeSkippingServer();
    // Assertions are judged by workflow time, which this server moves 14 days ahead: sign by its clock.
    setSigningClock(() => env.currentTimeMs());
    hook = await startWebhookReceiver(HOOK_KEY);
    h = await createHarness(env, {
      scripts: [script('pay-slowly')],
      builtins: { pay_vendor: payVendor },
      extraEnv: { HOOK_URL: hook.url, HOOK_KEY },
    });
  });

  afterAll(async () => {
    await h?.close();
    await hook?.close();
    await env?.teardown();
  });

  it('continues as new while it waits, every run under the limits, and takes the decision on day 14', async () => {
    const loaded = blueprint(
      JSON.stringify({
        apiVersion: 'baton/v1',
        name: 'pay-slowly',
        models: { default: { model: 'test-model' } },
        agents: { payer: { role: 'executor', instructions: 'Pay the due invoices.', tools: ['pay_vendor'] } },
        entry: 'payer',
        tools: {
          pay_vendor: {
            type: 'builtin',
            sideEffect: 'idempotent',
            approval: { approvers: ['group:finance'], remind: '15m', timeout: '14d' },
          },
        },
        approvers: { finance: ['alice', 'bob'] },
        notifications: [{ type: 'webhook', url: '${env:HOOK_URL}', secret: '${secret:HOOK_KEY}' }],
      }),
    );
    const handle = await h.start(loaded, { invoice: 'INV-9' });
    const opened = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingApprovals[0];
    }, 'the approval to open');

    // Six hours before the deadline, still day 14: a 20-minute margin was not enough once at load 9 (the deadline's
    // timer fired before the decision landed), so the margin is many reminder cycles wide.
    await env.sleep(14 * 24 * 60 * MINUTE - 6 * 60 * MINUTE);
    const decided = await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'approve',
      by: 'alice',
    });
    expect(decided.status).toBe('approved');
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Paid acme.' });
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId))).toHaveLength(1);

    const expectedReminders = Math.floor(
      (Date.parse(decided.decidedAt!) - Date.parse(opened.openedAt)) / (15 * MINUTE),
    );
    expect(expectedReminders).toBeGreaterThan(1300);
    const reminders = await eventually(() => {
      const got = hook
        .accepted()
        .filter((d) => d.body.goal.id === handle.workflowId && d.event === 'approval.reminder');
      return got.length >= expectedReminders ? got : undefined;
    }, `${expectedReminders} reminders`);
    expect(reminders).toHaveLength(expectedReminders);

    // Reminders carry the approval by reference; the opening notice carried the call.
    const openedNotice = hook
      .accepted()
      .find((d) => d.body.goal.id === handle.workflowId && d.event === 'approval.opened');
    expect(openedNotice?.body.approval).toMatchObject({ id: 'apr-1', args: { invoice: INVOICE_TEXT } });
    for (const r of reminders) {
      expect(r.body.approval).toMatchObject({ id: 'apr-1', status: 'pending', byReference: true });
      expect(r.body.approval).not.toHaveProperty('args');
      expect(r.body.approval).not.toHaveProperty('events');
    }

    // The record lists its latest reminders and counts them all.
    const record = (await goalState(env.client, handle.workflowId)).approvals[0]!;
    expect(record.reminders).toBe(expectedReminders);
    expect(record.events.filter((e) => e.kind === 'reminder')).toHaveLength(10);

    const runs = await runsOf(env.client, handle.workflowId);
    const events = runs.map((r) => r.events.length);
    const bytes = runs.map(encodedBytes);
    const largest = Math.max(...runs.flatMap((r) => payloadSizes(r.events)));
    console.log(
      `14-day wait: ${runs.length} runs, events ${events.join('/')}, bytes ${bytes.join('/')}, ` +
        `largest payload ${largest} B, ${expectedReminders} reminders`,
    );
    // In one run, this wait would pass the event limit: the measure sees a history that needs several runs.
    expect(events.reduce((a, b) => a + b, 0)).toBeGreaterThan(MAX_EVENTS);
    expect(runs.length).toBeGreaterThan(2);
    for (const n of events) expect(n).toBeLessThan(MAX_EVENTS);
    for (const b of bytes) expect(b).toBeLessThan(MAX_BYTES);
    // The payload measure finds the call's arguments (over 16 KiB) in the first run; nothing comes near the limit.
    expect(Math.max(...payloadSizes(runs[0]!.events))).toBeGreaterThan(INVOICE_TEXT.length);
    expect(largest).toBeLessThan(MAX_PAYLOAD);
    // Continuing as new is no end: no run published `failed` on its way out.
    for (const run of runs) expect(publishedStatuses(run)).not.toContain('failed');
    // A later run shows the wait from its start: it starts with the status its predecessor published (and writes it
    // again only when it changes; goals recorded before Patch.startSearchAttributes wrote it again at once).
    expect(startedStatus(runs[1]!)).toEqual(['awaiting_approval']);
    expect(publishedStatuses(runs[1]!)).not.toContain('running');

    // The audit reads the whole wait across the runs: opened once, settled once, by alice.
    const audit = await auditGoal(env.client, handle.workflowId);
    const kinds = audit.entries.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'approval.requested')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'approval.decision')).toHaveLength(1);
    expect(audit.entries.find((e) => e.kind === 'approval.decision')?.actor).toContain('alice');
    expect(kinds.filter((k) => k === 'approval.reminder').length).toBe(expectedReminders);
  }, 900_000);
});

describe('a wait that opens in a full run (dev server suggesting continue-as-new early)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const looked: string[] = [];

  beforeAll(async () => {
    setSigningClock(() => Date.now());
    // Suggested after 12 events: fewer than a goal writes before its wait opens (about 18 since the patch baseline
    // removed a marker and an upsert per change), more than a run's start (a new run must not be full at once).
    env = await startDevServer({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 12 } });
    h = await createHarness(env, {
      scripts: [
        {
          goal: 'resume-approval',
          replies: [
            {
              when: { after: 'user' },
              content: 'Checking the vendor, then paying.',
              toolCalls: [
                { name: 'no_such_tool', arguments: {} },
                { name: 'lookup', arguments: { vendor: 'acme' } },
                { name: 'pay_vendor', arguments: { vendor: 'acme', amount: 500, invoice: 'INV-1' } },
              ],
            },
            { when: { after: 'tool', contains: 'paid acme' }, content: 'Paid acme.' },
          ],
        },
        {
          goal: 'resume-question',
          replies: [
            {
              when: { after: 'user' },
              toolCalls: [
                { name: 'lookup', arguments: { vendor: 'globex' } },
                { name: 'ask_human', arguments: { question: 'Pay globex now?' } },
              ],
            },
            { when: { after: 'tool', tool: 'ask_human' }, content: 'Asked and answered.' },
          ],
        },
      ],
      builtins: {
        pay_vendor: payVendor,
        lookup: {
          description: 'Look a vendor up',
          schema: z.object({ vendor: z.string() }),
          run(args: { vendor: string }, ctx) {
            looked.push(`${args.vendor} ${ctx.idempotencyKey}`);
            return Promise.resolve(`found ${args.vendor}`);
          },
        },
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    await env?.teardown();
  });

  function team(name: string): ReturnType<typeof blueprint> {
    return blueprint(
      JSON.stringify({
        apiVersion: 'baton/v1',
        name,
        models: { default: { model: 'test-model' } },
        agents: {
          payer: {
            role: 'user-facing',
            instructions: 'Pay the due invoices.',
            tools: ['lookup', 'pay_vendor', 'ask_human'],
            askHuman: { to: ['alice'], timeout: '1h' },
          },
        },
        entry: 'payer',
        tools: {
          lookup: { type: 'builtin', sideEffect: 'none' },
          pay_vendor: { type: 'builtin', sideEffect: 'idempotent', approval: { approvers: ['alice'] } },
        },
      }),
    );
  }

  /** The tool results the model was sent after the wait, in order. */
  function lastToolResults(goal: string): string[] {
    const body = h.model.requests.filter((r) => r.goal === goal).at(-1)?.body;
    const messages = (body?.messages ?? []) as { role: string; content: string }[];
    return messages.filter((m) => m.role === 'tool').map((m) => m.content);
  }

  it('takes an approval up in the next run and resumes the turn at the same call', async () => {
    const handle = await h.start(team('resume-approval'), {});
    const waiting = await eventually(async () => {
      const s = await goalState(h.client, handle.workflowId);
      return s.run > 1 && s.pendingApprovals.length === 1 ? s : undefined;
    }, 'the approval to wait in a later run');
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.approvals.map((a) => a.id)).toEqual(['apr-1']);
    await signedDecide(h.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Paid acme.' });
    // Each call ran once: the earlier ones in the first run, the approved one after the wait moved on.
    expect(looked.filter((l) => l.includes(handle.workflowId))).toHaveLength(1);
    expect(payments.filter((p) => p.key.startsWith(handle.workflowId))).toHaveLength(1);
    expect(lastToolResults('resume-approval')).toEqual([
      expect.stringContaining('there is no tool "no_such_tool"'),
      'found acme',
      'paid acme',
    ]);
    const audit = await auditGoal(h.client, handle.workflowId);
    expect(audit.entries.filter((e) => e.kind === 'approval.requested')).toHaveLength(1);
    expect(audit.entries.filter((e) => e.kind === 'approval.decision')).toHaveLength(1);
  });

  it('takes a question up in the next run, and the answer reaches the model', async () => {
    const handle = await h.start(team('resume-question'), {});
    await eventually(async () => {
      const s = await goalState(h.client, handle.workflowId);
      return s.run > 1 && s.pendingQuestions.length === 1 && s.status === 'awaiting_reply' ? s : undefined;
    }, 'the question to wait in a later run');
    const q = await signedReply(h.client, handle.workflowId, { questionId: 'q-1', answer: 'yes', by: 'alice' });
    expect(q.status).toBe('answered');
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Asked and answered.' });
    expect(looked.filter((l) => l.includes(handle.workflowId))).toHaveLength(1);
    expect(lastToolResults('resume-question')).toEqual(['found globex', 'answer from alice to q-1: yes']);
    const s = await goalState(h.client, handle.workflowId);
    expect(s.questions.map((x) => [x.id, x.status])).toEqual([['q-1', 'answered']]);
  });
});
