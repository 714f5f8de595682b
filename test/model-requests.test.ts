/**
 * What Baton sends to an OpenAI-compatible endpoint and how it reads the reply, against the real dev server and the
 * scripted model: tool_choice with tools, never null content, per-model parameters (reasoning models), a default
 * output cap, stable tool-call ids, text beside tool calls, usage read (cached, reasoning) or counted when absent,
 * streaming with progress in heartbeats, and a timeout that closes the stream.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../src/activities/model/openai-request.js';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { modelCallsOf } from './helpers/model-calls.js';
import { startDevServer } from './helpers/servers.js';

function goalYaml(name: string, model: string): string {
  return `
apiVersion: baton/v1
name: ${name}
models:
  default: ${model}
agents:
  billing:
    role: executor
    instructions: Look the customer up, then answer.
    tools: [lookup_customer]
entry: billing
tools:
  lookup_customer:
    type: http
    method: GET
    url: '\${env:BATON_DEMO_API}/customers/{{customerId}}'
    sideEffect: none
    parameters: { type: object, required: [customerId], properties: { customerId: { type: string } } }
`;
}

const lookup = { name: 'lookup_customer', arguments: { customerId: 'c-42' } };

function script(goal: string, first: Partial<ScriptInput['replies'][number]>, last = {}): ScriptInput {
  return {
    goal,
    replies: [
      { when: { after: 'user' }, content: 'Looking the customer up.', toolCalls: [lookup], ...first },
      { when: { after: 'tool' }, content: 'Customer c-42 is Ada Lovelace.', ...last },
    ],
  };
}

describe('requests and replies on the wire', () => {
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

  async function run(name: string, model: string, s: ScriptInput) {
    h.model.load(s);
    const handle = await h.start(blueprint(goalYaml(name, model)), {});
    const result = await handle.result();
    const requests = h.model.requests.filter((r) => r.goal === name);
    return { handle, result, requests, calls: await modelCallsOf(h.client, handle.workflowId) };
  }

  it('sends tool_choice auto with tools, "" never null beside tool calls, the default cap, and streams', async () => {
    const { result, requests } = await run(
      'wire-basic',
      '{ model: small, temperature: 0 }',
      script('wire-basic', { content: null }),
    );
    expect(result.status).toBe('completed');
    expect(requests).toHaveLength(2);
    for (const r of requests) {
      expect(r.body.tool_choice).toBe('auto');
      expect(r.body.stream).toBe(true);
      expect(r.body.max_tokens).toBe(DEFAULT_MAX_OUTPUT_TOKENS);
      expect(r.body.temperature).toBe(0);
      expect(r.body).not.toHaveProperty('max_completion_tokens');
      expect(r.streamCompleted).toBe(true);
    }
    // The first reply had tool calls and no text: it goes back as "", the one form every server accepts.
    const messages = requests[1]?.body.messages as { role: string; content: unknown; tool_calls?: unknown[] }[];
    const assistant = messages.find((m) => m.role === 'assistant');
    expect(assistant?.tool_calls).toHaveLength(1);
    expect(assistant?.content).toBe('');
    for (const m of messages) expect(typeof m.content).toBe('string');
  });

  it('sends a reasoning model max_completion_tokens and its effort, and no temperature', async () => {
    const { result, requests, calls } = await run(
      'wire-reasoning',
      '{ model: o-small, maxTokens: 300, reasoning: { effort: low }, stream: false, price: { input: 1, output: 4, cachedInput: 0.25 } }',
      script('wire-reasoning', { usage: { input: 1000, output: 500, cached: 800, reasoning: 400 } }),
    );
    expect(result.status).toBe('completed');
    for (const r of requests) {
      expect(r.body.max_completion_tokens).toBe(300);
      expect(r.body.reasoning_effort).toBe('low');
      expect(r.body).not.toHaveProperty('max_tokens');
      expect(r.body).not.toHaveProperty('temperature');
      expect(r.body.stream).toBe(false);
    }
    // Cached and reasoning tokens are read, and the cached part is priced at its own rate.
    const usage = calls[0]?.reply?.usage;
    expect(usage).toMatchObject({ inputTokens: 1000, outputTokens: 500, cachedInputTokens: 800, reasoningTokens: 400 });
    expect(usage?.estimated).toBeUndefined();
    expect(usage?.costUsd).toBeCloseTo((200 * 1 + 800 * 0.25 + 500 * 4) / 1e6, 12);
  });

  it('counts tokens with a tokenizer when the endpoint sends no usage, and marks them estimated', async () => {
    const { result, handle, calls } = await run(
      'wire-no-usage',
      '{ model: small, price: { input: 1, output: 1 } }',
      script('wire-no-usage', { noUsage: true }, { noUsage: true }),
    );
    expect(result.status).toBe('completed');
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      expect(c.reply?.usage.estimated).toBe(true);
      expect(c.reply?.usage.inputTokens).toBeGreaterThan(20);
      expect(c.reply?.usage.outputTokens).toBeGreaterThan(3);
      expect(c.reply?.usage.costUsd).toBeGreaterThan(0);
    }
    const state = await goalState(h.client, handle.workflowId);
    expect(state.usage.inputTokens).toBe(calls.reduce((n, c) => n + (c.reply?.usage.inputTokens ?? 0), 0));
    expect(state.usage.costUsd).toBeGreaterThan(0);
  });

  it('gives missing and duplicate tool-call ids stable ids, and keeps the text beside tool calls', async () => {
    const name = 'wire-ids';
    h.model.load({
      goal: name,
      replies: [
        {
          when: { after: 'user' },
          content: 'Checking twice.',
          toolCalls: [lookup, lookup],
          toolCallIds: ['dup', 'dup'],
        },
        { when: { turn: 2 }, content: 'And once more.', toolCalls: [lookup], toolCallIds: [null] },
        { when: { turn: 3 }, content: 'Customer c-42 is Ada Lovelace.' },
      ],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small }')), {});
    expect((await handle.result()).status).toBe('completed');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    const first = `baton_${calls[0]?.activityId}_1`;
    const second = `baton_${calls[1]?.activityId}_0`;
    expect(calls[0]?.reply?.toolCalls.map((c) => c.id)).toEqual(['dup', first]);
    expect(calls[0]?.reply?.reassignedIds).toEqual([{ index: 1, sent: 'dup', assigned: first }]);
    expect(calls[0]?.reply?.content).toBe('Checking twice.');
    expect(calls[1]?.reply?.toolCalls.map((c) => c.id)).toEqual([second]);
    // The next request pairs every tool result with its own call, and carries the text the model wrote beside them.
    const last = calls[2]?.request.messages ?? [];
    const results = last.filter((m) => m.role === 'tool').map((m) => (m.role === 'tool' ? m.toolCallId : ''));
    expect(results).toEqual(['dup', first, second]);
    expect(last.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual([
      'Checking twice.',
      'And once more.',
    ]);
  });

  it('asks again unstreamed, once per model, when a server cannot stream a reply that may call tools', async () => {
    const { result, requests } = await run(
      'wire-no-stream-tools',
      '{ model: no-streaming-tools }',
      script('wire-no-stream-tools', { refuseStreamWithTools: true }, { refuseStreamWithTools: true }),
    );
    expect(result.status).toBe('completed');
    expect(requests.map((r) => [r.body.stream, r.answered])).toEqual([
      [true, 'fail'],
      [false, 'reply'],
      [false, 'reply'],
    ]);
  });

  it('reports tokens so far in heartbeats while the reply streams', async () => {
    const name = 'wire-progress';
    h.model.load({
      goal: name,
      replies: [{ content: 'slow answer', drip: { ms: 200, tokens: 20, times: 1 } }],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small }')), {});
    const details = await eventually(
      async () => {
        const d = await handle.describe();
        const pending = d.raw.pendingActivities?.[0];
        const payload = pending?.heartbeatDetails?.payloads?.[0];
        if (!payload) return undefined;
        const p = defaultPayloadConverter.fromPayload<{ tokens: number; preview: string }>(payload);
        return p.tokens > 0 ? p : undefined;
      },
      'a heartbeat with progress',
      60_000,
    );
    expect(details.preview).toMatch(/tok0/);
    expect((await handle.result()).status).toBe('completed');
  });
});

describe('a model call that runs past its timeout', () => {
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

  it('is named a timeout, closes the stream so the server stops, and is retried', async () => {
    const name = 'wire-timeout';
    h.model.load({
      goal: name,
      // The first attempt streams one token every 300 ms, for 60 s; the model's timeout is 2 s.
      replies: [{ content: 'The answer.', drip: { ms: 300, tokens: 200, times: 1 } }],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small, timeout: 2s }')), {});
    const failure = await eventually(
      async () => (await handle.describe()).raw.pendingActivities?.[0]?.lastFailure ?? undefined,
      'the first attempt to fail',
      60_000,
    );
    expect(failure.applicationFailureInfo?.type).toBe('ModelInvocationError.Timeout');
    expect(failure.message).toMatch(/did not finish the reply within 2s .*the stream was closed/);
    expect((await handle.result()).status).toBe('completed');
    const requests = h.model.requests.filter((r) => r.goal === name);
    expect(requests.map((r) => r.streamCompleted)).toEqual([false, true]);
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls[0]?.attempt).toBe(2);
  });
});
