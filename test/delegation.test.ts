/**
 * Delegation against a real dev server: sub-tasks run at the same time as child goal workflows, each with its own
 * history, its agent's permissions and a share of the budget; the parent gathers their results, shows each one's
 * status while they run, and cancelling the parent cancels them.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { goalState, pendingApprovals } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { eventsOf, modelRequests, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;
/** Arrivals at the rendezvous, per parent goal: a task only meets another one that runs at the same time. */
const arrivals = new Map<string, number>();

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    builtins: {
      rendezvous: {
        description: 'Wait until the other sub-task arrives too',
        schema: z.strictObject({ label: z.string() }),
        async run({ label }, ctx) {
          const group = ctx.idempotencyKey.split('--')[0] ?? '';
          arrivals.set(group, (arrivals.get(group) ?? 0) + 1);
          const deadline = Date.now() + 15_000;
          while ((arrivals.get(group) ?? 0) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          return `${(arrivals.get(group) ?? 0) >= 2 ? 'met' : 'alone'}: ${label}`;
        },
      },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function delegation(name: string, budget: string, extra = '') {
  return blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: m, price: { input: 1, output: 2 } } }
agents:
  boss:
    role: planner
    instructions: Split the work.
    tools: [memory_read]
    delegates: [worker]
  worker:
    role: executor
    instructions: Do one part.
    tools: [rendezvous, memory_write, guarded]
entry: boss
tools:
  rendezvous: { type: builtin, sideEffect: idempotent, timeout: 20s }
  guarded:
    type: builtin
    function: rendezvous
    sideEffect: unsafe
    approval: { approvers: [carol] }
budget: ${budget}
${extra}`);
}

/** The boss's first reply: two sub-tasks for workers, in one delegate call. */
function delegateTwo(a: string, b: string): ScriptInput['replies'][number] {
  const tasks = [a, b].map((task) => ({ agent: 'worker', task }));
  return { when: { agent: 'boss', after: 'user' }, toolCalls: [{ name: 'delegate', arguments: { tasks } }] };
}

describe('delegation', () => {
  it('runs sub-tasks at the same time as child workflows and gathers results, usage and memory', async () => {
    h.model.load({
      goal: 'split',
      replies: [
        delegateTwo('part A', 'part B'),
        { when: { agent: 'boss', tool: 'delegate' }, content: 'Both parts are done.' },
        {
          when: { agent: 'worker', contains: 'part A' },
          toolCalls: [{ name: 'rendezvous', arguments: { label: 'A' } }],
        },
        {
          when: { agent: 'worker', contains: 'part B' },
          toolCalls: [{ name: 'rendezvous', arguments: { label: 'B' } }],
        },
        {
          when: { agent: 'worker', tool: 'rendezvous', contains: 'met: A' },
          toolCalls: [{ name: 'memory_write', arguments: { key: 'result.A', value: 42 } }],
        },
        {
          when: { agent: 'worker', tool: 'rendezvous', contains: 'met: B' },
          toolCalls: [
            { name: 'memory_write', arguments: { key: 'result.B', value: 7 } },
            { name: 'memory_read', arguments: {} },
          ],
        },
        { when: { agent: 'worker', tool: 'memory_write' }, content: 'A done: 42.' },
        { when: { agent: 'worker', tool: 'memory_read' }, content: 'B done: 7.' },
      ],
    });
    const handle = await h.start(delegation('split', '{ maxSteps: 30 }'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'Both parts are done.' });

    const state = await goalState(env.client, handle.workflowId);
    const id = handle.workflowId;
    expect(state.tasks).toEqual([
      expect.objectContaining({
        id: 't-1',
        workflowId: `${id}--t-1-worker`,
        status: 'completed',
        answer: 'A done: 42.',
        steps: 5,
      }),
      expect.objectContaining({
        id: 't-2',
        workflowId: `${id}--t-2-worker`,
        status: 'completed',
        answer: 'B done: 7.',
        steps: 5,
      }),
    ]);
    // Two steps used when delegating (the model call and the delegate call): 28 left, split between 2 tasks and the boss.
    expect(state.tasks.map((t) => t.budget)).toEqual([{ maxSteps: 9 }, { maxSteps: 9 }]);
    expect(state.memory.map(({ key, value, agent, task }) => ({ key, value, agent, task }))).toEqual([
      { key: 'result.A', value: 42, agent: 'worker', task: 't-1' },
      { key: 'result.B', value: 7, agent: 'worker', task: 't-2' },
    ]);
    // A refused call is not a step: B made 3 model calls, ran 1 tool and wrote memory once.
    expect(state.budget.delegatedSteps).toBe(10);
    expect(result.steps).toBe(state.step + 10);

    const children = await Promise.all(state.tasks.map((t) => goalState(env.client, t.workflowId)));
    const own = modelRequests(await eventsOf(env.client, id)).length;
    expect(own).toBe(2);
    const childTokens = children.reduce((n, c) => n + c.usage.inputTokens, 0);
    expect(state.usage.inputTokens).toBeGreaterThan(childTokens);
    expect(children[0]?.usage.inputTokens).toBeGreaterThan(0);
    // The child ran with the worker's permissions: memory_read is not one of them.
    expect(children[1]?.refusals).toEqual([
      expect.objectContaining({ agent: 'worker', tool: 'memory_read', kind: 'not_permitted' }),
    ]);
    expect(children[0]?.parent).toEqual({ goalId: id, taskId: 't-1', from: 'boss' });

    // Both children were started before either finished, and met at the rendezvous: they ran at the same time.
    const events = await eventsOf(env.client, id);
    const kinds = events.flatMap((e) =>
      e.startChildWorkflowExecutionInitiatedEventAttributes
        ? ['start']
        : e.childWorkflowExecutionCompletedEventAttributes
          ? ['done']
          : [],
    );
    expect(kinds).toEqual(['start', 'start', 'done', 'done']);
    for (const t of state.tasks) {
      const childEvents = await eventsOf(env.client, t.workflowId);
      const ran = scheduledActivities(childEvents).filter((a) => a.type === 'runTool');
      expect(ran.map((a) => a.input.tool)).toEqual(['rendezvous']);
      const told = modelRequests(childEvents)[1]?.messages.at(-1)?.content;
      expect(told).toMatch(/^met: [AB]$/);
      expect(modelRequests(childEvents)[0]?.messages[1]?.content).toMatch(/^Sub-task from boss \(t-\d\):\npart [AB]/);
    }
  });

  it('fails a sub-task that uses up its share of the budget, and the parent carries on', async () => {
    h.model.load({
      goal: 'greedy',
      replies: [
        {
          when: { agent: 'boss', after: 'user' },
          toolCalls: [{ name: 'delegate', arguments: { tasks: [{ agent: 'worker', task: 'loop forever' }] } }],
        },
        {
          when: { agent: 'boss', tool: 'delegate', contains: '"status":"failed"' },
          content: 'The sub-task ran out of budget.',
        },
        { when: { agent: 'worker' }, toolCalls: [{ name: 'memory_write', arguments: { key: 'k', value: 1 } }] },
      ],
    });
    const handle = await h.start(delegation('greedy', '{ maxSteps: 8 }'));
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'The sub-task ran out of budget.' });
    const state = await goalState(env.client, handle.workflowId);
    expect(state.tasks[0]).toMatchObject({
      status: 'failed',
      budget: { maxSteps: 3 },
      steps: 3,
      reason: 'step budget of 3 used up (3 steps) at step 3 (agent worker); raise the budget in the blueprint',
    });
    const child = await env.client.workflow.getHandle(state.tasks[0]!.workflowId).describe();
    expect(child.status.name).toBe('FAILED');
    const told = modelRequests(await eventsOf(env.client, handle.workflowId))
      .at(-1)
      ?.messages.at(-1)?.content;
    expect(JSON.parse(told ?? '')).toEqual([
      {
        task: 't-1',
        agent: 'worker',
        status: 'failed',
        reason: expect.stringContaining('step budget of 3 used up') as string,
      },
    ]);
  });

  it("shows each child's status while it waits, and cancelling the goal cancels its children", async () => {
    h.model.load({
      goal: 'cancel-me',
      replies: [
        delegateTwo('guarded one', 'guarded two'),
        { when: { agent: 'worker', after: 'user' }, toolCalls: [{ name: 'guarded', arguments: { label: 'x' } }] },
      ],
    });
    const handle = await h.start(delegation('cancel-me', '{ maxSteps: 30 }'));
    const waiting = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.tasks.length === 2 && s.tasks.every((t) => t.status === 'awaiting_approval') ? s : undefined;
    }, 'both children to await approval');
    expect(waiting.status).toBe('running');
    // The children's approvals are where approvers look for them.
    const inbox = await eventually(async () => {
      const list = await pendingApprovals(env.client, 'carol');
      const mine = list.filter((a) => a.goalId.startsWith(`${handle.workflowId}--`));
      return mine.length === 2 ? mine : undefined;
    }, 'the children approvals in the inbox');
    expect(inbox.map((a) => a.tool)).toEqual(['guarded', 'guarded']);

    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const state = await goalState(env.client, handle.workflowId);
    expect(state.status).toBe('cancelled');
    expect(state.tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
    for (const t of waiting.tasks) {
      const child = client().getHandle(t.workflowId);
      expect((await child.describe()).status.name).toBe('CANCELLED');
      expect((await goalState(env.client, t.workflowId)).status).toBe('cancelled');
      const events = await eventsOf(env.client, t.workflowId);
      expect(events.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);
      expect(events.at(-1)?.workflowExecutionCanceledEventAttributes).toBeTruthy();
    }
    const parentEvents = await eventsOf(env.client, handle.workflowId);
    expect(parentEvents.filter((e) => e.requestCancelExternalWorkflowExecutionInitiatedEventAttributes)).toHaveLength(
      2,
    );
    expect(parentEvents.filter((e) => e.childWorkflowExecutionCanceledEventAttributes)).toHaveLength(2);
  });
});

function client() {
  return env.client.workflow;
}
