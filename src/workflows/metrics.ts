/**
 * Baton's goal and approval metrics, emitted from workflow code through the SDK's replay-safe `metricMeter`: a value
 * is recorded when the workflow first runs that code, never again when a worker replays the history.
 */
import { metricMeter, workflowInfo } from '@temporalio/workflow';
import type { ApprovalRecord, GoalResult } from './definitions.js';

/** Metric names as the worker's Prometheus endpoint shows them (counters gain `_total`, histograms their unit). */
export const GoalMetric = {
  started: 'baton_goals_started',
  completed: 'baton_goals_completed',
  failed: 'baton_goals_failed',
  cancelled: 'baton_goals_cancelled',
  duration: 'baton_goal_duration',
  approvalsOpened: 'baton_approvals_opened',
  approvalsDecided: 'baton_approvals_decided',
  approvalsTimedOut: 'baton_approvals_timed_out',
  approvalWait: 'baton_approval_wait',
} as const;

function elapsedSeconds(fromMs: number, toMs: number): number {
  return Math.max(0, (toMs - fromMs) / 1000);
}

/** A goal began: counted once per goal, not again when it continues as new. */
export function recordGoalStarted(blueprint: string): void {
  if (workflowInfo().continuedFromExecutionRunId !== undefined) return;
  metricMeter.createCounter(GoalMetric.started, undefined, 'Goals started').add(1, { blueprint });
}

/** A goal ended: completed, failed (with its failure type as `reason`) or cancelled. */
export function recordGoalEnded(blueprint: string, outcome: { status: GoalResult['status']; reason?: string }): void {
  const tags = { blueprint };
  if (outcome.status === 'completed') {
    metricMeter.createCounter(GoalMetric.completed, undefined, 'Goals completed').add(1, tags);
  } else if (outcome.status === 'failed') {
    metricMeter
      .createCounter(GoalMetric.failed, undefined, 'Goals failed, by failure type')
      .add(1, { ...tags, reason: outcome.reason ?? 'unknown' });
  } else {
    metricMeter.createCounter(GoalMetric.cancelled, undefined, 'Goals cancelled').add(1, tags);
  }
  metricMeter
    .createHistogram(GoalMetric.duration, 'float', 'seconds', 'Goal duration from start to end, across continue-as-new')
    .record(elapsedSeconds(workflowInfo().startTime.getTime(), Date.now()), { ...tags, status: outcome.status });
}

/** An approval was opened and the goal now waits on it. */
export function recordApprovalOpened(blueprint: string, record: ApprovalRecord): void {
  metricMeter
    .createCounter(GoalMetric.approvalsOpened, undefined, 'Approvals opened')
    .add(1, { blueprint, tool: record.tool });
}

/** An approval was settled: approved, rejected or timed out, after waiting since it was opened. */
export function recordApprovalSettled(blueprint: string, record: ApprovalRecord): void {
  const tags = { blueprint, tool: record.tool };
  if (record.status === 'timed_out') {
    metricMeter.createCounter(GoalMetric.approvalsTimedOut, undefined, 'Approvals nobody decided in time').add(1, tags);
  } else if (record.status === 'approved' || record.status === 'rejected') {
    metricMeter
      .createCounter(GoalMetric.approvalsDecided, undefined, 'Approvals decided by people')
      .add(1, { ...tags, decision: record.status });
  } else {
    return;
  }
  const decided = record.decidedAt === undefined ? Date.now() : Date.parse(record.decidedAt);
  metricMeter
    .createHistogram(GoalMetric.approvalWait, 'float', 'seconds', 'Time an approval waited for its outcome')
    .record(elapsedSeconds(Date.parse(record.openedAt), decided), { ...tags, outcome: record.status });
}
