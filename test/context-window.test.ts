/**
 * Token-aware context against a real dev server and a scripted model that refuses prompts over its window as real
 * endpoints do (400 context_length_exceeded). The same goal fails without a `contextWindow` in its blueprint and,
 * with one, compacts (the model summarises the older messages, recorded as a model call) and completes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { batonDataConverter } from '../src/codec/data-converter.js';
import { FileObjectStore } from '../src/codec/payload-store.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { SUMMARY_HEADING, compactionSplit, messageTokens } from '../src/workflows/context-budget.js';
import type { ChatMessage } from '../src/workflows/definitions.js';
import { blueprint, createHarness, type Harness } from './helpers/harness.js';
import { eventsOf, modelRequests, scheduledActivities } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';

/** The scripted endpoint's window, in tokens (4 characters each). */
const WINDOW = 16_384;
const reads = new Map<string, number>();

let env: TestWorkflowEnvironment;
let h: Harness;

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, {
    builtins: {
      read_next: {
        description: 'Read the next chapter',
        schema: z.strictObject({}),
        run(_, ctx) {
          const goal = ctx.idempotencyKey.split('/')[0] ?? '';
          const n = (reads.get(goal) ?? 0) + 1;
          reads.set(goal, n);
          // About 5,000 tokens a chapter: four chapters pass the window.
          return Promise.resolve(`CHAPTER-${n} ${'the quick brown fox '.repeat(1000)}END-${n}`);
        },
      },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function script(goal: string): ScriptInput {
  return {
    goal,
    contextWindow: WINDOW,
    replies: [
      { when: { agent: 'reader', contains: '[called read_next' }, content: 'Chapters so far: foxes, all quick.' },
      { when: { agent: 'reader', contains: 'END-8' }, content: 'Read all eight chapters.' },
      { when: { agent: 'reader', after: 'user' }, toolCalls: [{ name: 'read_next' }] },
      { when: { agent: 'reader', after: 'tool' }, toolCalls: [{ name: 'read_next' }] },
    ],
  };
}

function book(name: string, contextWindow?: number) {
  return blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: m, maxTokens: 1000${contextWindow ? `, contextWindow: ${contextWindow}` : ''} } }
agents:
  reader: { role: planner, instructions: Read every chapter., tools: [read_next] }
entry: reader
tools:
  read_next: { type: builtin, sideEffect: none }
limits: { contextMessages: 200 }
`);
}

describe('token-aware context', () => {
  it('keeps the latest exchange whole and never cuts a tool result from its call', () => {
    const msg = (role: 'assistant' | 'tool', n: number): ChatMessage =>
      role === 'tool'
        ? { role, toolCallId: `c${n}`, content: 'x'.repeat(4000) }
        : { role, content: null, toolCalls: [{ id: `c${n}`, name: 'read_next', arguments: '{}' }] };
    const rest = [1, 2, 3, 4].flatMap((n) => [msg('assistant', n), msg('tool', n)]);
    const split = compactionSplit(rest, 2 * (messageTokens(rest[6]!) + messageTokens(rest[7]!)))!;
    expect(split.kept.map((m) => m.role)).toEqual(['assistant', 'tool']);
    expect(split.older).toHaveLength(6);
    expect(compactionSplit(rest.slice(-2), 10)).toBeUndefined();
  });

  it('fails on the endpoint’s context limit without a contextWindow (what compaction prevents)', async () => {
    h.model.load(script('book-unbounded'));
    const handle = await h.start(book('book-unbounded'));
    const failure = await handle.result().then(
      () => undefined,
      (err: Error) => (err.cause as Error | undefined)?.message,
    );
    expect(failure).toMatch(/model call for agent reader .*maximum context length is 16384/);
  });

  it('compacts with a model-written summary and completes when the context passes the window', async () => {
    h.model.load(script('book'));
    const handle = await h.start(book('book', WINDOW));
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Read all eight chapters.' });

    const events = await eventsOf(h.client, handle.workflowId);
    const compactions = scheduledActivities(events).filter((a) => a.activityId.startsWith('compact-'));
    expect(compactions.length).toBeGreaterThanOrEqual(1);
    const requests = modelRequests(events);
    const chars = (r: (typeof requests)[number]) => r.messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
    // Every request the endpoint answered fit its window; some came after a compaction and carry the summary.
    expect(Math.max(...requests.map(chars))).toBeLessThanOrEqual(WINDOW * 4);
    const after = requests.filter((r) => r.messages.some((m) => m.content?.startsWith(SUMMARY_HEADING)));
    expect(after.length).toBeGreaterThanOrEqual(1);
    const last = after.at(-1)!;
    // The system prompt and the goal input stay whole and first; the summary follows them.
    expect(last.messages[0]?.role).toBe('system');
    expect(last.messages[1]?.content).toContain('Goal input:');
    expect(last.messages[2]?.content).toContain('Chapters so far: foxes, all quick.');
    // Between two calls with no compaction between them the prefix is unchanged: each request extends the one before,
    // so providers' prompt caching hits. Walk the model calls in order and check every such pair.
    let previous: unknown[] | undefined;
    let stablePairs = 0;
    for (const a of scheduledActivities(events).filter((x) => x.type === 'callModel')) {
      if (a.activityId.startsWith('compact-')) {
        previous = undefined;
        continue;
      }
      const messages = a.input.messages as unknown[];
      if (previous) {
        expect(messages.slice(0, previous.length)).toEqual(previous);
        stablePairs++;
      }
      previous = messages;
    }
    expect(stablePairs).toBeGreaterThanOrEqual(3);
  });
});

describe('token-aware context with the conversation store', () => {
  let store: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'baton-context-store-'));

  beforeAll(async () => {
    store = await createHarness(env, {
      dataConverter: batonDataConverter(undefined, { objects: new FileObjectStore(dir) })!,
      builtins: {
        read_next: {
          description: 'Read the next chapter',
          schema: z.strictObject({}),
          run(_, ctx) {
            const goal = ctx.idempotencyKey.split('/')[0] ?? '';
            const n = (reads.get(goal) ?? 0) + 1;
            reads.set(goal, n);
            return Promise.resolve(`CHAPTER-${n} ${'the quick brown fox '.repeat(1000)}END-${n}`);
          },
        },
      },
    });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts stored chapters by their tokens, quotes them by reference to summarise, and completes', async () => {
    store.model.load({
      goal: 'book-stored',
      contextWindow: WINDOW,
      replies: [
        // The summary request quotes each older message by reference; the activity reads the chapters back.
        { when: { agent: 'reader', after: 'user', contains: 'tool: CHAPTER' }, content: 'Chapters so far: foxes.' },
        { when: { agent: 'reader', contains: 'END-8' }, content: 'Read all eight chapters.' },
        { when: { agent: 'reader', after: 'user' }, toolCalls: [{ name: 'read_next' }] },
        { when: { agent: 'reader', after: 'tool' }, toolCalls: [{ name: 'read_next' }] },
      ],
    });
    const handle = await store.start(book('book-stored', WINDOW));
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Read all eight chapters.' });

    const sent = store.model.requests.filter((r) => r.goal === 'book-stored');
    const messages = (r: (typeof sent)[number]) => r.body.messages as { role: string; content: string }[];
    const chars = (r: (typeof sent)[number]) => messages(r).reduce((n, m) => n + m.content.length, 0);
    // The endpoint was sent whole chapters, never over its window; one request summarised quoted chapters.
    expect(sent.every((r) => r.answered === 'reply')).toBe(true);
    expect(Math.max(...sent.map(chars))).toBeLessThanOrEqual(WINDOW * 4);
    const summaries = sent.filter((r) => messages(r).some((m) => m.content.startsWith('tool: CHAPTER-1 ')));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(messages(sent.at(-1)!).some((m) => m.content.startsWith(SUMMARY_HEADING))).toBe(true);
    // The history kept previews and hashes: no chapter's end is in it, every model input is small.
    const events = await eventsOf(store.client, handle.workflowId);
    const inputs = scheduledActivities(events).filter((a) => a.type === 'callModel');
    expect(inputs.length).toBeGreaterThanOrEqual(9);
    for (const a of inputs) expect(JSON.stringify(a.input)).not.toMatch(/END-\d/);
  });
});
