/**
 * What the goal loop does with each kind of model reply and model-call stoppage, against real Temporal servers and
 * the scripted model: a truncated reply never completes a goal; a refusal or a content-filter stop is recorded and
 * routed as the blueprint says (retry, or fail); an exhausted quota pauses the goal where a human sees it and can
 * resume it; a 429 that lasts ten minutes is waited out (time-skipping server) as long as the model's retryFor
 * allows.
 */
import { signedDecide } from './helpers/identity.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goalState } from '../src/client/goals.js';
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
