/**
 * Model-call failures that say what happened, against the real dev server and the scripted model: the endpoint's
 * whole error body (capped) in the goal's failure, status and history; an invalid request, even one a server
 * reports as a 500 validation error, not retried; an exhausted quota typed as such and not retried.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_BODY_CAP } from '../src/activities/model/errors.js';
import { goalState } from '../src/client/goals.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { batonInProcess } from './helpers/in-process.js';
import { modelCallsOf } from './helpers/model-calls.js';
import { startDevServer } from './helpers/servers.js';

function goalYaml(name: string): string {
  return `
apiVersion: baton/v1
name: ${name}
models:
  default: { model: small }
agents:
  billing: { role: executor, instructions: Answer. }
entry: billing
`;
}

/** llama-cpp-python's answer to a request its validation rejects: a 500 with the reasons on later lines. */
const validationBody = {
  error: {
    message:
      '7 validation errors:\n' +
      "  {'type': 'string_type', 'loc': ('body', 'messages', 1, 'content'), 'msg': 'Input should be a valid string'}\n" +
      "  {'type': 'missing', 'loc': ('body', 'messages', 1, 'tool_call_id'), 'msg': 'Field required'}",
    type: 'internal_server_error',
  },
};

describe('model failures that say what happened', () => {
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

  async function failing(name: string, fail: Record<string, unknown>) {
    h.model.load({ goal: name, replies: [{ fail: { times: 100, ...fail } as never }] });
    const handle = await h.start(blueprint(goalYaml(name)), {});
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const calls = await modelCallsOf(h.client, handle.workflowId);
    const state = await goalState(h.client, handle.workflowId);
    return { err, calls, state, seen: h.model.requests.filter((r) => r.goal === name) };
  }

  it('does not retry a 500 validation error, and keeps every line of the body', async () => {
    const { err, calls, state, seen } = await failing('fail-validation', { status: 500, body: validationBody });
    expect(seen).toHaveLength(1);
    expect(calls[0]?.attempt).toBe(1);
    expect(calls[0]?.failure).toMatchObject({ type: 'ModelInvocationError.InvalidRequest', nonRetryable: true });
    for (const text of [err.cause?.message, calls[0]?.failure?.message]) {
      expect(text).toMatch(/rejected the request as invalid \(500\), so it is not retried: 7 validation errors:/);
      expect(text).toContain("'msg': 'Field required'");
    }
    expect(state.status).toBe('failed');
  });

  it('does not retry a 400 invalid request; caps a huge error body and says how much was left out', async () => {
    const { calls, seen, state } = await failing('fail-huge', {
      status: 400,
      message: 'x'.repeat(ERROR_BODY_CAP + 1000),
    });
    expect(seen).toHaveLength(1);
    expect(calls[0]?.attempt).toBe(1);
    expect(calls[0]?.failure).toMatchObject({ type: 'ModelInvocationError.InvalidRequest', nonRetryable: true });
    expect(state.result?.reason).toMatch(/rejected the request as invalid \(400\)/);
    const message = calls[0]?.failure?.message ?? '';
    expect(message).toMatch(/x… \(\d+ more characters\)/);
    expect(message.length).toBeLessThan(ERROR_BODY_CAP + 400);
  });

  it('types an exhausted quota and does not retry it', async () => {
    const { err, calls, seen } = await failing('fail-quota', {
      status: 429,
      code: 'insufficient_quota',
      message: 'You exceeded your current quota, please check your plan and billing details.',
    });
    expect(seen).toHaveLength(1);
    expect(calls[0]?.failure).toMatchObject({ type: 'ModelInvocationError.QuotaExhausted', nonRetryable: true });
    expect(err.cause?.message).toMatch(/quota is used up \(429 insufficient_quota\): You exceeded your current quota/);
    expect(err.cause?.message).toMatch(/Add credit or raise the limit/);
  });

  it('shows a retrying call with its whole last error in baton status, and the next attempt', async () => {
    const name = 'fail-503-status';
    const body = { error: { message: 'upstream overloaded:\n  shard 3 of 4 is draining', type: 'server_error' } };
    h.model.load({
      goal: name,
      replies: [{ fail: { status: 503, retryAfter: 5, body, times: 2 } }, { content: 'Done.' }],
    });
    const handle = await h.start(blueprint(goalYaml(name)), {});
    const vars = { TEMPORAL_ADDRESS: h.env.address, NO_COLOR: '1' };
    const json = await eventually(
      async () => {
        const r = await batonInProcess(['status', handle.workflowId, '--json'], vars);
        const state = JSON.parse(r.stdout) as { retrying: { activityId: string; lastError: string }[] };
        return state.retrying.length ? state.retrying : undefined;
      },
      'baton status to show the call retrying',
      60_000,
    );
    expect(json[0]?.activityId).toBe('model-1');
    expect(json[0]?.lastError).toMatch(/upstream overloaded:\n {2}shard 3 of 4 is draining/);
    const text = (await batonInProcess(['status', handle.workflowId], vars)).stdout;
    expect(text).toMatch(
      /retrying {2}model call model-1 is retrying \(attempt \d+, (next attempt in \d+s|attempt running now)\); last error: .*upstream overloaded: shard 3 of 4 is draining/,
    );
    expect((await handle.result()).status).toBe('completed');
  });

  it('follows retry-after on a 429 and then completes', async () => {
    const name = 'fail-429';
    h.model.load({
      goal: name,
      replies: [{ fail: { status: 429, retryAfter: 2, message: 'slow down', times: 2 } }, { content: 'Done.' }],
    });
    const handle = await h.start(blueprint(goalYaml(name)), {});
    expect((await handle.result()).status).toBe('completed');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.attempt).toBe(3);
    const seen = h.model.requests.filter((r) => r.goal === name);
    expect(seen.map((r) => r.answered)).toEqual(['fail', 'fail', 'reply']);
    // Each retry waited the 2 s the endpoint asked for, not the 1 s the retry policy starts with.
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
    expect((seen[2]?.at ?? 0) - (seen[1]?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
  });
});
