/**
 * §2 History cost: what each agent step adds to the history, at 10, 100 and 1,000 steps, for Baton and the floor.
 * Both continue as new when the server suggests it; every run is checked against the server's warning limits.
 * The goals run at the same time (sizes do not depend on timing). Then Baton alone with realistic tool outputs (16,
 * 32 and 64 KiB in turn, the step's completion at the very end, so the model must be sent them whole) and a payload
 * store, one goal at a time so the store's growth is each goal's own: history and store bytes per step, the
 * model-call input, and the share of input tokens the (simulated) provider prompt cache served.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { benchAgent } from '../agent.js';
import { expectDone, startAgent, startWorker, type BenchContext, type Flavor } from '../context.js';
import { runSizes, type RunSize } from '../history.js';
import { bytes, ratio, round } from '../stats.js';
import { targetRow, type Row, type SectionResult } from '../report.js';

/** The server's warning limits for one run's history (limit.historyCount.warn, limit.historySize.warn). */
const WARN_EVENTS = 10_240;
const WARN_BYTES = 10 * 1024 * 1024;
/** How much bytes per step may grow from the smallest to the largest goal and still count as flat. */
const FLAT = 1.25;

interface Cost {
  steps: number;
  runs: number;
  events: number;
  bytes: number;
  eventsPerStep: number;
  bytesPerStep: number;
  /** Bytes per step without the copies of the transcript (model-call inputs, run inputs). */
  bytesPerStepWithoutTranscript: number;
  searchAttributeUpdatesPerStep: number;
  largestRunEvents: number;
  largestRunBytes: number;
  seconds: number;
}

function cost(steps: number, runs: RunSize[], seconds: number): Cost {
  const events = runs.reduce((n, r) => n + r.events, 0);
  const total = runs.reduce((n, r) => n + r.bytes, 0);
  const transcript = runs.reduce((n, r) => n + r.transcriptBytes, 0);
  return {
    steps,
    runs: runs.length,
    events,
    bytes: total,
    eventsPerStep: round(events / steps, 2),
    bytesPerStep: round(total / steps, 1),
    bytesPerStepWithoutTranscript: round((total - transcript) / steps, 1),
    searchAttributeUpdatesPerStep: round(runs.reduce((n, r) => n + r.upserts, 0) / steps, 2),
    largestRunEvents: Math.max(...runs.map((r) => r.events)),
    largestRunBytes: Math.max(...runs.map((r) => r.bytes)),
    seconds: round(seconds, 1),
  };
}

/** Bytes of every file under a directory. */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  }
  return total;
}

/** The realistic outputs: 16, 32 and 64 KiB in turn. */
const DOC_BYTES = [16 * 1024, 32 * 1024, 64 * 1024];

interface DocCost {
  steps: number;
  runs: number;
  historyBytesPerStep: number;
  storeBytesPerStep: number;
  modelInputMedian: number;
  modelInputMax: number;
  largestPayload: number;
  cachedRatio: number;
  largestRunEvents: number;
  largestRunBytes: number;
}

/** Baton with realistic outputs and a payload store, one goal after another. */
async function documentCosts(ctx: BenchContext): Promise<DocCost[]> {
  const store = join(ctx.scratch, 'payloads');
  mkdirSync(store, { recursive: true });
  const baton = await startWorker(ctx, 'baton', { payloadStore: store });
  const out: DocCost[] = [];
  try {
    for (const steps of ctx.config.history.steps) {
      const agent = benchAgent(`bench-docs-${steps}`, steps, undefined, (n) => DOC_BYTES[n % DOC_BYTES.length]!);
      ctx.model.load(agent.script);
      const before = directoryBytes(store);
      const id = `history-docs-${steps}`;
      const begin = performance.now();
      const started = await startAgent(ctx, 'baton', agent, baton.taskQueue, id);
      const result = (await started.handle.result()) as {
        answer?: string;
        usage?: { inputTokens: number; cachedInputTokens?: number };
      };
      expectDone(agent, id, result);
      ctx.log(
        `history: baton ${steps} steps with 16-64 KiB outputs in ${((performance.now() - begin) / 1000).toFixed(1)} s`,
      );
      const runs = await runSizes(ctx.client, id, started.firstRunId);
      const inputs = runs.flatMap((r) => r.modelInputs).sort((a, b) => a - b);
      out.push({
        steps,
        runs: runs.length,
        historyBytesPerStep: round(runs.reduce((n, r) => n + r.bytes, 0) / steps, 1),
        storeBytesPerStep: round((directoryBytes(store) - before) / steps, 1),
        modelInputMedian: inputs[Math.floor(inputs.length / 2)] ?? 0,
        modelInputMax: inputs.at(-1) ?? 0,
        largestPayload: Math.max(...runs.map((r) => r.largestPayload)),
        cachedRatio: round((result.usage?.cachedInputTokens ?? 0) / Math.max(1, result.usage?.inputTokens ?? 0), 3),
        largestRunEvents: Math.max(...runs.map((r) => r.events)),
        largestRunBytes: Math.max(...runs.map((r) => r.bytes)),
      });
    }
  } finally {
    await baton.worker.stop();
  }
  return out;
}

function documentRows(docs: DocCost[]): Row[] {
  const rows: Row[] = docs.flatMap((d): Row[] => [
    {
      metric: `${d.steps} steps, 16-64 KiB outputs: history / store bytes per step`,
      baton: `${bytes(d.historyBytesPerStep)} / ${bytes(d.storeBytesPerStep)}`,
    },
    {
      metric: `${d.steps} steps, 16-64 KiB outputs: model input median / max; largest payload`,
      baton: `${bytes(d.modelInputMedian)} / ${bytes(d.modelInputMax)}; ${bytes(d.largestPayload)}`,
      ...(d === docs.at(-1)
        ? {
            key: 'history.largestPayload',
            value: d.largestPayload,
            target: '< 256 KiB',
            met: d.largestPayload < 256 * 1024,
          }
        : {}),
    },
    {
      metric: `${d.steps} steps, 16-64 KiB outputs: input tokens from the prompt cache; runs; largest run`,
      baton: `${(d.cachedRatio * 100).toFixed(0)} %; ${d.runs}; ${d.largestRunEvents} ev, ${bytes(d.largestRunBytes)}`,
      ...(d === docs.at(-1)
        ? {
            key: 'history.largestRunWithinLimits',
            value: Math.max(d.largestRunEvents / WARN_EVENTS, d.largestRunBytes / WARN_BYTES),
            target: `< ${WARN_EVENTS} ev, < 10 MiB`,
            met: d.largestRunEvents < WARN_EVENTS && d.largestRunBytes < WARN_BYTES,
          }
        : {}),
    },
  ]);
  const first = docs[0];
  const last = docs.at(-1);
  if (first && last && last !== first) {
    const growth = ratio(last.historyBytesPerStep, first.historyBytesPerStep);
    const storeGrowth = ratio(last.storeBytesPerStep, first.storeBytesPerStep);
    rows.push(
      targetRow(
        'history.bytesPerStepGrowth',
        {
          metric: `history bytes per step with 16-64 KiB outputs, ${last.steps} vs ${first.steps} steps`,
          baton: `${bytes(last.historyBytesPerStep)} / ${bytes(first.historyBytesPerStep)}`,
          ratio: growth,
        },
        growth,
        { max: FLAT },
      ),
      targetRow(
        'history.storeBytesPerStepGrowth',
        {
          metric: `store bytes per step, ${last.steps} vs ${first.steps} steps`,
          baton: `${bytes(last.storeBytesPerStep)} / ${bytes(first.storeBytesPerStep)}`,
          ratio: storeGrowth,
        },
        storeGrowth,
        { max: FLAT },
      ),
    );
  }
  return rows;
}

export async function historyCost(ctx: BenchContext): Promise<SectionResult> {
  const baton = await startWorker(ctx, 'baton');
  const raw = await startWorker(ctx, 'raw');
  const costs: Record<Flavor, Cost[]> = { baton: [], raw: [] };
  try {
    // History sizes do not depend on timing, so all the goals run at once: the run takes as long as the longest.
    const agents = ctx.config.history.steps.map((steps) => benchAgent(`bench-steps-${steps}`, steps));
    for (const agent of agents) ctx.model.load(agent.script);
    const settled = await Promise.allSettled(
      agents.flatMap((agent) =>
        (['baton', 'raw'] as const).map(async (flavor) => {
          const id = `history-${flavor}-${agent.steps}`;
          const begin = performance.now();
          const started = await startAgent(ctx, flavor, agent, (flavor === 'baton' ? baton : raw).taskQueue, id);
          expectDone(agent, id, await started.handle.result());
          const seconds = (performance.now() - begin) / 1000;
          ctx.log(`history: ${flavor} ${agent.steps} steps in ${seconds.toFixed(1)} s`);
          return { flavor, cost: cost(agent.steps, await runSizes(ctx.client, id, started.firstRunId), seconds) };
        }),
      ),
    );
    for (const m of settled) {
      if (m.status === 'rejected') throw m.reason;
      costs[m.value.flavor].push(m.value.cost);
    }
  } finally {
    await Promise.all([baton.worker.stop(), raw.worker.stop()]);
  }

  const rows: Row[] = [];
  costs.baton.forEach((b, i) => {
    const r = costs.raw[i]!;
    rows.push(
      {
        metric: `${b.steps} steps: events per step`,
        baton: b.eventsPerStep.toFixed(1),
        reference: r.eventsPerStep.toFixed(1),
        ratio: ratio(b.eventsPerStep, r.eventsPerStep),
      },
      {
        metric: `${b.steps} steps: search attribute updates per step`,
        baton: b.searchAttributeUpdatesPerStep.toFixed(2),
        reference: r.searchAttributeUpdatesPerStep.toFixed(2),
      },
      {
        metric: `${b.steps} steps: bytes per step`,
        baton: bytes(b.bytesPerStep),
        reference: bytes(r.bytesPerStep),
        ratio: ratio(b.bytesPerStep, r.bytesPerStep),
      },
      {
        metric: `${b.steps} steps: bytes per step without transcript copies`,
        baton: bytes(b.bytesPerStepWithoutTranscript),
        reference: bytes(r.bytesPerStepWithoutTranscript),
        ratio: ratio(b.bytesPerStepWithoutTranscript, r.bytesPerStepWithoutTranscript),
      },
      {
        metric: `${b.steps} steps: runs; largest run`,
        baton: `${b.runs}; ${b.largestRunEvents} ev, ${bytes(b.largestRunBytes)}`,
        reference: `${r.runs}; ${r.largestRunEvents} ev, ${bytes(r.largestRunBytes)}`,
        value: Math.max(b.largestRunEvents / WARN_EVENTS, b.largestRunBytes / WARN_BYTES),
        target: `< ${WARN_EVENTS} ev, < 10 MiB`,
        met: b.largestRunEvents < WARN_EVENTS && b.largestRunBytes < WARN_BYTES,
      },
    );
  });
  const first = costs.baton[0];
  const last = costs.baton.at(-1);
  if (first && last && last !== first) {
    const growth = ratio(last.bytesPerStep, first.bytesPerStep);
    const growthWithout = ratio(last.bytesPerStepWithoutTranscript, first.bytesPerStepWithoutTranscript);
    rows.push(
      targetRow(
        'history.tinyBytesPerStepGrowth',
        {
          metric: `bytes per step with tiny outputs, ${last.steps} vs ${first.steps} steps`,
          baton: `${bytes(last.bytesPerStep)} / ${bytes(first.bytesPerStep)}`,
          ratio: growth,
        },
        growth,
        { max: FLAT },
      ),
      targetRow(
        'history.bytesPerStepGrowthWithoutTranscript',
        {
          metric: `  the same without transcript copies`,
          baton: `${bytes(last.bytesPerStepWithoutTranscript)} / ${bytes(first.bytesPerStepWithoutTranscript)}`,
          ratio: growthWithout,
        },
        growthWithout,
        { max: FLAT },
      ),
    );
  }
  const docs = await documentCosts(ctx);
  rows.push(...documentRows(docs));
  return {
    name: 'history',
    title: `2. History cost per agent step (all runs of a goal, continue-as-new included)`,
    reference: 'raw Temporal',
    rows,
    notes: [
      'bytes and events as the server counts them (DescribeWorkflowExecution), summed over runs',
      'transcript copies = callModel inputs and run inputs (with tiny outputs and no payload store, each carries the transcript window)',
      '16-64 KiB outputs: Baton with a payload store (the conversation store keeps outputs and transcripts; calls name their context by reference); the prompt cache is the scripted model’s simulation of OpenAI’s (1,024-token minimum, 128-token steps)',
    ],
    data: { baton: costs.baton, raw: costs.raw, documents: docs, warnEvents: WARN_EVENTS, warnBytes: WARN_BYTES },
    chart: {
      groups: costs.baton.map((b, i) => {
        const r = costs.raw[i]!;
        return {
          metric: `${b.steps} steps: bytes per step`,
          bars: [
            { label: 'Baton', value: b.bytesPerStep, text: bytes(b.bytesPerStep) },
            { label: 'raw Temporal', value: r.bytesPerStep, text: bytes(r.bytesPerStep) },
          ],
        };
      }),
    },
  };
}
