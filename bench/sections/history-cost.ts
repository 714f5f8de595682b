/**
 * §2 History cost: what each agent step adds to the history, at 10, 100 and 1,000 steps, for Baton and the floor.
 * Both continue as new when the server suggests it; every run is checked against the server's warning limits.
 * The goals run at the same time (sizes do not depend on timing).
 */
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
        ...(b === costs.baton.at(-1) ? { key: 'history.largestRunWithinLimits' } : {}),
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
        'history.bytesPerStepGrowth',
        {
          metric: `bytes per step, ${last.steps} vs ${first.steps} steps`,
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
  return {
    name: 'history',
    title: `2. History cost per agent step (all runs of a goal, continue-as-new included)`,
    reference: 'raw Temporal',
    rows,
    notes: [
      'bytes and events as the server counts them (DescribeWorkflowExecution), summed over runs',
      'transcript copies = callModel inputs and run inputs: each carries the whole transcript so far, so they grow with the step count',
    ],
    data: { baton: costs.baton, raw: costs.raw, warnEvents: WARN_EVENTS, warnBytes: WARN_BYTES },
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
