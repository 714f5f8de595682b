/**
 * Builtin tool schemas reach a goal with its first model call, not through an activity of their own: the model-call
 * activity fills in the schema the worker registered, returns it, and the workflow checks later calls against it.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { goalState } from '../src/client/goals.js';
import { blueprint, createHarness, type Harness } from './helpers/harness.js';
import { eventsOf, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    builtins: {
      note: {
        description: 'Write a note',
        schema: z.strictObject({ text: z.string().min(3) }),
        run: ({ text }: { text: string }) => Promise.resolve(`noted: ${text}`),
      },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

describe('builtin schemas', () => {
  it('come with the first model call: no describeBuiltins, the model sees the schema, the workflow checks against it', async () => {
    h.model.load({
      goal: 'builtin-schemas',
      replies: [
        { when: { after: 'user' }, toolCalls: [{ name: 'note', arguments: { text: 'no' } }] },
        {
          when: { after: 'tool', contains: 'error' },
          toolCalls: [{ name: 'note', arguments: { text: 'long enough' } }],
        },
        { when: { after: 'tool', contains: 'noted' }, content: 'Done.' },
      ],
    });
    const handle = await h.start(
      blueprint(`apiVersion: baton/v1
name: builtin-schemas
models: { default: { model: m } }
agents:
  solo: { role: executor, instructions: Take notes., tools: [note] }
entry: solo
tools:
  note: { type: builtin, sideEffect: idempotent }
`),
    );
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Done.' });
    const events = await eventsOf(env.client, handle.workflowId);
    const activities = scheduledActivities(events);
    // The too-short note was refused in the workflow, against the schema the first model call brought back.
    expect(activities.map((a) => a.type)).toEqual(['callModel', 'callModel', 'runTool', 'callModel']);
    const state = await goalState(env.client, handle.workflowId);
    expect(state.refusals).toEqual([expect.objectContaining({ tool: 'note', kind: 'invalid_arguments' })]);

    type Tool = { name: string; parameters: Record<string, unknown>; builtin?: string };
    const tools = activities.filter((a) => a.type === 'callModel').map((a) => a.input.tools as Tool[]);
    expect(tools[0]).toEqual([expect.objectContaining({ name: 'note', builtin: 'note' })]);
    const registered = z.toJSONSchema(z.strictObject({ text: z.string().min(3) }), { io: 'input' });
    expect(tools[1]?.[0]?.builtin).toBeUndefined();
    expect(tools[1]?.[0]?.parameters).toEqual(registered);

    // The first model call's completion (the goal's first activity is loadTrust, the operator's trust).
    const firstCall = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel');
    const first = events.find(
      (e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(firstCall?.eventId),
    )?.activityTaskCompletedEventAttributes;
    const reply = defaultPayloadConverter.fromPayload<{ builtinSchemas?: Record<string, unknown> }>(
      first!.result!.payloads![0]!,
    );
    expect(reply.builtinSchemas).toEqual({ note: registered });
  });
});
