/**
 * §3 Parked goals: goals waiting for approval on one worker process with a bounded workflow cache, grown step by
 * step to each count (1,000 then 5,000). At each count: the worker's resident memory (from /proc, the median of four
 * readings a second apart, each after a GC of the main thread) and the approve→resume latency, from sending the
 * `decide` update to the approved HTTP tool's call arriving at the driver's tool server, for goals spread over all
 * the parked ones, one at a time.
 */
import { benchAgent, BENCH_APPROVER } from '../agent.js';
import { mapLimit } from '../concurrency.js';
import { expectDone, startAgent, startWorker, type BenchContext } from '../context.js';
import { memoryOf } from '../proc.js';
import { median, mib, ms, ratio, round, summarize, type Summary } from '../stats.js';
import { targetRow, type Row, type SectionResult } from '../report.js';
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
  goalsParkedPerSecond: number;
  rss: number;
  peakRss: number;
  serverRss: number;
  resume: Summary;
  updateRoundTrip: Summary;
}

async function waitParked(ctx: BenchContext, taskQueue: string, goals: number): Promise<void> {
  const query = `TaskQueue = '${taskQueue}' AND BatonStatus = 'awaiting_approval'`;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const { count } = await ctx.client.workflow.count(query);
    if (count >= goals) return;
    if (Date.now() > deadline) throw new Error(`only ${count} of ${goals} goals reached awaiting_approval`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `k` of the ids, spread evenly over all of them (most of them long evicted from the worker's cache). */
function spread(ids: string[], k: number): string[] {
  const n = Math.min(k, ids.length);
  const step = ids.length / n;
  return Array.from({ length: n }, (_, i) => ids[Math.floor(i * step + step / 2)]!);
}

export async function parked(ctx: BenchContext): Promise<SectionResult> {
  const { cache, approvals, counts } = ctx.config.parked;
  const agent = benchAgent('bench-parked', 1, 1);
  ctx.model.load(agent.script);
  const { worker, taskQueue } = await startWorker(ctx, 'baton', { maxCachedWorkflows: cache });
  const results: Parked[] = [];
  let idleRss: number | undefined;
  try {
    idleRss = (await worker.memory()).rss;
    let waiting: string[] = [];
    let next = 0;
    for (const goals of [...counts].sort((a, b) => a - b)) {
      // Goals arrive paced, at most half a cache of them between their start and their model call, as a steady
      // stream would: a burst of thousands thrashes the cache and times out workflow tasks, not what is measured.
      const window = Math.max(10, Math.floor(cache / 2));
      const base = ctx.model.requests.length;
      let started = 0;
      const fresh = Array.from({ length: goals - waiting.length }, () => `parked-${next++}`);
      const begin = performance.now();
      await mapLimit(fresh, STARTS_IN_FLIGHT, async (id) => {
        while (started - (ctx.model.requests.length - base) >= window) await new Promise((r) => setTimeout(r, 20));
        started += 1;
        await startAgent(ctx, 'baton', agent, taskQueue, id);
      });
      await waitParked(ctx, taskQueue, goals);
      const parkSeconds = (performance.now() - begin) / 1000;
      waiting = [...waiting, ...fresh];
      // RSS moves with garbage collection in the workflow thread: settle, then take the median of a few readings.
      const readings: { rss: number; peakRss: number }[] = [];
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        readings.push(await worker.memory());
      }
      const memory = { rss: median(readings.map((m) => m.rss)), peakRss: readings.at(-1)!.peakRss };
      const serverRss = ctx.serverPid === undefined ? Number.NaN : memoryOf(ctx.serverPid).rss;

      const resume: number[] = [];
      const roundTrip: number[] = [];
      const decided = spread(waiting, approvals);
      for (const id of decided) {
        const handle = ctx.client.workflow.getHandle<typeof goalWorkflow>(id);
        const sent = wallClock();
        await handle.executeUpdate(decideUpdate, {
          args: [{ approvalId: 'apr-1', decision: 'approve', by: BENCH_APPROVER }],
        });
        roundTrip.push(wallClock() - sent);
        resume.push((await ctx.tools.arrival(id)) - sent);
        expectDone(agent, id, await handle.result());
      }
      waiting = waiting.filter((id) => !decided.includes(id));
      results.push({
        goals,
        goalsParkedPerSecond: round(fresh.length / parkSeconds, 1),
        rss: memory.rss,
        peakRss: memory.peakRss,
        serverRss,
        resume: summarize(resume),
        updateRoundTrip: summarize(roundTrip),
      });
      ctx.log(
        `parked: ${goals} goals, worker RSS ${mib(memory.rss)}, resume p50 ${ms(resume.length ? summarize(resume).median : NaN)}`,
      );
    }
  } finally {
    await worker.stop();
  }

  const rows: Row[] = [{ metric: 'idle worker RSS', baton: mib(idleRss ?? Number.NaN) }];
  for (const r of results) {
    rows.push(
      {
        metric: `${r.goals} parked: worker RSS (peak so far)`,
        baton: `${mib(r.rss)} (${mib(r.peakRss)})`,
        target: `bounded by cache of ${cache}`,
      },
      targetRow(
        r === results.at(-1) ? 'parked.resumeP50' : `parked.resumeP50.at${r.goals}`,
        { metric: `${r.goals} parked: approve -> resume p50`, baton: ms(r.resume.median) },
        r.resume.median,
        { max: RESUME_P50 },
        ' ms',
      ),
      { metric: `${r.goals} parked: approve -> resume p99`, baton: ms(r.resume.p99) },
      { metric: `${r.goals} parked: decide update round trip p50`, baton: ms(r.updateRoundTrip.median) },
      { metric: `${r.goals} parked: goals parked per second`, baton: r.goalsParkedPerSecond.toFixed(1) },
    );
  }
  const small = results[0];
  const large = results.at(-1);
  if (small && large && large !== small) {
    const growth = ratio(large.rss, small.rss);
    rows.push(
      targetRow(
        'parked.rssGrowth',
        {
          metric: `worker RSS, ${large.goals} vs ${small.goals} parked`,
          baton: `${mib(large.rss)} / ${mib(small.rss)}`,
          ratio: growth,
        },
        growth,
        { max: BOUNDED },
      ),
    );
  }
  return {
    name: 'parked',
    title: `3. Parked goals waiting for approval, one worker process (maxCachedWorkflows ${cache})`,
    rows,
    notes: [
      `approve -> resume: decide update sent -> the approved tool's HTTP call arrives; ${approvals} goals spread over all parked ones, one at a time`,
      'most of them were evicted from the cache long before, so resuming replays their history first',
    ],
    data: { cache, approvals, idleRss, results },
    chart: {
      groups: [
        {
          metric: 'worker RSS (MiB)',
          bars: [
            ...(idleRss === undefined ? [] : [{ label: 'idle', value: idleRss, text: mib(idleRss) }]),
            ...results.map((r) => ({ label: `${r.goals} parked`, value: r.rss, text: mib(r.rss) })),
          ],
        },
        {
          metric: 'approve -> resume p50',
          bars: results.map((r) => ({ label: `${r.goals} parked`, value: r.resume.median, text: ms(r.resume.median) })),
        },
      ],
    },
  };
}
