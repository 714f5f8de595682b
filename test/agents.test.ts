/**
 * The multi-agent engine against a real dev server and the real openai SDK (pointed at the scripted model):
 * permissions enforced at dispatch, model output repaired then bounded, the validator's bounded feedback loop,
 * ask_human answered by the reply signal and update, and shared memory. Each test asserts on the goal's state and
 * on its history.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { replySignal, replyUpdate } from '../src/workflows/definitions.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { eventsOf, messagesReceived, modelRequests, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';
import { signReply } from './helpers/identity.js';

let env: TestWorkflowEnvironment;
let h: Harness;
const noted: string[] = [];

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    builtins: {
      note: {
        description: 'Write a note',
        schema: z.strictObject({ text: z.string().min(3) }),
        run: ({ text }: { text: string }) => {
          noted.push(text);
          return Promise.resolve(`noted: ${text}`);
        },
      },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

/** A blueprint with a few agents; `extra` is appended YAML. */
function team(name: string, extra = ''): ReturnType<typeof blueprint> {
  return blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: m } }
agents:
  lead:
    role: planner
    instructions: Lead the work.
    tools: [note, memory_write, memory_read]
    handoffs: [helper]
  helper:
    role: executor
    instructions: Help.
    tools: [memory_read, secret_op]
  checker:
    role: validator
    instructions: Check answers.
  desk:
    role: user-facing
    instructions: Ask a human.
    tools: [ask_human]
    askHuman: { to: [group:analysts], timeout: 2s }
entry: lead
tools:
  note: { type: builtin, sideEffect: idempotent }
  secret_op: { type: builtin, function: note, sideEffect: unsafe }
approvers: { analysts: [ann, art] }
${extra}`);
}

function failureOf(err: unknown): string {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return String((err as WorkflowFailedError).cause?.message);
}

describe('permissions, enforced at dispatch', () => {
  it('refuses a tool the agent may not use and a handoff it may not make; the model is told, state and history record it', async () => {
    h.model.load({
      goal: 'perm',
      replies: [
        {
          when: { agent: 'lead', after: 'user' },
          toolCalls: [
            { name: 'secret_op', arguments: { text: 'do the forbidden thing' } },
            { name: 'handoff_to_desk', arguments: { note: 'skip ahead' } },
          ],
        },
        { when: { agent: 'lead', after: 'tool' }, content: 'I may not do that; stopping here.' },
      ],
    });
    const handle = await h.start(team('perm'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'I may not do that; stopping here.' });
    expect(noted).not.toContain('do the forbidden thing');

    const state = await goalState(env.client, handle.workflowId);
    expect(state.refusals).toEqual([
      expect.objectContaining({
        agent: 'lead',
        tool: 'secret_op',
        kind: 'not_permitted',
        reason: 'refused: agent lead is not permitted to use secret_op',
      }),
      expect.objectContaining({ agent: 'lead', tool: 'handoff_to_desk', kind: 'not_permitted' }),
    ]);
    expect(state.handoffs).toEqual([]);
    expect(state.agent).toBe('lead');

    const events = await eventsOf(env.client, handle.workflowId);
    expect(scheduledActivities(events).map((a) => a.type)).toEqual(['callModel', 'callModel']);
    const second = modelRequests(events)[1]!;
    expect(second.messages.slice(-2).map((m) => m.content)).toEqual([
      'refused: agent lead is not permitted to use secret_op',
      'refused: agent lead is not permitted to use handoff_to_desk',
    ]);
    // The first request offered the agent only its own tools and handoffs.
    expect(modelRequests(events)[0]?.tools).toEqual([
      'note',
      'memory_write',
      'memory_read',
      'handoff_to_helper',
      'plan',
    ]);
  });
});

describe('model output problems', () => {
  it('sends invalid JSON, arguments failing the schema, an unknown tool and an empty reply back for repair', async () => {
    h.model.load({
      goal: 'repair',
      replies: [
        { when: { agent: 'lead', turn: 1 }, toolCalls: [{ name: 'note' }], rawArguments: '{"text": "unterminated' },
        { when: { agent: 'lead', turn: 2 }, toolCalls: [{ name: 'note', arguments: { text: 'x' } }] },
        { when: { agent: 'lead', turn: 3 }, toolCalls: [{ name: 'teleport', arguments: {} }] },
        { when: { agent: 'lead', turn: 4 }, content: '' },
        { when: { agent: 'lead', turn: 5 }, toolCalls: [{ name: 'note', arguments: { text: 'repaired at last' } }] },
        { when: { agent: 'lead', tool: 'note' }, content: 'Done.' },
      ],
    });
    const handle = await h.start(team('repair', 'limits: { repairs: 4 }'));
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(noted).toContain('repaired at last');
    expect(noted).not.toContain('x');

    const state = await goalState(env.client, handle.workflowId);
    expect(state.refusals.map((r) => [r.kind, r.tool, r.step])).toEqual([
      ['invalid_arguments', 'note', 1],
      ['invalid_arguments', 'note', 2],
      ['unknown_tool', 'teleport', 3],
      ['empty_reply', '', 4],
    ]);
    const requests = modelRequests(await eventsOf(env.client, handle.workflowId));
    const told = requests.slice(1, 5).map((r) => r.messages.at(-1)?.content);
    expect(told[0]).toMatch(/^error: the arguments are not valid JSON/);
    expect(told[1]).toBe(
      'error: arguments for note do not match its schema: text: Too small: expected string to have >=3 characters',
    );
    expect(told[2]).toBe(
      'error: there is no tool "teleport"; your tools: note, memory_write, memory_read, handoff_to_helper, plan',
    );
    expect(told[3]).toBe('Your reply was empty. Call a tool or give the final answer.');
    // Only the repaired call ran: arguments are checked in the workflow before any activity.
    const tools = scheduledActivities(await eventsOf(env.client, handle.workflowId)).filter(
      (a) => a.type === 'runTool',
    );
    expect(tools.map((a) => a.input.args)).toEqual([{ text: 'repaired at last' }]);
  });

  it('fails with a reason naming the agent and the step once the repairs run out', async () => {
    h.model.load({
      goal: 'no-repair',
      replies: [{ when: { agent: 'lead' }, toolCalls: [{ name: 'note' }], rawArguments: 'not json' }],
    });
    const handle = await h.start(team('no-repair', 'limits: { repairs: 2 }'));
    const reason = failureOf(await handle.result().catch((e: unknown) => e));
    expect(reason).toMatch(
      /^agent lead gave 3 unusable replies in a row \(limit 2\), the last at step 3: note: error: the arguments are not valid JSON/,
    );
    const state = await goalState(env.client, handle.workflowId);
    expect(state).toMatchObject({ status: 'failed', step: 3 });
    expect(state.refusals).toHaveLength(3);
    const events = await eventsOf(env.client, handle.workflowId);
    const failed = events.at(-1)?.workflowExecutionFailedEventAttributes?.failure;
    expect(failed?.applicationFailureInfo?.type).toBe('ModelOutputInvalid');
    expect(failed?.message).toBe(reason);
  });
});

describe('validator', () => {
  it('sends its feedback back to the producing agent, and fails the goal past validationRounds', async () => {
    h.model.load({
      goal: 'strict',
      replies: [
        { when: { agent: 'lead', after: 'user', contains: 'Goal input' }, content: 'Answer v1' },
        { when: { agent: 'lead', after: 'user', contains: 'rejected your answer' }, content: 'Answer v2' },
        {
          when: { agent: 'checker', after: 'user', contains: 'proposes this final answer' },
          toolCalls: [{ name: 'reject_answer', arguments: { feedback: 'Cite a source.' } }],
        },
      ],
    });
    const handle = await h.start(team('strict', 'validator: checker\nlimits: { validationRounds: 1 }'));
    const reason = failureOf(await handle.result().catch((e: unknown) => e));
    expect(reason).toBe(
      'validator checker rejected the answer of lead 2 times (limit 1) at step 6; last feedback: Cite a source.',
    );
    const state = await goalState(env.client, handle.workflowId);
    expect(state.validation.verdicts.map((v) => [v.verdict, v.answerBy, v.feedback])).toEqual([
      ['rejected', 'lead', 'Cite a source.'],
      ['rejected', 'lead', 'Cite a source.'],
    ]);
    const requests = modelRequests(await eventsOf(env.client, handle.workflowId));
    expect(requests.map((r) => r.agent)).toEqual(['lead', 'checker', 'lead', 'checker']);
    expect(requests[1]?.tools).toEqual(['accept_answer', 'reject_answer']);
    expect(requests[1]?.messages.at(-1)?.content).toContain(
      'The lead agent proposes this final answer:\n---\nAnswer v1',
    );
    expect(requests[2]?.messages.at(-1)?.content).toBe(
      '[validator checker rejected your answer] Cite a source.\nRevise the answer and give it again.',
    );
  });
});

describe('ask_human', () => {
  const askScript: ScriptInput = {
    goal: 'ask',
    replies: [
      { when: { agent: 'lead', after: 'user' }, toolCalls: [{ name: 'handoff_to_helper', arguments: { note: 'n' } }] },
      { when: { agent: 'desk', after: 'user' }, toolCalls: [{ name: 'ask_human', arguments: { question: 'Go?' } }] },
      { when: { agent: 'desk', tool: 'ask_human', contains: 'no answer' }, content: 'Nobody answered.' },
      { when: { agent: 'desk', tool: 'ask_human' }, content: 'The human said go.' },
    ],
  };

  /** The team with the desk agent as entry and the given ask_human timeout. */
  function deskFirst(name: string, timeout: string) {
    const loaded = team(name);
    const desk = loaded.blueprint.agents.desk!;
    return {
      ...loaded,
      blueprint: {
        ...loaded.blueprint,
        entry: 'desk',
        agents: { ...loaded.blueprint.agents, desk: { ...desk, askHuman: { to: ['group:analysts'], timeout } } },
      },
    };
  }

  it('waits for the reply signal; refuses a reply from the wrong person, with the reason recorded', async () => {
    h.model.load(askScript);
    const handle = await h.start(deskFirst('ask', '1h'));
    const asking = await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingQuestions.length ? s : undefined;
    }, 'the question');
    // Only a question waits: the status says so, and BatonStatus (what searches and inboxes read) with it.
    expect(asking).toMatchObject({ status: 'awaiting_reply', agent: 'desk' });
    // The query can see the worker's state before the workflow task that publishes it is stored: wait for it.
    await eventually(async () => {
      const status = (await handle.describe()).searchAttributes.BatonStatus;
      return status?.[0] === 'awaiting_reply' ? true : undefined;
    }, 'BatonStatus awaiting_reply');
    expect(asking.pendingQuestions[0]).toMatchObject({ id: 'q-1', question: 'Go?', eligible: ['ann', 'art'] });

    const fromMallory = await signReply(env.client, handle.workflowId, {
      questionId: 'q-1',
      answer: 'yes',
      by: 'mallory',
    });
    const refused = await handle.executeUpdate(replyUpdate, { args: [fromMallory] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause?.message).toBe(
      'mallory was not asked q-1; asked: group:analysts',
    );
    await handle.signal(replySignal, fromMallory);
    await handle.signal(
      replySignal,
      await signReply(env.client, handle.workflowId, { questionId: 'q-1', answer: 'Go ahead.', by: 'art' }),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'The human said go.' });

    const state = await goalState(env.client, handle.workflowId);
    expect(state.questions[0]).toMatchObject({ status: 'answered', answer: 'Go ahead.', by: 'art', via: 'signal' });
    expect(state.refusedReplies).toEqual([
      expect.objectContaining({
        by: 'mallory',
        via: 'signal',
        reason: 'mallory was not asked q-1; asked: group:analysts',
        code: 'not_an_approver',
      }),
    ]);
    const events = await eventsOf(env.client, handle.workflowId);
    expect(messagesReceived(events)).toEqual(['signal:reply', 'signal:reply']);
    expect(modelRequests(events).at(-1)?.messages.at(-1)?.content).toBe('answer from art to q-1: Go ahead.');
    // The rejected update never reached the history; nobody can answer twice.
    await expect(
      signReply(env.client, handle.workflowId, { questionId: 'q-1', answer: 'no', by: 'ann' }).then((r) =>
        handle.executeUpdate(replyUpdate, { args: [r] }),
      ),
    ).rejects.toThrow();
  });

  it('tells the model when nobody answers before the timeout', async () => {
    h.model.load(askScript);
    const handle = await h.start(deskFirst('ask', '1s'));
    const result = await handle.result();
    expect(result.answer).toBe('Nobody answered.');
    const state = await goalState(env.client, handle.workflowId);
    expect(state.questions[0]).toMatchObject({ status: 'timed_out' });
    const events = await eventsOf(env.client, handle.workflowId);
    expect(events.some((e) => e.timerFiredEventAttributes)).toBe(true);
    expect(modelRequests(events).at(-1)?.messages.at(-1)?.content).toMatch(/^no answer to q-1 from ann, art within 1s/);
  });
});

describe('shared memory', () => {
  it('is written and read by different agents, records agent and step, and needs no activity', async () => {
    h.model.load({
      goal: 'mem',
      replies: [
        {
          when: { agent: 'lead', after: 'user' },
          toolCalls: [
            { name: 'memory_write', arguments: { key: 'customer.tier', value: 'gold' } },
            { name: 'memory_write', arguments: { key: 'customer.limits', value: { refund: 100 } } },
            { name: 'handoff_to_helper', arguments: { note: 'Read the customer facts from memory.' } },
          ],
        },
        {
          when: { agent: 'helper', after: 'user' },
          toolCalls: [{ name: 'memory_read', arguments: { prefix: 'customer.' } }],
        },
        { when: { agent: 'helper', tool: 'memory_read' }, content: 'Gold customer, refunds up to 100.' },
      ],
    });
    const handle = await h.start(team('mem'));
    expect((await handle.result()).status).toBe('completed');
    const state = await goalState(env.client, handle.workflowId);
    expect(state.memory.map(({ key, value, agent, step }) => ({ key, value, agent, step }))).toEqual([
      { key: 'customer.tier', value: 'gold', agent: 'lead', step: 2 },
      { key: 'customer.limits', value: { refund: 100 }, agent: 'lead', step: 3 },
    ]);
    const events = await eventsOf(env.client, handle.workflowId);
    expect(scheduledActivities(events).map((a) => a.type)).toEqual(['callModel', 'callModel', 'callModel']);
    const read = modelRequests(events)[2]?.messages.at(-1)?.content ?? '';
    expect(JSON.parse(read)).toEqual([
      { key: 'customer.tier', value: 'gold', agent: 'lead', step: 2 },
      { key: 'customer.limits', value: { refund: 100 }, agent: 'lead', step: 3 },
    ]);
  });
});
