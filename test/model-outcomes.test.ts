/**
 * What the goal loop does with each kind of model reply and model-call stoppage, against real Temporal servers and
 * the scripted model: a truncated reply never completes a goal; a refusal or a content-filter stop is recorded and
 * routed as the blueprint says (retry, fail, or ask a human); an exhausted quota pauses the goal where a human sees it and can
 * resume it; a 429 that lasts ten minutes is waited out (time-skipping server) as long as the model's retryFor
 * allows.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditGoal } from '../src/audit/index.js';
import { goalState } from '../src/client/goals.js';
import { signedDecide, signedReply } from './helpers/identity.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { modelCallsOf } from './helpers/model-calls.js';
import { startDevServer, startTimeSkippingServer } from './helpers/servers.js';

function goalYaml(name: string, model: string, extra = ''): string {
  return `
apiVersion: baton/v1
name: ${name}
models:
  default: ${model}
agents:
  writer: { role: executor, instructions: Answer briefly. }
entry: writer
approvers: { ops: [olga] }
budget: { maxSteps: 12, onExceeded: fail, approval: { approvers: [group:ops] } }
${extra}`;
}

/** A goal whose model puts refusals to a human: olga answers the writer's questions. */
function askingYaml(name: string, timeout: string): string {
  return `
apiVersion: baton/v1
name: ${name}
models:
  default: { model: small, onRefusal: ask }
agents:
  writer: { role: executor, instructions: Answer briefly., askHuman: { to: [group:ops]${timeout} } }
entry: writer
approvers: { ops: [olga] }
`;
}

async function waitFor(h: Harness, id: string, status: string) {
  return eventually(
    async () => {
      const s = await goalState(h.client, id);
      return s.status === status ? s : undefined;
    },
    `goal ${id} to be ${status}`,
    60_000,
  );
}

describe('replies the loop must not take as answers', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;

  beforeAll(async () => {
    env = await startDevServer();
    h = await createHarness(env);
  });
  afterAll(async () => {
    await h?.close();
    await env?.teardown();
  });

  it('never completes a goal with a truncated reply: the agent is told, and its next whole reply is the answer', async () => {
    const name = 'outcome-length';
    h.model.load({
      goal: name,
      replies: [
        { when: { turn: 1 }, content: 'Goal input: { "question":', finishReason: 'length' },
        { when: { turn: 2 }, content: 'Short answer.' },
      ],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small, maxTokens: 8 }')), {});
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('Short answer.');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.reply).toMatchObject({ finishReason: 'length', outcome: 'truncated' });
    expect(calls[0]?.request.settings.maxTokens).toBe(8);
    const told = calls[1]?.request.messages.at(-1);
    expect(told?.content).toMatch(/cut off at the token limit/);
    const state = await goalState(h.client, handle.workflowId);
    expect(state.refusals?.map((r) => r.kind)).toContain('truncated_reply');
  });

  it('fails the goal on a refusal when the model says onRefusal: fail, with the refusal in the reason', async () => {
    const name = 'outcome-refusal';
    h.model.load({ goal: name, replies: [{ content: '', refusal: "I can't help with that request." }] });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small, onRefusal: fail }')), {});
    const err = await handle.result().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    const state = await goalState(h.client, handle.workflowId);
    expect(state.status).toBe('failed');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.reply).toMatchObject({ outcome: 'refusal', refusal: "I can't help with that request." });
    expect(String((err as { cause?: Error }).cause?.message)).toMatch(/refused.*I can't help with that request/);
  });

  it("puts a refusal to the agent's askHuman people (onRefusal: ask), and the agent goes on with their answer", async () => {
    const name = 'outcome-refusal-ask';
    h.model.load({
      goal: name,
      replies: [
        { when: { turn: 1 }, content: '', refusal: "I can't discuss refunds." },
        { when: { turn: 2 }, content: 'Refund policy: 30 days, as ops said.' },
      ],
    });
    const handle = await h.start(blueprint(askingYaml(name, '')), {});
    const waiting = await waitFor(h, handle.workflowId, 'awaiting_reply');
    const q = waiting.pendingQuestions?.[0];
    expect(q).toMatchObject({ agent: 'writer', about: 'refusal', eligible: ['olga'] });
    expect(q?.question).toMatch(
      /^Agent writer could not go on at step 1: the model refused: I can't discuss refunds\./,
    );
    expect(waiting.refusals?.map((r) => r.kind)).toEqual(['refused_reply']);
    // Nothing more is asked of the model while the question waits.
    expect(h.model.requests.filter((r) => r.goal === name)).toHaveLength(1);
    await signedReply(h.client, handle.workflowId, {
      questionId: q?.id ?? '',
      answer: 'Refund questions are fine: our policy is 30 days.',
      by: 'olga',
    });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('Refund policy: 30 days, as ops said.');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.reply).toMatchObject({ outcome: 'refusal', refusal: "I can't discuss refunds." });
    const told = calls[1]?.request.messages.at(-1)?.content ?? '';
    expect(told).toMatch(/You declined to answer, so your reply was not taken as an answer/);
    expect(told).toMatch(
      /A person reviewed it: answer from olga to q-1: Refund questions are fine: our policy is 30 days\./,
    );
    // The history records the question as the engine's, about the refusal, and who answered it.
    const records = (await auditGoal(h.client, handle.workflowId)).records;
    const asked = records.find((r) => r.kind === 'question.asked');
    expect(asked?.data).toMatchObject({ questionId: 'q-1', agent: 'writer', about: 'refusal', eligible: ['olga'] });
    expect(asked?.summary).toMatch(/^q-1: writer's refusal put to olga: "Agent writer could not go on/);
    expect(records.find((r) => r.kind === 'question.reply')?.summary).toMatch(/olga/);
  });

  it('fails the goal when nobody answers the refusal question in time (onRefusal: ask)', async () => {
    const name = 'outcome-refusal-ask-timeout';
    h.model.load({
      goal: name,
      replies: [{ when: { turn: 1 }, content: 'partial', finishReason: 'content_filter' }],
    });
    const handle = await h.start(blueprint(askingYaml(name, ', timeout: 2s')), {});
    const err = await handle.result().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('ModelRefused');
    expect(cause.message).toMatch(/content filter .*nobody answered q-1 about it within 2s/);
    const state = await goalState(h.client, handle.workflowId);
    expect(state.status).toBe('failed');
    expect(state.questions?.[0]).toMatchObject({ about: 'refusal', status: 'timed_out' });
    expect(h.model.requests.filter((r) => r.goal === name)).toHaveLength(1);
  });

  it('tells the agent after a content-filter stop (onRefusal: retry, the default) and takes its next whole reply', async () => {
    const name = 'outcome-filter';
    h.model.load({
      goal: name,
      replies: [
        { when: { turn: 1 }, content: 'partial', finishReason: 'content_filter' },
        { when: { turn: 2 }, content: 'A policy-compliant answer.' },
      ],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small }')), {});
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.answer).toBe('A policy-compliant answer.');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.reply?.outcome).toBe('content_filter');
  });

  it('pauses on an exhausted quota where a human sees it, and resumes when they approve', async () => {
    const name = 'outcome-quota';
    h.model.load({
      goal: name,
      replies: [
        { fail: { status: 429, code: 'insufficient_quota', message: 'You exceeded your current quota.', times: 1 } },
        { content: 'Answered after the top-up.' },
      ],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small }')), {});
    const waiting = await waitFor(h, handle.workflowId, 'awaiting_approval');
    const approval = waiting.pendingApprovals[0];
    expect(approval?.tool).toBe('model');
    expect(approval?.reason).toMatch(/quota is used up \(429 insufficient_quota\)/);
    expect(h.model.requests.filter((r) => r.goal === name)).toHaveLength(1);
    await signedDecide(h.client, handle.workflowId, {
      approvalId: approval?.id ?? '',
      decision: 'approve',
      by: 'olga',
    });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls.map((c) => c.failure?.type ?? 'ok')).toEqual(['ModelInvocationError.QuotaExhausted', 'ok']);
  });
});

describe('rate limits that last', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;

  beforeAll(async () => {
    env = await startTimeSkippingServer();
    h = await createHarness(env);
  });
  afterAll(async () => {
    await h?.close();
    await env?.teardown();
  });

  it('waits out ten minutes of 429s, following retry-after, within the model retryFor', async () => {
    const name = 'outcome-429-long';
    h.model.load({
      goal: name,
      replies: [
        { fail: { status: 429, retryAfter: 60, message: 'rate limited', times: 10 } },
        { content: 'Done at last.' },
      ],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small, retryFor: 2h }')), {});
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.attempt).toBe(11);
  });
});
