/**
 * The scale goal of issue 14's acceptance: an agent that reads N pages of 32 KiB each (a model call asking for
 * `read_page`, the page back) and then answers. Each page is different text, and the word that ends the goal is at the
 * very end of the last page: the model must be sent whole pages (not previews) to finish. Measured per goal: every
 * run's events and bytes as the server counts them, the largest payload, the largest model-call input, and what the
 * goal added to the payload store.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import proto from '@temporalio/proto';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { BuiltinTool } from '../../src/activities/index.js';
import type { LoadedBlueprint } from '../../src/blueprint/load.js';
import type { ScriptInput } from '../../src/scripted-model/script.js';
import { blueprint, type Harness } from './harness.js';
import { runsOf } from './history.js';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;

export const PAGE_CHARS = 32 * 1024;
/** The words pages are made of: varied enough that a tokenizer sees real text. */
const WORDS =
  'invoice ledger account balance transfer payment vendor order shipment customer refund credit debit audit report quarter revenue expense budget forecast contract clause term renewal notice'.split(
    ' ',
  );

/** Page `n` of a goal: PAGE_CHARS characters of words picked by a small deterministic generator. */
export function pageText(goal: string, n: number, last: boolean): string {
  let seed = [...`${goal}/${n}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const words: string[] = [`page ${n} of ${goal}:`];
  let length = words[0]!.length;
  const end = last ? ' -- no more pages.' : ' -- read on.';
  while (length < PAGE_CHARS - end.length - 16) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const word = `${WORDS[seed % WORDS.length]!}${seed % 7 === 0 ? ` ${seed % 10_000}` : ''}`;
    words.push(word);
    length += word.length + 1;
  }
  return `${words.join(' ')}${end}`.padEnd(PAGE_CHARS, '.');
}

/** Pages read per goal (by workflow id), and how many each goal reads. */
const pages = new Map<string, number>();
const lengths = new Map<string, number>();

/** The `read_page` builtin: the next page of the calling goal, the last one says so at its very end. */
export const readPage: BuiltinTool = {
  description: 'Read the next page of the document',
  schema: z.strictObject({}),
  run(_args, ctx) {
    const goal = ctx.idempotencyKey.split('/')[0] ?? '';
    const n = (pages.get(goal) ?? 0) + 1;
    pages.set(goal, n);
    return Promise.resolve(pageText(goal, n, n >= (lengths.get(goal) ?? Infinity)));
  },
};

/** The scale goal's blueprint: one agent, `read_page`, a budget for `steps` pages. */
export function scaleBlueprint(name: string, steps: number): LoadedBlueprint {
  return blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: scripted-scale, price: { input: 0.15, output: 0.6 } } }
agents:
  reader: { role: researcher, instructions: 'Read every page of the document, then say you are done.', tools: [read_page] }
entry: reader
tools:
  read_page: { type: builtin, sideEffect: none, maxResponseBytes: 100000 }
budget: { maxSteps: ${2 * steps + 10} }
`);
}

/** The scripted model's part: read pages until one ends with "no more pages". */
export function scaleScript(name: string, steps: number): ScriptInput {
  const read = { toolCalls: [{ name: 'read_page', arguments: {} }] };
  return {
    goal: name,
    replies: [
      { when: { after: 'tool', contains: 'no more pages' }, content: `Read all ${steps} pages.` },
      { when: { after: 'user' }, ...read },
      { when: { after: 'tool' }, ...read },
    ],
  };
}

/** Bytes of every file under a directory. */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

function payloadsIn(value: unknown, out: Payload[] = []): Payload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as { metadata?: unknown; data?: unknown };
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') {
    out.push(value);
    return out;
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) payloadsIn(child, out);
  return out;
}

/** What one scale goal cost. */
export interface ScaleFigures {
  steps: number;
  runs: number;
  /** Events and bytes of each run, as the server counts them. */
  events: number[];
  bytes: number[];
  historyBytesPerStep: number;
  storeBytesPerStep: number;
  largestPayload: number;
  /** The largest model-call input, and the median one (encoded payload bytes). */
  largestModelInput: number;
  medianModelInput: number;
  /** Input tokens the (simulated) provider prompt cache served, over all input tokens. */
  cachedRatio: number;
  answer: string | undefined;
}

/** Runs one scale goal of `steps` pages to its end and measures it; `storeDir` is the workers' payload store. */
export async function runScaleGoal(h: Harness, steps: number, storeDir: string): Promise<ScaleFigures> {
  const name = `scale-${steps}`;
  h.model.load(scaleScript(name, steps));
  const storeBefore = directoryBytes(storeDir);
  const id = `${name}-${Date.now()}`;
  lengths.set(id, steps);
  const handle = await h.start(scaleBlueprint(name, steps), { document: 'the quarterly ledger' }, id);
  const result = await handle.result();
  const storeBytes = directoryBytes(storeDir) - storeBefore;
  const runs = await runsOf(h.client, id);
  const all = runs.flatMap((r) => payloadsIn(r.events));
  const modelInputs = runs
    .flatMap((r) => r.events)
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel')
    .map((e) => PayloadProto.encode(e.activityTaskScheduledEventAttributes!.input!.payloads![0]!).finish().length)
    .sort((a, b) => a - b);
  const bytes = runs.map((r) => r.bytes);
  return {
    steps,
    runs: runs.length,
    events: runs.map((r) => r.events.length),
    bytes,
    historyBytesPerStep: bytes.reduce((a, b) => a + b, 0) / steps,
    storeBytesPerStep: storeBytes / steps,
    largestPayload: Math.max(...all.map((p) => PayloadProto.encode(p).finish().length)),
    largestModelInput: modelInputs.at(-1) ?? 0,
    medianModelInput: modelInputs[Math.floor(modelInputs.length / 2)] ?? 0,
    cachedRatio: (result.usage.cachedInputTokens ?? 0) / Math.max(1, result.usage.inputTokens),
    answer: result.answer,
  };
}

/** One line of figures for the test's output. */
export function describeFigures(f: ScaleFigures): string {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  return (
    `${f.steps} steps: ${f.runs} runs (events ${f.events.join('/')}), history ${kib(f.historyBytesPerStep)}/step, ` +
    `store ${kib(f.storeBytesPerStep)}/step, largest payload ${kib(f.largestPayload)}, ` +
    `model input median ${kib(f.medianModelInput)} max ${kib(f.largestModelInput)}, ` +
    `cached prefix ${(f.cachedRatio * 100).toFixed(0)}% of input tokens`
  );
}
