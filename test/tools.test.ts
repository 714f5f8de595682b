/**
 * Tools against a real dev server and a real HTTP endpoint on loopback: templated URL, headers and body;
 * `${secret:NAME}` resolved in the activity and never in history; the response cap; the timeout; retries decided
 * by the side-effect class; and the idempotency key (workflow id + activity id) that every tool receives.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ToolContext } from '../src/activities/index.js';
import { goalState } from '../src/client/goals.js';
import { blueprint, createHarness, type Harness } from './helpers/harness.js';
import { decodedHistoryText } from './helpers/decoded-history.js';
import { eventsOf, modelRequests, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';

const SECRET = 'sk-test-4f1c9e7d2b';

let env: TestWorkflowEnvironment;
let h: Harness;
let api: Server;
let apiUrl: string;
/** Requests the endpoint saw. */
const seen: { path: string; key: string; auth: string; body: string }[] = [];
const builtinCalls: { key: string; aborted: boolean }[] = [];
let flaky = 0;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  api = createServer((req, res) => {
    void body(req).then((text) => {
      const path = req.url ?? '/';
      seen.push({
        path,
        key: String(req.headers['idempotency-key'] ?? ''),
        auth: String(req.headers.authorization ?? ''),
        body: text,
      });
      if (path.startsWith('/big')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(100_000));
      } else if (path.startsWith('/slow')) {
        setTimeout(() => res.end('too late'), 3_000).unref();
      } else if (path.startsWith('/flaky')) {
        flaky += 1;
        res.writeHead(flaky % 2 === 1 ? 503 : 200);
        res.end(flaky % 2 === 1 ? 'busy' : 'done');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echoed: JSON.parse(text || '{}') as unknown }));
      }
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  env = await startDevServer();
  h = await createHarness(env, {
    extraEnv: { API: apiUrl, API_TOKEN: SECRET },
    builtins: {
      stamp: {
        description: 'Returns the idempotency key it received',
        schema: z.strictObject({ size: z.int().default(10) }),
        run: ({ size }: { size: number }, ctx: ToolContext) => {
          builtinCalls.push({ key: ctx.idempotencyKey, aborted: ctx.signal.aborted });
          return Promise.resolve(`${ctx.idempotencyKey} ${'y'.repeat(size)}`);
        },
      },
      stall: {
        description: 'Never returns in time',
        schema: z.strictObject({}),
        run: (_: unknown, ctx: ToolContext) =>
          new Promise((resolve) => {
            const t = setTimeout(resolve, 10_000);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(t);
              builtinCalls.push({ key: ctx.idempotencyKey, aborted: true });
            });
          }),
      },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
  api?.closeAllConnections();
  await new Promise((r) => api?.close(r));
});

const kit = (name: string) =>
  blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: m } }
agents:
  solo:
    role: executor
    instructions: Use the tools.
    tools: [post, big, slow, flaky_idempotent, flaky_unsafe, stamp, stall]
entry: solo
tools:
  post:
    type: http
    method: POST
    url: '\${env:API}/items/{{id}}?q={{query}}'
    headers: { Authorization: 'Bearer \${secret:API_TOKEN}', X-Item: '{{id}}' }
    body: { id: '{{id}}', tags: '{{tags}}', note: 'item {{id}}' }
    secrets: [API_TOKEN]
    sideEffect: unsafe
    parameters:
      type: object
      required: [id, query, tags]
      properties: { id: { type: integer }, query: { type: string }, tags: { type: array } }
  big: { type: http, url: '\${env:API}/big', sideEffect: none, maxResponseBytes: 1000 }
  slow:
    type: http
    url: '\${env:API}/slow'
    sideEffect: none
    timeout: 300ms
    retry: { maximumAttempts: 2, initialInterval: 100ms }
  flaky_idempotent:
    type: http
    method: POST
    url: '\${env:API}/flaky'
    sideEffect: idempotent
    retry: { initialInterval: 100ms }
  flaky_unsafe: { type: http, method: POST, url: '\${env:API}/flaky', sideEffect: unsafe }
  stamp: { type: builtin, sideEffect: none, maxResponseBytes: 200 }
  stall: { type: builtin, sideEffect: unsafe, timeout: 300ms }
`);

/** Runs a goal that calls `calls` one reply at a time, then answers; returns what the model was told. */
async function callTools(goal: string, calls: { name: string; arguments?: unknown }[]) {
  h.model.load({
    goal,
    replies: [
      ...calls.map((c, i) => ({
        when: { agent: 'solo', turn: i + 1 },
        toolCalls: [{ name: c.name, arguments: c.arguments ?? {} }],
      })),
      { when: { agent: 'solo', turn: calls.length + 1 }, content: 'done' },
    ],
  });
  const handle = await h.start(kit(goal));
  expect((await handle.result()).status).toBe('completed');
  const events = await eventsOf(env.client, handle.workflowId);
  const told = modelRequests(events)
    .slice(1)
    .map((r) => r.messages.at(-1)?.content ?? '');
  // Idempotency keys are per goal execution: activity ids carry the goal's first run id.
  return { id: handle.workflowId, run: handle.firstExecutionRunId, events, told };
}

describe('http tools', () => {
  it('fill URL, headers and body from the arguments, send the secret and the idempotency key, and keep the secret out of history', async () => {
    const { id, run, events, told } = await callTools('http-post', [
      { name: 'post', arguments: { id: 7, query: 'a b&c', tags: ['x', 'y'] } },
    ]);
    const request = seen.find((r) => r.path.startsWith('/items/7'))!;
    expect(request.path).toBe('/items/7?q=a%20b%26c');
    expect(request.auth).toBe(`Bearer ${SECRET}`);
    expect(request.key).toBe(`${id}/tool-2-post@${run}`);
    expect(JSON.parse(request.body)).toEqual({ id: 7, tags: ['x', 'y'], note: 'item 7' });
    expect(told[0]).toBe('HTTP 200\n{"echoed":{"id":7,"tags":["x","y"],"note":"item 7"}}');
    // Search the history with its payloads decoded; first prove the search finds what a payload holds.
    const history = await decodedHistoryText(env.client, id);
    expect(history).toContain('a b&c');
    expect(JSON.stringify(events)).not.toContain('a b&c');
    expect(history).not.toContain(SECRET);
    expect(JSON.stringify(await goalState(env.client, id))).not.toContain(SECRET);
  });

  it('cut a response at maxResponseBytes and say so', async () => {
    const { told } = await callTools('http-big', [{ name: 'big' }]);
    expect(told[0]).toBe(`HTTP 200 (truncated to 1000 bytes)\n${'x'.repeat(1000)}`);
  });

  it('give up an attempt at the timeout; a none tool is retried with the same idempotency key', async () => {
    const before = seen.filter((r) => r.path === '/slow').length;
    const { id, run, told } = await callTools('http-slow', [{ name: 'slow' }]);
    expect(told[0]).toBe("error: slow: GET ${env:API}/slow no complete response within 300ms (the tool's timeout)");
    const attempts = seen.filter((r) => r.path === '/slow').slice(before);
    expect(attempts.map((a) => a.key)).toEqual([`${id}/tool-2-slow@${run}`, `${id}/tool-2-slow@${run}`]);
  });

  it('retry an idempotent tool with the same key, and run an unsafe tool at most once', async () => {
    flaky = 0;
    const before = seen.length;
    const { id, run, told, events } = await callTools('http-flaky', [
      { name: 'flaky_idempotent' },
      { name: 'flaky_unsafe' },
    ]);
    expect(told[0]).toBe('HTTP 200\ndone');
    expect(told[1]).toBe('error: flaky_unsafe: POST ${env:API}/flaky answered 503');
    const keys = seen.slice(before).map((r) => r.key);
    expect(keys).toEqual([
      `${id}/tool-2-flaky_idempotent@${run}`,
      `${id}/tool-2-flaky_idempotent@${run}`,
      `${id}/tool-4-flaky_unsafe@${run}`,
    ]);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool');
    expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes?.retryPolicy?.maximumAttempts)).toEqual([5, 1]);
  });
});

describe('builtin tools', () => {
  it('receive the idempotency key, have their output capped, and are abandoned at their timeout', async () => {
    const { id, run, told, events } = await callTools('builtin', [
      { name: 'stamp', arguments: { size: 5 } },
      { name: 'stamp', arguments: { size: 500 } },
      { name: 'stall' },
    ]);
    expect(told[0]).toBe(`${id}/tool-2-stamp@${run} yyyyy`);
    expect(told[1]).toMatch(/\n\(truncated to 200 bytes\)$/);
    expect(told[1]?.startsWith(`${id}/tool-4-stamp@${run} yyy`)).toBe(true);
    expect(told[2]).toBe("error: stall: no result within 300ms (the tool's timeout)");
    expect(builtinCalls).toContainEqual({ key: `${id}/tool-6-stall@${run}`, aborted: true });
    const summaries = scheduledActivities(events)
      .filter((a) => a.type === 'runTool')
      .map((a) => a.activityId);
    expect(summaries).toEqual([`tool-2-stamp@${run}`, `tool-4-stamp@${run}`, `tool-6-stall@${run}`]);
  });
});
