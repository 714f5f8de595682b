/**
 * Baton against a real model: llama.cpp (llama-cpp-python's OpenAI-compatible server) with SmolLM2-135M, both from
 * PyPI. The assertions are about Baton, never about the model's wisdom: a tool call reaches the tool, an approval
 * gates it and the call after the decision is accepted, a truncated reply never completes a goal, a runaway reply
 * stops at the output cap, every call is in the audit with usage, and no goal is left stuck.
 * Run with `npm run test:real-model`; it installs what it needs into .tools/real-model/ first.
 */
import { signedDecide } from '../helpers/identity.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditGoal } from '../../src/audit/index.js';
import { goalState } from '../../src/client/goals.js';
import { blueprint, createHarness, eventually, type Harness } from '../helpers/harness.js';
import { modelCallsOf, type RecordedModelCall } from '../helpers/model-calls.js';
import { startDevServer } from '../helpers/servers.js';
import { installRealModel, startLlamaServer, type LlamaServer } from './llama-server.js';

const FINAL = ['completed', 'failed', 'cancelled'];

/** The model entry every goal uses: the local server by its own baseUrl (no key), with the output cap given. */
function model(maxTokens: number): string {
  return `{ model: local, baseUrl: '\${env:REAL_MODEL_URL}', maxTokens: ${maxTokens}, temperature: 0, timeout: 10m, retryFor: 30m }`;
}

const refundGoal = `
apiVersion: baton/v1
name: real-refund
input:
  type: object
  required: [customerId, amount]
  properties: { customerId: { type: string }, amount: { type: number } }
models:
  default: ${model(128)}
agents:
  billing:
    role: executor
    instructions: >-
      Refund the customer. First call lookup_customer with the customerId from the input. Then call issue_refund
      with that customerId and the amount from the input.
    tools: [lookup_customer, issue_refund]
entry: billing
tools:
  lookup_customer:
    type: http
    description: Fetch a customer by id
    method: GET
    url: '\${env:BATON_DEMO_API}/customers/{{customerId}}'
    sideEffect: none
    parameters: { type: object, required: [customerId], properties: { customerId: { type: string } } }
  issue_refund:
    type: http
    description: Refund an amount in USD to a customer
    method: POST
    url: '\${env:BATON_DEMO_API}/refunds'
    body: { customerId: '{{customerId}}', amount: '{{amount}}' }
    sideEffect: idempotent
    parameters:
      type: object
      required: [customerId, amount]
      properties: { customerId: { type: string }, amount: { type: number } }
    approval: { approvers: [alice] }
budget: { maxSteps: 8, onExceeded: fail }
limits: { repairs: 2 }
`;

const essayGoal = `
apiVersion: baton/v1
name: real-essay
models:
  default: ${model(24)}
agents:
  writer:
    role: executor
    instructions: Write a very long essay, at least two thousand words, about the history of the bicycle.
entry: writer
budget: { maxSteps: 6, onExceeded: fail }
limits: { repairs: 2 }
`;

describe('Baton on a real local model', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let server: LlamaServer;
  const started: string[] = [];

  beforeAll(async () => {
    const t0 = Date.now();
    const installed = installRealModel();
    console.log(`[real-model] install checked in ${Math.round((Date.now() - t0) / 1000)} s: ${installed.modelName}`);
    server = await startLlamaServer(installed);
    console.log(`[real-model] ${server.modelName} at ${server.baseURL}: ${server.tokensPerSecond} tokens/s`);
    env = await startDevServer();
    h = await createHarness(env, { extraEnv: { REAL_MODEL_URL: server.baseURL } });
  });
  afterAll(async () => {
    // No goal is left stuck: whatever a test left running is reported, then cancelled.
    for (const id of started) {
      const d = await h?.client.workflow
        .getHandle(id)
        .describe()
        .catch(() => undefined);
      if (d?.status.name === 'RUNNING') {
        console.log(`[real-model] goal ${id} still running at the end; cancelling it`);
        await h.client.workflow.getHandle(id).cancel();
      }
    }
    await h?.close();
    await env?.teardown();
    await server?.stop();
  });

  /** Every model call is in the audit, with usage. */
  async function expectAuditedWithUsage(goalId: string, calls: RecordedModelCall[]): Promise<void> {
    const audit = await auditGoal(h.client, goalId);
    const modelEntries = audit.entries.filter((e) => e.kind === 'model.call');
    const completed = calls.filter((c) => c.reply);
    expect(modelEntries.length).toBe(calls.length);
    expect(completed.length).toBeGreaterThan(0);
    for (const c of completed) {
      expect(c.reply?.usage.inputTokens).toBeGreaterThan(0);
      expect(c.reply?.usage.outputTokens).toBeGreaterThanOrEqual(0);
    }
    for (const e of modelEntries.filter((m) => m.data.tokens !== null)) {
      expect((e.data.tokens as { input: number }).input).toBeGreaterThan(0);
    }
  }

  it('runs a tool the model calls, gates the refund on approval, and accepts the call after the decision', async () => {
    const handle = await h.start(blueprint(refundGoal), { customerId: 'c-42', amount: 30 });
    started.push(handle.workflowId);
    // Wait for the goal to settle: an approval waiting, or the end.
    const settled = await eventually(
      async () => {
        const s = await goalState(h.client, handle.workflowId);
        return s.status === 'awaiting_approval' || FINAL.includes(s.status) ? s : undefined;
      },
      'the goal to wait for approval or end',
      600_000,
    );
    let calls = await modelCallsOf(h.client, handle.workflowId);
    const toolCalls = calls.flatMap((c) => c.reply?.toolCalls ?? []);
    console.log(
      `[real-model] refund goal: ${calls.length} model calls, tool calls: ${toolCalls.map((c) => `${c.name}${c.arguments}`).join(' ') || 'none'}; status ${settled.status}`,
    );
    // Every model call was accepted by the server: none failed as an invalid request (the null-content bug).
    for (const c of calls) expect(c.failure?.type ?? '').not.toBe('ModelInvocationError.InvalidRequest');
    expect(toolCalls.length).toBeGreaterThan(0);
    // A tool call reaches the tool: each one the model made got a tool activity with the model's arguments.
    const events = (await h.client.workflow.getHandle(handle.workflowId).fetchHistory()).events ?? [];
    const toolRuns = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool');
    const lookups = toolCalls.filter((c) => c.name === 'lookup_customer');
    if (lookups.length) expect(toolRuns.length).toBeGreaterThan(0);

    if (settled.status === 'awaiting_approval') {
      // The approval gates the refund: nothing is refunded while one waits. Every request is rejected (a weak model
      // asks again); the budget bounds how often.
      let state = settled;
      let rejected = 0;
      while (state.status === 'awaiting_approval') {
        expect(h.model.ledger.refunds.size).toBe(0);
        const pending = state.pendingApprovals[0];
        expect(pending?.tool).toBe('issue_refund');
        await signedDecide(h.client, handle.workflowId, {
          approvalId: pending?.id ?? '',
          decision: 'reject',
          by: 'alice',
          comment: 'real-model test',
        });
        rejected += 1;
        state = await eventually(
          async () => {
            const s = await goalState(h.client, handle.workflowId);
            return s.status === 'awaiting_approval' && s.pendingApprovals[0]?.id !== pending?.id
              ? s
              : FINAL.includes(s.status)
                ? s
                : undefined;
          },
          'the goal to ask again or end after the decision',
          600_000,
        );
      }
      console.log(`[real-model] refund goal: rejected ${rejected} refund requests; ended ${state.status}`);
      expect(h.model.ledger.refunds.size).toBe(0);
      calls = await modelCallsOf(h.client, handle.workflowId);
      // The calls after a decision carry the tool's answer (a transcript the server once refused) and are accepted.
      const after = calls.filter((c) => c.request.messages.some((m) => m.role === 'tool' && /not run/.test(m.content)));
      expect(after.length).toBeGreaterThan(0);
      for (const c of after) expect(c.failure?.type ?? '').not.toBe('ModelInvocationError.InvalidRequest');
      expect(after.some((c) => c.reply)).toBe(true);
    } else {
      console.log('[real-model] the model never asked for issue_refund: the approval gate was not exercised');
    }
    await expectAuditedWithUsage(handle.workflowId, calls);
  });

  it('stops a runaway reply at the output cap and never completes the goal with a truncated reply', async () => {
    const handle = await h.start(blueprint(essayGoal), {});
    started.push(handle.workflowId);
    const state = await eventually(
      async () => {
        const s = await goalState(h.client, handle.workflowId);
        return FINAL.includes(s.status) ? s : undefined;
      },
      'the essay goal to end',
      600_000,
    );
    const calls = await modelCallsOf(h.client, handle.workflowId);
    console.log(
      `[real-model] essay goal: ${calls.length} model calls, finish reasons ${calls.map((c) => c.reply?.finishReason).join(', ')}, outputs ${calls.map((c) => c.reply?.usage.outputTokens).join(', ')}; status ${state.status}`,
    );
    const first = calls[0]?.reply;
    expect(first?.finishReason).toBe('length');
    expect(first?.outcome).toBe('truncated');
    for (const c of calls) expect(c.reply?.usage.outputTokens ?? 0).toBeLessThanOrEqual(24);
    if (state.status === 'completed') {
      // Only a reply that stopped on its own may be the answer, never one cut at the cap.
      const answer = calls.at(-1)?.reply;
      expect(answer?.finishReason).toBe('stop');
    } else {
      expect(state.status).toBe('failed');
    }
    await expectAuditedWithUsage(handle.workflowId, calls);
  });
});
