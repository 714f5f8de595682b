/**
 * How a goal ends, as data: the `GoalEnd` every path of the loop comes back with (an answer, a failure, a
 * cancellation), the error that carries one out of the depths of a step, and the result each end records. Pure:
 * `Goal.end` (goal.ts) publishes the status and fails the execution where the end says so.
 */
import type { DelegatedTask, GoalRecord, GoalResult } from './definitions.js';

/** How a goal ends: every way is one of these, and `Goal.end` handles them all. */
export type GoalEnd =
  | { kind: 'completed'; answer: string; by: string; validatedBy?: string }
  /** `type` is the failure type the execution fails with; none when the execution already failed otherwise. */
  | { kind: 'failed'; reason: string; type?: string }
  | { kind: 'cancelled'; reason: string };

/** Carries a GoalEnd out of the depths of a step (the budget gate, a verdict, the repair count) to `Goal.run`. */
export class GoalEnding extends Error {
  constructor(readonly end: GoalEnd) {
    super(end.kind === 'failed' || end.kind === 'cancelled' ? end.reason : 'completed');
  }
}

/** What every result says of the goal's course: approvals, usage, steps, time waited on humans. */
function summaryOf(r: GoalRecord): Pick<GoalResult, 'approvals' | 'usage' | 'steps' | 'humanWaitMs'> {
  return {
    approvals: r.approvals.map((a) => ({
      id: a.id,
      tool: a.tool,
      status: a.status,
      by: a.votes.map((v) => v.by),
      comments: a.votes.flatMap((v) => (v.comment ? [v.comment] : [])),
    })),
    usage: r.usage,
    steps: r.step + r.budget.delegatedSteps,
    humanWaitMs: r.humanWaitMs,
  };
}

/** The result a goal (or a delegated `task`) records for `end`. */
export function resultOf(r: GoalRecord, end: GoalEnd, task: DelegatedTask | undefined): GoalResult {
  if (end.kind === 'completed') {
    return {
      status: 'completed',
      answer: end.answer,
      answeredBy: end.by,
      ...(end.validatedBy ? { validatedBy: end.validatedBy } : {}),
      ...summaryOf(r),
      ...(task ? { memoryWrites: r.memory.filter((e) => e.task === task.taskId) } : {}),
    };
  }
  return { status: end.kind, reason: end.reason, ...summaryOf(r) };
}
