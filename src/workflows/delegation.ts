/**
 * Delegation: sub-tasks run as child goal workflows, at the same time, each with its own history, its agent's
 * permissions and a share of the budget. Cancelling the parent cancels them (the cancellation propagates to the
 * children and the parent waits until each has finished cancelling); a parent that closes otherwise asks them to
 * cancel.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  isCancellation,
  ParentClosePolicy,
  startChild,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { GoalArgs, GoalResult, GoalStatus, MemoryEntry, Usage } from './definitions.js';

/** The goal workflow's signature, for starting children by type name (no import cycle). */
type GoalWorkflowType = (args: GoalArgs) => Promise<GoalResult>;

/** What became of one delegated task. */
export interface TaskOutcome {
  status: Extract<GoalStatus, 'completed' | 'failed' | 'cancelled'>;
  answer?: string;
  reason?: string;
  usage?: Usage;
  steps?: number;
  memoryWrites?: MemoryEntry[];
  /** Time the task spent waiting on humans. */
  humanWaitMs?: number;
}

/** The child workflow id of a task: the parent's id, the task id and the agent, so the Web UI lists them together. */
export function taskWorkflowId(parentId: string, taskId: string, agent: string): string {
  return `${parentId}--${taskId}-${agent}`;
}

function goalResultIn(failure: ApplicationFailure): GoalResult | undefined {
  const first: unknown = failure.details?.[0];
  return first && typeof first === 'object' && 'status' in first ? (first as GoalResult) : undefined;
}

/** Reads a child's failure: the goal's own result when it failed as a goal, else the infrastructure's reason. */
export function outcomeOfFailure(err: unknown): TaskOutcome {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const result = goalResultIn(cause);
    return {
      status: result?.status === 'cancelled' ? 'cancelled' : 'failed',
      reason: result?.reason ?? cause.message,
      ...(result ? { usage: result.usage, steps: result.steps } : {}),
      ...(result?.humanWaitMs !== undefined ? { humanWaitMs: result.humanWaitMs } : {}),
    };
  }
  if (isCancellation(err)) return { status: 'cancelled', reason: 'the task was cancelled' };
  if (cause instanceof TerminatedFailure) return { status: 'failed', reason: 'the task was terminated' };
  if (cause instanceof TimeoutFailure) return { status: 'failed', reason: 'the task timed out' };
  return { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
}

/** One task to start: its child workflow id, arguments and a one-line summary for the Web UI. */
export interface TaskStart {
  workflowId: string;
  args: GoalArgs;
  summary: string;
}

/**
 * Starts every task at once and waits for all of them. `onStarted` runs as each child starts. When the parent
 * itself is being cancelled, the cancellation is rethrown once every child has settled; a child cancelled on its
 * own is just a cancelled task.
 */
export async function runTasks(
  starts: readonly TaskStart[],
  onStarted: (index: number) => void,
): Promise<TaskOutcome[]> {
  const settled = await Promise.allSettled(
    starts.map(async (s, i) => {
      const handle = await startChild<GoalWorkflowType>('goalWorkflow', {
        workflowId: s.workflowId,
        args: [s.args],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: s.summary,
      });
      onStarted(i);
      return handle.result();
    }),
  );
  if (CancellationScope.current().consideredCancelled) {
    const cancelled = settled.find((s) => s.status === 'rejected' && isCancellation(s.reason));
    if (cancelled?.status === 'rejected') throw cancelled.reason;
  }
  return settled.map((s): TaskOutcome => {
    if (s.status === 'rejected') return outcomeOfFailure(s.reason);
    const r = s.value;
    return {
      status: r.status,
      ...(r.answer !== undefined ? { answer: r.answer } : {}),
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      usage: r.usage,
      steps: r.steps,
      ...(r.memoryWrites ? { memoryWrites: r.memoryWrites } : {}),
      ...(r.humanWaitMs !== undefined ? { humanWaitMs: r.humanWaitMs } : {}),
    };
  });
}
