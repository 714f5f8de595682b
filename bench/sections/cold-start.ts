/**
 * §5 Cold start: a fresh worker process, from spawn to polling, loading Baton's prebuilt workflow bundle
 * (dist/workflow-bundle.js, what `baton worker` uses) against bundling the workflow code at start.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.js';
import { median, ms, ratio, round } from '../stats.js';
import { targetRow, type SectionResult } from '../report.js';
import { BenchWorker } from '../workers.js';
import type { WorkerSpec } from '../worker-process.js';

const workflowsModule = fileURLToPath(new URL('../../dist/workflows/index.js', import.meta.url));

export async function coldStart(ctx: BenchContext): Promise<SectionResult> {
  const variants: Record<'prebundled' | 'bundling', WorkerSpec['workflowCode']> = {
    prebundled: { workflowBundle: { codePath: ctx.batonBundle } },
    bundling: { workflowsPath: workflowsModule },
  };
  const samples: Record<keyof typeof variants, { ready: number[]; create: number[] }> = {
    prebundled: { ready: [], create: [] },
    bundling: { ready: [], create: [] },
  };
  for (let rep = 0; rep < ctx.config.coldStart.reps; rep++) {
    for (const variant of ['prebundled', 'bundling'] as const) {
      const worker = await BenchWorker.start({
        address: ctx.address,
        namespace: ctx.namespace,
        taskQueue: `bench-cold-${randomUUID().slice(0, 8)}`,
        modelBaseURL: ctx.model.baseURL,
        env: {},
        workflowCode: variants[variant],
      });
      samples[variant].ready.push(worker.spawnToReadyMs);
      samples[variant].create.push(worker.ready.createMs);
      await worker.stop();
    }
  }
  const pre = { ready: median(samples.prebundled.ready), create: median(samples.prebundled.create) };
  const bun = { ready: median(samples.bundling.ready), create: median(samples.bundling.create) };
  return {
    name: 'cold-start',
    title: `5. Cold start: fresh worker process to polling (median of ${ctx.config.coldStart.reps})`,
    reference: 'bundling at start',
    rows: [
      targetRow(
        'coldStart.prebundled',
        {
          metric: 'spawn -> worker polling',
          baton: ms(pre.ready),
          reference: ms(bun.ready),
          ratio: ratio(pre.ready, bun.ready),
        },
        ratio(pre.ready, bun.ready),
        { max: 1 },
      ),
      {
        metric: 'of which Worker.create',
        baton: ms(pre.create),
        reference: ms(bun.create),
        ratio: ratio(pre.create, bun.create),
      },
    ],
    notes: [
      'Baton column: the prebuilt dist/workflow-bundle.js; reference: the same code bundled by the worker at start',
      'the process loads the compiled dist/ modules (under the tsx loader the bench uses for its own files)',
    ],
    data: {
      reps: ctx.config.coldStart.reps,
      prebundled: { readyMs: round(pre.ready), createMs: round(pre.create), samples: samples.prebundled },
      bundlingAtStart: { readyMs: round(bun.ready), createMs: round(bun.create), samples: samples.bundling },
    },
    chart: {
      groups: [
        {
          metric: 'spawn -> worker polling',
          bars: [
            { label: 'prebundled (Baton)', value: pre.ready, text: ms(pre.ready) },
            { label: 'bundling at start', value: bun.ready, text: ms(bun.ready) },
          ],
        },
        {
          metric: 'of which Worker.create',
          bars: [
            { label: 'prebundled (Baton)', value: pre.create, text: ms(pre.create) },
            { label: 'bundling at start', value: bun.create, text: ms(bun.create) },
          ],
        },
      ],
    },
  };
}
