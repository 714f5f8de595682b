/**
 * Builtin tools without side effects and with a short timeout run as local activities (issue 16): one trip through
 * the server per step instead of two. The same blueprint with a long timeout runs them as scheduled activities; the
 * goal, its audit and its Web UI summaries come out the same, goals without a cache (every task replays the local
 * activities' markers) answer queries and take decisions, and their histories replay.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditGoal, type AuditEntry } from '../src/audit/index.js';
import { goalState } from '../src/client/goals.js';
import { normalizeEvents } from '../src/audit/history.js';
import type { GoalResult } from '../src/workflows/definitions.js';
import { localToolsBlueprint, localToolsBuiltins, localToolsScript } from './fixtures/local-tools.js';
import { blueprint, createHarness, eventually, type Harness } from './helpers/harness.js';
import { signedDecide } from './helpers/identity.js';
import { startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;
const local = blueprint(localToolsBlueprint('2s'));
const scheduled = blueprint(localToolsBlueprint('30s'));

beforeAll(async () => {
  env = await startDevServer();
  h = await createHarness(env, { scripts: [localToolsScript], builtins: localToolsBuiltins() });
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

/** Runs one goal to its end: alice approves the refund once it waits; the state is queried on the way. */
async function run(loaded: typeof local, id: string): Promise<GoalResult> {
  const handle = await h.start(loaded, {}, id);
  const parked = await eventually(async () => {
    const s = await goalState(env.client, id);
    return s.status === 'awaiting_approval' ? s : undefined;
  }, `${id} to wait for approval`);
  expect(parked.pendingApprovals.map((a) => a.tool)).toEqual(['issue_refund']);
  await signedDecide(env.client, id, { approvalId: 'apr-1', decision: 'approve', by: 'alice' });
  const result = await handle.result();
  expect((await goalState(env.client, id)).status).toBe('completed');
  return result;
}

async function events(id: string) {
  return normalizeEvents(await env.client.workflow.getHandle(id).fetchHistory());
}

/** A tool call's audit record without what differs between two goals or two ways of running: ids and times. */
function comparable(e: AuditEntry) {
  const d = e.data;
  return {
    actor: e.actor,
    summary: e.summary.replace(/ \([^)]*\)$/, ''),
    tool: d.tool,
    agent: d.agent,
    args: d.args,
    outcome: d.outcome,
    ranActivity: d.ranActivity,
    sideEffect: d.sideEffect,
    status: d.status,
    attempts: d.attempts,
    // The demo API numbers its refunds: the second goal's refund is another one.
    result: JSON.parse(JSON.stringify(d.result ?? null).replace(/r-\d+/g, 'r-N')) as unknown,
    failure: d.failure,
  };
}

describe('builtin tools as local activities', () => {
  const ids = { local: `local-tools-local-${Date.now()}`, scheduled: `local-tools-scheduled-${Date.now()}` };
  const results: Partial<Record<keyof typeof ids, GoalResult>> = {};

  it('run inside the workflow task, with the same retries, failures and result as scheduled activities', async () => {
    results.scheduled = await run(scheduled, ids.scheduled);
    results.local = await run(local, ids.local);
    expect(results.local.answer).toBe('Refunded 120 USD to c-42 and noted it.');
    expect({ ...results.local, humanWaitMs: 0 }).toEqual({ ...results.scheduled, humanWaitMs: 0 });

    const activities = (ev: Awaited<ReturnType<typeof events>>) =>
      ev.flatMap((e) => (e.type === 'ActivityTaskScheduled' ? [(e.attrs.activityType as { name: string }).name] : []));
    const markers = (ev: Awaited<ReturnType<typeof events>>) =>
      ev.filter((e) => e.type === 'MarkerRecorded' && e.attrs.markerName === 'core_local_activity');
    const sched = await events(ids.scheduled);
    const loc = await events(ids.local);
    // Planted: the scheduled goal runs every tool as an activity, so the count below sees the difference.
    expect(activities(sched).filter((t) => t === 'runTool')).toHaveLength(4);
    expect(markers(sched)).toHaveLength(0);
    expect(activities(loc).filter((t) => t === 'runTool')).toHaveLength(1); // the refund (http, needs approval)
    expect(markers(loc)).toHaveLength(3);
    // One workflow task fewer for each local call.
    const tasks = (ev: typeof loc) => ev.filter((e) => e.type === 'WorkflowTaskCompleted').length;
    expect(tasks(loc)).toBeLessThanOrEqual(tasks(sched) - 3);

    // The Web UI shows the same summary on the marker as on the activity.
    const summaries = (ev: typeof loc) =>
      ev
        .filter((e) => e.type === 'MarkerRecorded' || e.type === 'ActivityTaskScheduled')
        .flatMap((e) => (e.summary?.startsWith('clerk: ') ? [e.summary] : []));
    expect(summaries(loc)).toEqual(summaries(sched));
    expect(summaries(loc).some((t) => t.startsWith('clerk: check_order') && t.includes('o-9001'))).toBe(true);
    expect(summaries(loc)).toHaveLength(summaries(sched).length);
  });

  it('reads the same in the audit: each call with its request, attempts, result or failure', async () => {
    const calls = async (id: string) =>
      (await auditGoal(env.client, id)).entries.filter((e) => e.kind === 'tool.call').map(comparable);
    const loc = await calls(ids.local);
    const sched = await calls(ids.scheduled);
    expect(loc).toEqual(sched);
    expect(loc.map((c) => [c.tool, c.outcome, c.attempts])).toEqual([
      ['check_order', 'ran', 2],
      ['lookup_broken', 'failed', 2],
      ['issue_refund', 'ran', 1],
      ['record_outcome', 'ran', 1],
    ]);
    expect(String((loc[1]?.failure as { message?: string } | undefined)?.message)).toContain(
      'the lookup service is down',
    );
    const marked = (await auditGoal(env.client, ids.local)).entries.filter((e) => e.data.ranLocally === true);
    expect(marked.map((e) => e.data.tool)).toEqual(['check_order', 'lookup_broken', 'record_outcome']);
  });

  it('answers queries and takes decisions on a worker without a cache, which replays the markers every task', async () => {
    await h.stopWorker();
    await h.startWorker({ maxCachedWorkflows: 0 });
    try {
      const id = `local-tools-uncached-${Date.now()}`;
      const result = await run(local, id);
      expect(result.answer).toBe(results.local?.answer);
      // A query of the finished goal replays it whole, on a worker that keeps nothing.
      const state = await goalState(env.client, id);
      const reference = await goalState(env.client, ids.local);
      expect([state.status, state.step, state.refusals.length, state.approvals.map((a) => a.status)]).toEqual([
        reference.status,
        reference.step,
        reference.refusals.length,
        reference.approvals.map((a) => a.status),
      ]);
    } finally {
      await h.stopWorker();
      await h.startWorker();
    }
  });

  it('replays both goals against the current workflow code', async () => {
    for (const id of [ids.local, ids.scheduled]) {
      const history = await env.client.workflow.getHandle(id).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, id);
    }
  });
});
