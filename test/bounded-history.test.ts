/**
 * Bounded history against a real dev server: a goal of 300 steps continues as new at its configured step count,
 * and whenever the server suggests it, carrying memory, usage, plan and approvals; no run's history passes
 * 10,240 events or 10 MB (measured on the real histories, run by run).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { goalState } from '../src/client/goals.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import type { GoalArgs } from '../src/workflows/definitions.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { runsOf, type Run } from './helpers/history.js';
import { startDevServer } from './helpers/servers.js';
import { signedDecide } from './helpers/identity.js';

/** Temporal warns past these per-run sizes; Baton's goals must stay under them. */
const MAX_EVENTS = 10_240;
const MAX_BYTES = 10 * 1024 * 1024;
/** Small on purpose, so a few dozen steps cross a run boundary the server asked for. */
const SUGGEST_AFTER_EVENTS = 440;

let env: TestWorkflowEnvironment;
let h: Harness;
const ticks = new Map<string, number>();

beforeAll(async () => {
  env = await startDevServer({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_AFTER_EVENTS } });
  h = await createHarness(env, {
    builtins: {
      tick: {
        description: 'Count one unit of work',
        schema: z.strictObject({}),
        run(_, ctx) {
          const goal = ctx.idempotencyKey.split('/')[0] ?? '';
          const n = (ticks.get(goal) ?? 0) + 1;
          ticks.set(goal, n);
          return Promise.resolve(`tick #${n} done`);
        },
      },
      checkpoint: { description: 'Confirm the start', schema: z.strictObject({}), run: () => Promise.resolve('ok') },
    },
  });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

function script(goal: string, last: number, start: ScriptInput['replies'][number]['toolCalls']): ScriptInput {
  const usage = { input: 100, output: 10 };
  return {
    goal,
    replies: [
      { when: { agent: 'worker', after: 'user' }, toolCalls: start, usage },
      { when: { agent: 'worker', contains: `tick #${last} done` }, content: `Ticked ${last} times.`, usage },
      {
        when: { agent: 'worker', contains: 'tick #75 done' },
        toolCalls: [{ name: 'memory_write', arguments: { key: 'halfway', value: 75 } }, { name: 'tick' }],
        usage,
      },
      { when: { agent: 'worker', after: 'tool' }, toolCalls: [{ name: 'tick' }], usage },
    ],
  };
}

function ticker(name: string, stepsPerRun: number) {
  return blueprint(`apiVersion: baton/v1
name: ${name}
models: { default: { model: m, price: { input: 1, output: 1 } } }
agents:
  worker:
    role: planner
    instructions: Tick until done.
    tools: [tick, checkpoint, memory_write]
entry: worker
tools:
  tick: { type: builtin, sideEffect: idempotent }
  checkpoint: { type: builtin, sideEffect: none, approval: { approvers: [carol] } }
budget: { maxSteps: 400 }
limits: { stepsPerRun: ${stepsPerRun}, contextMessages: 12 }
`);
}

function carriedOf(run: Run): GoalArgs['carried'] {
  const input = run.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!input?.data) return undefined;
  return (JSON.parse(Buffer.from(input.data).toString('utf8')) as GoalArgs).carried;
}

function expectBounded(runs: Run[]): void {
  for (const run of runs) {
    expect(run.events.length).toBeLessThan(MAX_EVENTS);
    expect(run.bytes).toBeGreaterThan(0);
    expect(run.bytes).toBeLessThan(MAX_BYTES);
  }
}

describe('bounded history', () => {
  it('completes a 300-step goal across runs of at most stepsPerRun steps, carrying its state', async () => {
    h.model.load(
      script('long', 150, [
        { name: 'plan', arguments: { steps: [{ task: 'Tick 150 times', status: 'in_progress' }] } },
        { name: 'memory_write', arguments: { key: 'started', value: true } },
        { name: 'checkpoint' },
      ]),
    );
    const handle = await h.start(ticker('long', 60));
    await eventually(async () => {
      const s = await goalState(env.client, handle.workflowId);
      return s.pendingApprovals.length ? s : undefined;
    }, 'the checkpoint approval');
    await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by: 'carol' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', answer: 'Ticked 150 times.' });
    expect(result.steps).toBeGreaterThanOrEqual(300);

    const runs = await runsOf(env.client, handle.workflowId);
    expect(runs.length).toBe(6);
    expectBounded(runs);
    // Each run started where the last stopped: at the first step boundary at or after stepsPerRun (a reply's
    // tool calls finish in the run that made it), carrying what the goal knows.
    const carried = runs.slice(1).map(carriedOf);
    const starts = [0, ...carried.map((c) => c?.step ?? NaN)];
    for (let i = 1; i < starts.length; i++) {
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(60);
      expect(starts[i]! - starts[i - 1]!).toBeLessThanOrEqual(62);
    }
    expect(carried.map((c) => c?.run)).toEqual(carried.map((_, i) => i + 1));
    for (const c of carried) {
      expect(c?.plan?.steps[0]?.task).toBe('Tick 150 times');
      expect(c?.memory.find((m) => m.key === 'started')).toMatchObject({ agent: 'worker', step: 3 });
      expect(c?.approvals[0]).toMatchObject({ id: 'apr-1', tool: 'checkpoint', status: 'approved' });
      // The opening message, the 12 latest, and at most the rest of an exchange the cut fell into.
      expect(c?.messages.length).toBeLessThanOrEqual(15);
    }

    const state = await goalState(env.client, handle.workflowId);
    expect(state.run).toBe(runs.length);
    expect(state.memory.map((m) => m.key)).toEqual(['started', 'halfway']);
    expect(state.plan).toMatchObject({ agent: 'worker', revision: 1 });
    expect(state.approvals).toHaveLength(1);
    // 152 model calls of 100 input tokens each, counted across every run.
    expect(state.usage.inputTokens).toBe(15_200);
    expect(ticks.get(handle.workflowId)).toBe(150);
  });

  it('continues as new when the server suggests it', async () => {
    h.model.load(script('suggested', 50, [{ name: 'tick' }]));
    const handle = await h.start(ticker('suggested', 100_000));
    expect(await handle.result()).toMatchObject({ status: 'completed', answer: 'Ticked 50 times.' });
    const runs = await runsOf(env.client, handle.workflowId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expectBounded(runs);
    const first = runs[0]!;
    expect(first.events.length).toBeGreaterThanOrEqual(SUGGEST_AFTER_EVENTS);
    expect(first.events.length).toBeLessThan(SUGGEST_AFTER_EVENTS + 20);
    expect(first.events.some((e) => e.workflowTaskStartedEventAttributes?.suggestContinueAsNew)).toBe(true);
    expect(first.events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(carriedOf(runs[1]!)?.step).toBeLessThan(100_000);
    expect((await goalState(env.client, handle.workflowId)).usage.inputTokens).toBe(5_100);
  });
});
