/**
 * §1 Overhead per agent step: the same N-step agent on Baton's goal loop and on the hand-written floor, one goal at
 * a time, alternating flavors so drift on a shared machine hits both alike. A step runs from one model call being
 * scheduled to the next (server timestamps): the model call, the workflow task, the tool call, the workflow task.
 */
import { benchAgent } from '../agent.js';
import { expectDone, startAgent, startWorker, type BenchContext, type Flavor } from '../context.js';
import { firstCallSpans, modelCallTimes, startTime, workflowTaskTimes, type FirstCallSpans } from '../history.js';
import { ms, ratio, summarize } from '../stats.js';
import { targetRow, type SectionResult } from '../report.js';

/** Targets, Baton / floor (issue 16). */
const STEP_MEDIAN = 1.1;
const STEP_P99 = 1.2;
const FIRST_MODEL_CALL = 1.3;

interface Samples {
  steps: number[];
  firstModelCall: number[];
  goal: number[];
  /** The worker's time on a goal's first workflow task, and on every later one. */
  firstTask: number[];
  laterTasks: number[];
  firstCall: FirstCallSpans[];
}

export async function overhead(ctx: BenchContext): Promise<SectionResult> {
  const { goals, steps, warmup } = ctx.config.overhead;
  const agent = benchAgent(`bench-steps-${steps}`, steps);
  ctx.model.load(agent.script);
  const baton = await startWorker(ctx, 'baton');
  const raw = await startWorker(ctx, 'raw');
  const samples: Record<Flavor, Samples> = {
    baton: { steps: [], firstModelCall: [], goal: [], firstTask: [], laterTasks: [], firstCall: [] },
    raw: { steps: [], firstModelCall: [], goal: [], firstTask: [], laterTasks: [], firstCall: [] },
  };
  let seq = 0;
  const runOne = async (flavor: Flavor, record: boolean): Promise<void> => {
    const id = `overhead-${flavor}-${seq++}`;
    const begin = performance.now();
    const { handle } = await startAgent(ctx, flavor, agent, (flavor === 'baton' ? baton : raw).taskQueue, id);
    expectDone(agent, id, await handle.result());
    const elapsed = performance.now() - begin;
    if (!record) return;
    const history = await handle.fetchHistory();
    const calls = modelCallTimes(history);
    samples[flavor].goal.push(elapsed);
    samples[flavor].firstModelCall.push(calls[0]! - startTime(history));
    for (let k = 1; k < calls.length; k++) samples[flavor].steps.push(calls[k]! - calls[k - 1]!);
    const [first, ...later] = workflowTaskTimes(history);
    if (first !== undefined) samples[flavor].firstTask.push(first);
    samples[flavor].laterTasks.push(...later);
    const spans = firstCallSpans(history);
    if (spans) samples[flavor].firstCall.push(spans);
  };
  try {
    for (let i = 0; i < warmup; i++) {
      await runOne('baton', false);
      await runOne('raw', false);
    }
    for (let i = 0; i < goals; i++) {
      const order: Flavor[] = i % 2 === 0 ? ['baton', 'raw'] : ['raw', 'baton'];
      for (const flavor of order) await runOne(flavor, true);
      if ((i + 1) % 10 === 0) ctx.log(`overhead: ${i + 1}/${goals} goal pairs`);
    }
  } finally {
    await Promise.all([baton.worker.stop(), raw.worker.stop()]);
  }
  const b = { steps: summarize(samples.baton.steps), first: summarize(samples.baton.firstModelCall) };
  const r = { steps: summarize(samples.raw.steps), first: summarize(samples.raw.firstModelCall) };
  const bGoal = summarize(samples.baton.goal);
  const rGoal = summarize(samples.raw.goal);
  const bTask = { first: summarize(samples.baton.firstTask), later: summarize(samples.baton.laterTasks) };
  const rTask = { first: summarize(samples.raw.firstTask), later: summarize(samples.raw.laterTasks) };
  const firstCall = (flavor: Flavor) => {
    const of = (k: keyof FirstCallSpans) => summarize(samples[flavor].firstCall.map((s) => s[k])).median;
    return { toTask: of('toTask'), task: of('task'), toCall: of('toCall') };
  };
  const bFirst = firstCall('baton');
  const rFirst = firstCall('raw');
  const medianRatio = ratio(b.steps.median, r.steps.median);
  const p99Ratio = ratio(b.steps.p99, r.steps.p99);
  const firstRatio = ratio(b.first.median, r.first.median);
  const pair = (metric: string, baton: number, reference: number) => ({
    metric,
    bars: [
      { label: 'Baton', value: baton, text: ms(baton) },
      { label: 'raw Temporal', value: reference, text: ms(reference) },
    ],
  });
  return {
    name: 'overhead',
    title: `1. Overhead per agent step (${goals} goals of ${steps} steps per flavor, one at a time, same worker options)`,
    reference: 'raw Temporal',
    rows: [
      targetRow(
        'overhead.stepMedian',
        { metric: 'step, median', baton: ms(b.steps.median), reference: ms(r.steps.median), ratio: medianRatio },
        medianRatio,
        { max: STEP_MEDIAN },
      ),
      targetRow(
        'overhead.stepP99',
        { metric: 'step, p99', baton: ms(b.steps.p99), reference: ms(r.steps.p99), ratio: p99Ratio },
        p99Ratio,
        { max: STEP_P99 },
      ),
      targetRow(
        'overhead.firstModelCall',
        {
          metric: 'start -> first model call, median',
          baton: ms(b.first.median),
          reference: ms(r.first.median),
          ratio: firstRatio,
        },
        firstRatio,
        { max: FIRST_MODEL_CALL },
      ),
      {
        metric: `whole ${steps}-step goal, median`,
        baton: ms(bGoal.median),
        reference: ms(rGoal.median),
        ratio: ratio(bGoal.median, rGoal.median),
      },
      {
        metric: "worker's first workflow task, median",
        baton: ms(bTask.first.median),
        reference: ms(rTask.first.median),
        ratio: ratio(bTask.first.median, rTask.first.median),
      },
      {
        metric: "worker's later workflow tasks, median",
        baton: ms(bTask.later.median),
        reference: ms(rTask.later.median),
        ratio: ratio(bTask.later.median, rTask.later.median),
      },
    ],
    notes: [
      `${b.steps.n} Baton and ${r.steps.n} floor step samples; a step = model call + tool call + their two workflow tasks`,
      'workflow task = started -> completed in the history: the time the worker held it',
      `start -> first model call, medians, Baton | floor: started -> first workflow task started ${ms(bFirst.toTask)} | ` +
        `${ms(rFirst.toTask)}, the worker holds it ${ms(bFirst.task)} | ${ms(rFirst.task)}, ` +
        `task completed -> model call scheduled ${ms(bFirst.toCall)} | ${ms(rFirst.toCall)}`,
    ],
    data: {
      goals,
      steps,
      baton: { ...b, goal: bGoal, tasks: bTask, firstCallSpans: bFirst },
      raw: { ...r, goal: rGoal, tasks: rTask, firstCallSpans: rFirst },
      medianRatio,
      p99Ratio,
      firstModelCallRatio: firstRatio,
    },
    chart: {
      groups: [
        pair('step, median', b.steps.median, r.steps.median),
        pair('step, p99', b.steps.p99, r.steps.p99),
        pair('start -> first model call, median', b.first.median, r.first.median),
        pair("worker's first workflow task, median", bTask.first.median, rTask.first.median),
        pair("worker's later workflow tasks, median", bTask.later.median, rTask.later.median),
      ],
    },
  };
}
