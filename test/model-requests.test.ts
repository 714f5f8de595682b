/**
 * What Baton sends to an OpenAI-compatible endpoint and how it reads the reply, against the real dev server and the
 * scripted model: tool_choice with tools, never null content, per-model parameters (reasoning models), a default
 * output cap, stable tool-call ids, text beside tool calls, usage read (cached, reasoning) or counted when absent,
 * streaming with progress in heartbeats (shown by status, audit and watch), a timeout that closes the stream, and
 * several providers in one goal, each with its own key.
 */
import { PassThrough } from 'node:stream';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../src/activities/model/openai-request.js';
import { auditGoal, AuditKind } from '../src/audit/index.js';
import { goalState } from '../src/client/goals.js';
import { watchGoal } from '../src/client/watch.js';
import { makeStyle } from '../src/text.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { startScriptedModel, type ScriptedModel } from '../src/scripted-model/server.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { decodedHistoryText } from './helpers/decoded-history.js';
import { batonInProcess } from './helpers/in-process.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/recording-proxy.js';
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
  /** A second provider, behind a proxy that records what reaches it (its key included). */
  let second: ScriptedModel;
  let proxy: RecordingProxy;

  beforeAll(async () => {
    env = await startDevServer();
    second = await startScriptedModel({ quiet: true });
    proxy = await startRecordingProxy(second.baseURL);
    h = await createHarness(env, { extraEnv: { SECOND_URL: proxy.url, SECOND_KEY: 'sk-second-provider-test' } });
  });
  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await second?.close();
    await env?.teardown();
  });

  it('sends each model to its own provider with its own key, several providers in one goal', async () => {
    const name = 'wire-providers';
    const yaml = `
apiVersion: baton/v1
name: ${name}
models:
  default: { model: small }
  second: { model: other-model, baseUrl: '\${env:SECOND_URL}', apiKey: '\${secret:SECOND_KEY}' }
agents:
  triage: { role: planner, instructions: Hand the question to the writer., handoffs: [writer] }
  writer: { role: executor, model: second, instructions: Answer. }
entry: triage
`;
    h.model.load({
      goal: name,
      replies: [{ toolCalls: [{ name: 'handoff_to_writer', arguments: { note: 'Answer it.' } }] }],
    });
    second.load({ goal: name, replies: [{ content: 'Answered by the second provider.' }] });
    const handle = await h.start(blueprint(yaml), {});
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'Answered by the second provider.' });
    expect(h.model.requests.filter((r) => r.goal === name).map((r) => [r.agent, r.model])).toEqual([
      ['triage', 'small'],
    ]);
    expect(second.requests.filter((r) => r.goal === name).map((r) => [r.agent, r.model])).toEqual([
      ['writer', 'other-model'],
    ]);
    const reached = proxy.seen.filter((r) => r.headers['x-baton-goal'] === name);
    expect(reached).toHaveLength(1);
    expect(reached[0]?.headers.authorization).toBe('Bearer sk-second-provider-test');
    // The key is read at call time: the history holds the reference, never the key.
    const history = await decodedHistoryText(h.client, handle.workflowId);
    expect(history).toContain('${secret:SECOND_KEY}');
    expect(history).not.toContain('sk-second-provider-test');
    const calls = await modelCallsOf(h.client, handle.workflowId);
    expect(calls.map((c) => c.request.settings.model)).toEqual(['small', 'other-model']);
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
    const { result, requests, calls, handle } = await run(
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
    // The goal's usage, the audit and baton status price and show it the same way.
    const state = await goalState(h.client, handle.workflowId);
    expect(state.usage.cachedInputTokens).toBe(800);
    expect(state.usage.estimatedTokens).toBeUndefined();
    expect(state.usage.costUsd).toBeCloseTo(
      calls.reduce((n, c) => n + (c.reply?.usage.costUsd ?? 0), 0),
      12,
    );
    const audited = (await auditGoal(h.client, handle.workflowId)).entries.filter(
      (e) => e.kind === AuditKind.ModelCall,
    );
    expect(audited[0]?.data.tokens).toEqual({
      input: 1000,
      output: 500,
      cachedInput: 800,
      reasoning: 400,
      estimated: false,
    });
    expect(audited[0]?.data.costUsd).toBeCloseTo(usage?.costUsd ?? NaN, 12);
    expect(audited[0]?.summary).toMatch(/1000\+500 tokens \(800 cached, 400 reasoning\) · \$0\.0024/);
    const shown = await batonInProcess(['status', handle.workflowId], {
      TEMPORAL_ADDRESS: h.env.address,
      NO_COLOR: '1',
    });
    expect(shown.stdout).toMatch(/usage {5}\d+ in \/ \d+ out tokens \(800 cached\), \$/);
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
    // Marked estimated wherever usage is shown: the goal's usage, the audit, baton status.
    expect(state.usage.estimatedTokens).toBe(state.usage.inputTokens + state.usage.outputTokens);
    const audited = (await auditGoal(h.client, handle.workflowId)).entries.filter(
      (e) => e.kind === AuditKind.ModelCall,
    );
    expect(audited).toHaveLength(2);
    for (const e of audited) {
      expect(e.data.tokens).toMatchObject({ estimated: true });
      expect(e.summary).toMatch(/ · ~\d+\+\d+ tokens \(estimated\) · /);
    }
    const shown = await batonInProcess(['status', handle.workflowId], {
      TEMPORAL_ADDRESS: h.env.address,
      NO_COLOR: '1',
    });
    expect(shown.stdout).toContain(`(${state.usage.estimatedTokens} estimated: counted, the endpoint sent no usage)`);
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

  it('reports tokens so far in heartbeats while the reply streams, and status, audit and watch show them', async () => {
    const name = 'wire-progress';
    h.model.load({
      goal: name,
      // 100 tokens, one every 200 ms: about 20 s of streaming, time enough to look at it several ways.
      replies: [{ content: 'slow answer', drip: { ms: 200, tokens: 100, times: 1 } }],
    });
    const handle = await h.start(blueprint(goalYaml(name, '{ model: small }')), {});
    const progressLine = new PassThrough();
    let drawn = '';
    progressLine.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
    const watching = watchGoal(h.client, handle.workflowId, {
      json: false,
      out: new PassThrough(),
      err: progressLine,
      progress: true,
      style: makeStyle(false),
      pollMs: 200,
    });
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
    // baton status: the call and its tokens so far, in text and in --json.
    const vars = { TEMPORAL_ADDRESS: h.env.address, NO_COLOR: '1' };
    const shown = await eventually(
      async () => {
        const r = await batonInProcess(['status', handle.workflowId], vars);
        return /model {5}model-1 streaming, \d+ tokens so far: "….*tok\d+/.test(r.stdout) ? r.stdout : undefined;
      },
      'baton status to show the reply streaming',
      60_000,
    );
    expect(shown).toMatch(/status {4}running/);
    const [streamingJson] = await eventually(
      async () => {
        const r = await batonInProcess(['status', handle.workflowId, '--json'], vars);
        const json = JSON.parse(r.stdout) as { streaming: { activityId: string; tokens: number; preview: string }[] };
        return json.streaming.length ? json.streaming : undefined;
      },
      'baton status --json to show the reply streaming',
      60_000,
    );
    expect(streamingJson?.activityId).toBe('model-1');
    expect(streamingJson?.tokens).toBeGreaterThan(0);
    expect(streamingJson?.preview).toMatch(/tok\d+/);
    // baton audit: the open model call says how far the reply has come.
    const open = await eventually(
      async () => {
        const audit = await auditGoal(h.client, handle.workflowId);
        const call = audit.entries.find((e) => e.kind === AuditKind.ModelCall && e.data.status === 'running');
        return call?.data.streaming ? call : undefined;
      },
      'the audit to show the streaming call',
      60_000,
    );
    expect(open.summary).toMatch(/billing → small: streaming, \d+ tokens so far/);
    expect((open.data.streaming as { tokens: number }).tokens).toBeGreaterThan(0);
    expect((await handle.result()).status).toBe('completed');
    // baton watch: the progress line showed the reply as it arrived.
    expect((await watching).status).toBe('completed');
    expect(drawn).toMatch(/billing: streaming, \d+ tokens so far: "…[^"]*tok\d+/);
    // Once the call ended, the audit has no progress left on it: the history holds the reply.
    const after = await auditGoal(h.client, handle.workflowId);
    const calls = after.entries.filter((e) => e.kind === AuditKind.ModelCall);
    expect(calls.every((e) => e.data.streaming === undefined && e.data.status === 'completed')).toBe(true);
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
