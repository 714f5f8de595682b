/**
 * Workflow interceptors bundled with the workflow code (see src/build/bundle-workflows.ts): they count goals by
 * blueprint and outcome around `goalWorkflow` without touching the goal loop.
 */
import {
  ApplicationFailure,
  ContinueAsNew,
  isCancellation,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type Next,
} from '@temporalio/workflow';
import type { GoalArgs, GoalResult } from './definitions.js';
import { recordGoalEnded, recordGoalStarted } from './metrics.js';

function blueprintOf(input: WorkflowExecuteInput): string | undefined {
  const args = input.args[0] as Partial<GoalArgs> | undefined;
  const name = args?.blueprint?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Failure type of a goal that failed, for the `reason` label; bounded by the types the code throws. */
function failureReason(err: unknown): string {
  if (err instanceof ApplicationFailure) return err.type ?? 'ApplicationFailure';
  return err instanceof Error ? err.name : 'unknown';
}

class GoalMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const blueprint = blueprintOf(input);
    if (blueprint === undefined) return next(input);
    recordGoalStarted(blueprint);
    try {
      const result = (await next(input)) as GoalResult;
      recordGoalEnded(blueprint, { status: result?.status ?? 'completed' });
      return result;
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err;
      const details =
        err instanceof ApplicationFailure ? (err.details?.[0] as Partial<GoalResult> | undefined) : undefined;
      if (isCancellation(err) || details?.status === 'cancelled') {
        recordGoalEnded(blueprint, { status: 'cancelled' });
      } else {
        recordGoalEnded(blueprint, { status: 'failed', reason: failureReason(err) });
      }
      throw err;
    }
  }
}

/** The interceptor factory the workflow bundle registers. */
export const interceptors = (): WorkflowInterceptors => ({ inbound: [new GoalMetricsInterceptor()] });
