/**
 * §4 Throughput: many three-step goals at once on one worker process (default worker options), until all are done:
 * goals per second, and the CPU time each goal costs the worker, the dev server and the driver (client + model).
 * Baton and the floor run in alternating rounds (ABBA) on workers that stay up.
 */
import { benchAgent } from '../agent.js';
import { mapLimit } from '../concurrency.js';
import { expectDone, startAgent, startWorker, type BenchContext, type Flavor } from '../context.js';
import { cpuMsOf } from '../proc.js';
import { ms, ratio, round } from '../stats.js';
import { targetRow, type SectionResult } from '../report.js';

/** Targets, Baton / floor (issue 16). */
const GOALS_PER_SECOND = 0.9;
const WORKER_CPU = 1.15;

/** Start requests in flight at once. */
const STARTS_IN_FLIGHT = 50;
/** Rounds per flavor (ABBA), each of at least MIN_ROUND goals so that a round still runs many goals at once. */
const ROUNDS = 4;
const MIN_ROUND = 10;

/** A flavor's measured rounds added up: goals, wall time and CPU milliseconds. */
interface Totals {
  goals: number;
  ms: number;
  workerCpuMs: number;
  serverCpuMs: number;
  driverCpuMs: number;
}

interface Run {
  goals: number;
  seconds: number;
  goalsPerSecond: number;
  workerCpuMsPerGoal: number;
  serverCpuMsPerGoal: number;
  driverCpuMsPerGoal: number;
}

export async function throughput(ctx: BenchContext): Promise<SectionResult> {
  const { goals, warmup } = ctx.config.throughput;
  const agent = benchAgent('bench-steps-3', 3);
  ctx.model.load(agent.script);
  let seq = 0;
  const batch = async (flavor: Flavor, taskQueue: string, n: number): Promise<void> => {
    const ids = Array.from({ length: n }, () => `throughput-${flavor}-${seq++}`);
    const handles = await mapLimit(ids, STARTS_IN_FLIGHT, async (id) => {
      const { handle } = await startAgent(ctx, flavor, agent, taskQueue, id);
      return handle;
    });
    await Promise.all(handles.map(async (h, i) => expectDone(agent, ids[i]!, await h.result())));
  };
  // Both workers stay up and the goals run in rounds, flavors alternating (ABBA): drift in the machine's load hits
  // both alike, where one flavor's whole batch after the other's measured two different machines.
  const workers = { baton: await startWorker(ctx, 'baton'), raw: await startWorker(ctx, 'raw') };
  const zero = (): Totals => ({ goals: 0, ms: 0, workerCpuMs: 0, serverCpuMs: 0, driverCpuMs: 0 });
  const totals: Record<Flavor, Totals> = { baton: zero(), raw: zero() };
  const measured = async (flavor: Flavor, n: number): Promise<void> => {
    const { worker, taskQueue } = workers[flavor];
    const cpu0 = { worker: worker.cpuMs(), server: serverCpu(ctx), driver: driverCpuMs() };
    const begin = performance.now();
    await batch(flavor, taskQueue, n);
    const t = totals[flavor];
    t.ms += performance.now() - begin;
    t.goals += n;
    t.workerCpuMs += worker.cpuMs() - cpu0.worker;
    t.serverCpuMs += serverCpu(ctx) - cpu0.server;
    t.driverCpuMs += driverCpuMs() - cpu0.driver;
  };
  const rounds = Math.max(1, Math.min(ROUNDS, Math.floor(goals / MIN_ROUND)));
  try {
    for (const flavor of ['baton', 'raw'] as const) await batch(flavor, workers[flavor].taskQueue, warmup);
    for (let r = 0; r < rounds; r++) {
      const n = Math.floor(goals / rounds) + (r < goals % rounds ? 1 : 0);
      const order: Flavor[] = r % 2 === 0 ? ['baton', 'raw'] : ['raw', 'baton'];
      for (const flavor of order) await measured(flavor, n);
    }
  } finally {
    await Promise.all([workers.baton.worker.stop(), workers.raw.worker.stop()]);
  }
  const run = (flavor: Flavor): Run => {
    const t = totals[flavor];
    return {
      goals: t.goals,
      seconds: round(t.ms / 1000),
      goalsPerSecond: round(t.goals / (t.ms / 1000)),
      workerCpuMsPerGoal: round(t.workerCpuMs / t.goals),
      serverCpuMsPerGoal: round(t.serverCpuMs / t.goals),
      driverCpuMsPerGoal: round(t.driverCpuMs / t.goals),
    };
  };
  const baton = run('baton');
  const raw = run('raw');
  ctx.log(`throughput: Baton ${baton.goalsPerSecond} goals/s, the floor ${raw.goalsPerSecond}`);
  const rate = ratio(baton.goalsPerSecond, raw.goalsPerSecond);
  const cpu = ratio(baton.workerCpuMsPerGoal, raw.workerCpuMsPerGoal);
  return {
    name: 'throughput',
    title: `4. Throughput: ${goals} three-step goals per flavor, in ${rounds} rounds of about ${Math.round(goals / rounds)} started together, flavors alternating (one worker each, default options)`,
    reference: 'raw Temporal',
    rows: [
      targetRow(
        'throughput.goalsPerSecond',
        {
          metric: 'goals per second',
          baton: baton.goalsPerSecond.toFixed(1),
          reference: raw.goalsPerSecond.toFixed(1),
          ratio: rate,
        },
        rate,
        { min: GOALS_PER_SECOND },
      ),
      targetRow(
        'throughput.workerCpuPerGoal',
        {
          metric: 'worker CPU per goal',
          baton: ms(baton.workerCpuMsPerGoal),
          reference: ms(raw.workerCpuMsPerGoal),
          ratio: cpu,
        },
        cpu,
        { max: WORKER_CPU },
      ),
      {
        metric: 'dev server CPU per goal',
        baton: ms(baton.serverCpuMsPerGoal),
        reference: ms(raw.serverCpuMsPerGoal),
        ratio: ratio(baton.serverCpuMsPerGoal, raw.serverCpuMsPerGoal),
      },
      {
        metric: 'driver CPU per goal (client + scripted model)',
        baton: ms(baton.driverCpuMsPerGoal),
        reference: ms(raw.driverCpuMsPerGoal),
        ratio: ratio(baton.driverCpuMsPerGoal, raw.driverCpuMsPerGoal),
      },
    ],
    notes: [
      'a goal = 4 model calls + 3 tool calls; worker, dev server and driver share the same 2 cores, so goals/s is bounded by their sum',
    ],
    data: { baton, raw, goalsPerSecondRatio: rate, workerCpuRatio: cpu },
    chart: {
      groups: [
        {
          metric: 'goals per second',
          bars: [
            { label: 'Baton', value: baton.goalsPerSecond, text: baton.goalsPerSecond.toFixed(1) },
            { label: 'raw Temporal', value: raw.goalsPerSecond, text: raw.goalsPerSecond.toFixed(1) },
          ],
        },
        ...(['workerCpuMsPerGoal', 'serverCpuMsPerGoal', 'driverCpuMsPerGoal'] as const).map((k) => ({
          metric:
            { workerCpuMsPerGoal: 'worker', serverCpuMsPerGoal: 'dev server', driverCpuMsPerGoal: 'driver' }[k] +
            ' CPU per goal',
          bars: [
            { label: 'Baton', value: baton[k], text: ms(baton[k]) },
            { label: 'raw Temporal', value: raw[k], text: ms(raw[k]) },
          ],
        })),
      ],
    },
  };
}

function serverCpu(ctx: BenchContext): number {
  return ctx.serverPid === undefined ? Number.NaN : cpuMsOf(ctx.serverPid);
}

function driverCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
