/**
 * Where one run of a goal ends and the next begins. Between steps a goal continues as new when its history grows,
 * after a number of steps, or (Worker Versioning) when a newer version became current while it ran pinned to its
 * own: the next run starts on that version. The continue-as-new carries the goal's record; a human wait whose run
 * filled up continues the same way (wait-runs.ts).
 */
import { allHandlersFinished, condition, makeContinueAsNewFunc, workflowInfo } from '@temporalio/workflow';
import type { CarriedState, GoalArgs } from './definitions.js';
import type { goalWorkflow } from './goal.js';

/** True when the run should end before its next step, having run `stepsThisRun` of its `stepsPerRun`. */
export function runIsOver(stepsThisRun: number, stepsPerRun: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.targetWorkerDeploymentVersionChanged || stepsThisRun >= stepsPerRun;
}

/**
 * Continues as new between steps, where nothing waits: approvals, questions and delegated tasks are awaited inside a
 * step, so none is pending here, and the records carry over as they are. Handlers and notifications finish first;
 * `carried` is read after them.
 */
export async function continueAsNew(
  args: GoalArgs,
  notifications: { drain(): Promise<void> },
  carried: () => CarriedState,
): Promise<never> {
  await condition(allHandlersFinished);
  await notifications.drain();
  // Upgrade on continue-as-new: the next run starts on the current Worker Deployment version (a no-op unversioned).
  const next = makeContinueAsNewFunc<typeof goalWorkflow>({ initialVersioningBehavior: 'AUTO_UPGRADE' });
  return next({ ...args, carried: carried() });
}
