/**
 * Budgets against a real dev server: steps, tokens, cost and working time are counted in the workflow; `fail` ends
 * the goal with a clear reason, `ask` opens an approval (tool `budget`) whose approval raises the limits.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { goalState } from '../src/client/goals.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { eventsOf, messagesReceived, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';
import { signedDecide } from './helpers/identity.js';

let env: TestWorkflowEnvironment;
let h: Harness;

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    builtins: {
      work: {
        description: 'Do some work for a while',
        schema: z.strictObject({ ms: z.int().nonnegative().default(0) }),
        async run({ ms }: { ms: number }) {
          await new Promise((r) => setTimeout(r, ms));
          return `worked ${ms}ms`;
        },
      },
    },
  });
  // One script for every goal here: work until told otherwise; usage is fixed so tokens and cost are exact.
  for (const goal of ['steps', 'tokens', 'cost', 'duration', 'ask', 'ask-reject']) {
    h.model.load({
      goal,
      replies: [
        {
          when: { agent: 'solo', after: 'user' },
          toolCalls: [{ name: 'work', arguments: { ms: goal === 'duration' ? 1200 : 0 } }],
          usage: { input: 1000, output: 500 },
        },
        {
          when: { agent: 'solo', tool: 'work', turn: 2 },
          toolCalls: [{ name: 'work' }],
          usage: { input: 1000, output: 500 },
        },
        { when: { agent: 'solo', tool: 'work' }, content: 'All work done.', usage: { input: 1000, output: 500 } },
      ],
    });
  }
});

beforeAll(() => {
  h.model.load({
    goal: 'patient',
    replies: [
      { when: { agent: 'solo', after: 'user' }, toolCalls: [{ name: 'guarded', arguments: { ms: 0 } }] },
      { when: { agent: 'solo', tool: 'guarded' }, content: 'Done after the approval.' },
    ],
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function solo(name: string, budget: string) {
  return blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: m, price: { input: 2, output: 10 } } }
agents:
  solo: { role: executor, instructions: Work., tools: [work, guarded] }
entry: solo
tools:
  work: { type: builtin, sideEffect: idempotent }
  guarded: { type: builtin, function: work, sideEffect: unsafe, approval: { approvers: [carol] } }
approvers: { budget-owners: [carol, dan] }
budget: ${budget}
`);
}

async function failure(name: string, budget: string) {
  const handle = await h.start(solo(name, budget));
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const state = await goalState(env.client, handle.workflowId);
  const events = await eventsOf(env.client, handle.workflowId);
  const failed = events.at(-1)?.workflowExecutionFailedEventAttributes?.failure;
  expect(failed?.applicationFailureInfo?.type).toBe('BudgetExceeded');
  expect(state.result?.reason).toBe(failed?.message);
  return { reason: String((err as WorkflowFailedError).cause?.message), state, events };
}

describe('budgets', () => {
  it('fails when the steps are used up, before the next step runs', async () => {
    const { reason, state, events } = await failure('steps', '{ maxSteps: 3 }');
    expect(reason).toBe('step budget of 3 used up (3 steps) at step 3 (agent solo); raise the budget in the blueprint');
    expect(state).toMatchObject({ status: 'failed', step: 3, budget: { used: { steps: 3 } } });
    expect(scheduledActivities(events).map((a) => a.type)).toEqual(['callModel', 'runTool', 'callModel']);
  });

  it('fails when the tokens are used up', async () => {
    const { reason, state } = await failure('tokens', '{ maxSteps: 40, maxTokens: 2000 }');
    expect(reason).toBe(
      'token budget of 2000 used up (3000 tokens) at step 3 (agent solo); raise the budget in the blueprint',
    );
    expect(state.usage).toMatchObject({ inputTokens: 2000, outputTokens: 1000 });
  });

  it('fails when the cost is used up, priced from the blueprint', async () => {
    // Each call: 1000 tokens in at $2/M + 500 out at $10/M = $0.007.
    const { reason, state } = await failure('cost', '{ maxSteps: 40, maxCostUsd: 0.01 }');
    expect(reason).toBe(
      'cost budget of $0.01 used up ($0.0140) at step 3 (agent solo); raise the budget in the blueprint',
    );
    expect(state.usage.costUsd).toBeCloseTo(0.014, 10);
  });

  it('fails when the working time is used up, measured in workflow time', async () => {
    const { reason, state } = await failure('duration', '{ maxSteps: 40, maxDuration: 1s }');
    expect(reason).toMatch(/^time budget of 1s used up \(1\.\d+s working\) at step 2 \(agent solo\); raise the budget/);
    expect(state.budget.used.durationMs).toBeGreaterThanOrEqual(1000);
  });

  it('does not count time spent waiting on a human against the working time', async () => {
    const handle = await h.start(solo('patient', '{ maxSteps: 40, maxDuration: 3s }'));
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingApprovals.length ? s : undefined;
    }, 'the approval');
    await new Promise((r) => setTimeout(r, 3500));
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'carol' });
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Done after the approval.' });
    const state = await goalState(env.client, handle.workflowId);
    const approval = state.approvals[0]!;
    expect(Date.parse(approval.decidedAt!) - Date.parse(approval.openedAt)).toBeGreaterThanOrEqual(3500);
    expect(state.budget.used.durationMs).toBeLessThan(3000);
  });

  it('asks to extend with onExceeded: ask; an approval raises the limits and the goal completes', async () => {
    const handle = await h.start(
      solo('ask', '{ maxSteps: 3, onExceeded: ask, approval: { approvers: [group:budget-owners], quorum: 1 } }'),
    );
    const waiting = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingApprovals.length ? s : undefined;
    }, 'the budget approval');
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.pendingApprovals[0]).toMatchObject({
      id: 'apr-1',
      tool: 'budget',
      eligible: ['carol', 'dan'],
      args: { exceeded: ['steps'], limits: { maxSteps: 3 }, extendTo: { maxSteps: 6 } },
      reason: 'step budget of 3 used up (3 steps) at step 3 (agent solo); approve to extend the budget',
    });
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'dan' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'All work done.', steps: 5 });
    const state = await goalState(env.client, handle.workflowId);
    expect(state.budget.limits.maxSteps).toBe(6);
    expect(state.budget.extensions).toEqual([
      expect.objectContaining({ approvalId: 'apr-1', exceeded: ['steps'], limits: { maxSteps: 6 } }),
    ]);
    const events = await eventsOf(env.client, handle.workflowId);
    expect(messagesReceived(events)).toEqual(['update:decide']);
    expect(scheduledActivities(events).map((a) => a.type)).toEqual([
      'callModel',
      'runTool',
      'callModel',
      'runTool',
      'callModel',
    ]);
  });

  it('fails with the refusal named when the extension is rejected', async () => {
    const handle = await h.start(
      solo('ask-reject', '{ maxSteps: 3, onExceeded: ask, approval: { approvers: [carol] } }'),
    );
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingApprovals.length ? s : undefined;
    }, 'the budget approval');
    await signedDecide(env.client, handle.workflowId, {
      approvalId: 'apr-1',
      decision: 'reject',
      by: 'carol',
      comment: 'enough for today',
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(String((err as WorkflowFailedError).cause?.message)).toBe(
      'step budget of 3 used up (3 steps) at step 3 (agent solo); the extension apr-1 was rejected by carol: enough for today',
    );
    const state = await goalState(env.client, handle.workflowId);
    expect(state.approvals[0]).toMatchObject({ tool: 'budget', status: 'rejected' });
    expect(state.budget.extensions).toEqual([]);
  });
});
