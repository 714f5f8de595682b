/**
 * §3 Parked goals: N goals waiting for approval on one worker process with a bounded workflow cache. Measures the
 * worker's resident memory (from /proc, after a full GC) and the approve→resume latency: from sending the `decide`
 * update to the approved HTTP tool's call arriving at the driver's tool server, for goals spread over all of them,
 * one at a time.
 */
import { benchAgent, BENCH_APPROVER } from '../agent.js';
import { mapLimit } from '../concurrency.js';
import { expectDone, startAgent, startWorker, type BenchContext } from '../context.js';
import { memoryOf } from '../proc.js';
import { mib, ms, ratio, round, summarize, type Summary } from '../stats.js';
import type { Row, SectionResult } from '../report.js';
import { wallClock } from '../tool-server.js';
import { decideUpdate } from '../../src/workflows/definitions.js';
import type { goalWorkflow } from '../../src/workflows/goal.js';

const STARTS_IN_FLIGHT = 50;
/** approve→resume p50 target, ms. */
const RESUME_P50 = 50;
/** Worker RSS may grow this much from the smallest to the largest number of parked goals and count as bounded. */
const BOUNDED = 1.25;

interface Parked {
  goals: number;
  cache: number;
  secondsToPark: number;
  idleRss: number;
  parkedRss: number;
  parkedHeap: number;
  peakRss: number;
  serverRss: number;
  resume: Summary;
  updateRoundTrip: Summary;
}

async function waitParked(ctx: BenchContext, taskQueue: string, goals: number): Promise<void> {
  const query = `TaskQueue = '${taskQueue}' AND BatonStatus = 'awaiting_approval'`;
  const deadline = Date.now() + 15 * 60_000;
  let last = -1;
  for (;;) {
    const { count } = await ctx.client.workflow.count(query);
    if (count >= goals) return;
    if (Date.now() > deadline) throw new Error(`only ${count} of ${goals} goals reached awaiting_approval`);
    if (count !== last && count > 0) ctx.log(`parked: ${count}/${goals} waiting`);
    last = count;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A deterministic sample of `k` of the ids, spread over all of them (mostly evicted from the worker's cache). */
function sample(ids: string[], k: number): string[] {
  const step = ids.length / Math.min(k, ids.length);
  return Array.from({ length: Math.min(k, ids.length) }, (_, i) => ids[Math.floor(i * step + step / 2)]!);
}

async function parkAndResume(ctx: BenchContext, goals: number): Promise<Parked> {
  const { cache, approvals } = ctx.config.parked;
  const agent = benchAgent('bench-parked', 1, 1);
  ctx.model.load(agent.script);
  const { worker, taskQueue } = await startWorker(ctx, 'baton', { maxCachedWorkflows: cache });
  try {
    const idle = await worker.memory();
    const ids = Array.from({ length: goals }, (_, i) => `parked-${goals}-${i}`);
    const begin = performance.now();
    await mapLimit(ids, STARTS_IN_FLIGHT, (id) => startAgent(ctx, 'baton', agent, taskQueue, id));
    await waitParked(ctx, taskQueue, goals);
    const secondsToPark = (performance.now() - begin) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const parked = await worker.memory();
    const server = ctx.serverPid === undefined ? Number.NaN : memoryOf(ctx.serverPid).rss;

    const resume: number[] = [];
    const roundTrip: number[] = [];
    for (const id of sample(ids, approvals)) {
      const handle = ctx.client.workflow.getHandle<typeof goalWorkflow>(id);
      const sent = wallClock();
      await handle.executeUpdate(decideUpdate, {
        args: [{ approvalId: 'apr-1', decision: 'approve', by: BENCH_APPROVER }],
      });
      roundTrip.push(wallClock() - sent);
      resume.push((await ctx.tools.arrival(id)) - sent);
      expectDone(agent, id, await handle.result());
    }
    const after = await worker.memory();
    return {
      goals,
      cache,
      secondsToPark: round(secondsToPark, 1),
      idleRss: idle.rss,
      parkedRss: parked.rss,
      parkedHeap: parked.heapUsed,
      peakRss: after.peakRss,
      serverRss: server,
      resume: summarize(resume),
      updateRoundTrip: summarize(roundTrip),
    };
  } finally {
    await worker.stop();
  }
}

export async function parked(ctx: BenchContext): Promise<SectionResult> {
  const results: Parked[] = [];
  for (const goals of ctx.config.parked.counts) {
    results.push(await parkAndResume(ctx, goals));
    const r = results.at(-1)!;
    ctx.log(`parked: ${goals} goals, worker RSS ${mib(r.parkedRss)}, resume p50 ${ms(r.resume.median)}`);
  }
  const rows: Row[] = [];
  for (const r of results) {
    rows.push(
      {
        metric: `${r.goals} parked: worker RSS (idle -> parked)`,
        baton: `${mib(r.idleRss)} -> ${mib(r.parkedRss)}`,
        target: `cache ${r.cache} workflows`,
      },
      { metric: `${r.goals} parked: worker heap used, peak RSS`, baton: `${mib(r.parkedHeap)}, ${mib(r.peakRss)}` },
      {
        metric: `${r.goals} parked: approve -> resume p50`,
        baton: ms(r.resume.median),
        target: `< ${RESUME_P50} ms`,
        met: r.resume.median < RESUME_P50,
      },
      { metric: `${r.goals} parked: approve -> resume p99`, baton: ms(r.resume.p99) },
      { metric: `${r.goals} parked: decide update round trip p50`, baton: ms(r.updateRoundTrip.median) },
    );
  }
  const small = results[0];
  const large = results.at(-1);
  if (small && large && large !== small) {
    const growth = ratio(large.parkedRss, small.parkedRss);
    rows.push({
      metric: `worker RSS, ${large.goals} vs ${small.goals} parked`,
      baton: `${mib(large.parkedRss)} / ${mib(small.parkedRss)}`,
      ratio: growth,
      target: `<= ${BOUNDED} (bounded by cache)`,
      met: growth <= BOUNDED,
    });
  }
  return {
    name: 'parked',
    title: `3. Parked goals: waiting for approval on one worker (maxCachedWorkflows ${ctx.config.parked.cache})`,
    rows,
    notes: [
      `approve -> resume: decide update sent -> the approved tool's HTTP call arrives, ${ctx.config.parked.approvals} goals spread over the parked ones, one at a time`,
      'most sampled goals were evicted from the cache, so resuming them replays their history first',
    ],
    data: { results },
  };
}
