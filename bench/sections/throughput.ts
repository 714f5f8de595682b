/**
 * §4 Throughput: many three-step goals at once on one worker process (default worker options), until all are done:
 * goals per second, and the CPU time each goal costs the worker, the dev server and the driver (client + model).
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
  const measure = async (flavor: Flavor): Promise<Run> => {
    const { worker, taskQueue } = await startWorker(ctx, flavor);
    try {
      await batch(flavor, taskQueue, warmup);
      const cpu0 = { worker: worker.cpuMs(), server: serverCpu(ctx), driver: driverCpuMs() };
      const begin = performance.now();
      await batch(flavor, taskQueue, goals);
      const seconds = (performance.now() - begin) / 1000;
      return {
        goals,
        seconds: round(seconds),
        goalsPerSecond: round(goals / seconds),
        workerCpuMsPerGoal: round((worker.cpuMs() - cpu0.worker) / goals),
        serverCpuMsPerGoal: round((serverCpu(ctx) - cpu0.server) / goals),
        driverCpuMsPerGoal: round((driverCpuMs() - cpu0.driver) / goals),
      };
    } finally {
      await worker.stop();
    }
  };
  const baton = await measure('baton');
  ctx.log(`throughput: Baton ${baton.goalsPerSecond} goals/s`);
  const raw = await measure('raw');
  const rate = ratio(baton.goalsPerSecond, raw.goalsPerSecond);
  const cpu = ratio(baton.workerCpuMsPerGoal, raw.workerCpuMsPerGoal);
  return {
    name: 'throughput',
    title: `4. Throughput: ${goals} three-step goals started together on one worker (default worker options)`,
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
