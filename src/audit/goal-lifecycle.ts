/**
 * A goal's life in the audit trail: who started it with what (and whether the pinned blueprint still hashes to the
 * hash it was started with), the child goals it delegated to, each run that continued as new, and how it ended.
 */
import { hashBlueprint } from '../blueprint/load.js';
import type { Blueprint } from '../blueprint/schema.js';
import type { GoalArgs, GoalResult } from '../workflows/definitions.js';
import type { StarterFact } from '../workflows/facts.js';
import { CLIENT_DECLARED } from './identity.js';
import { AuditKind, clipLine, compact, failureInfo, type Emit, type Located } from './entry.js';
import { decodePayloads, firstPayload, text } from './history.js';

function workflowTypeName(value: unknown): string | undefined {
  return (value as { name?: string } | undefined)?.name;
}

/** The goal's first event: who started which blueprint with what input. */
export function emitGoalStarted(
  emit: Emit,
  loc: Located,
  args: GoalArgs | undefined,
  starter: StarterFact | undefined,
): void {
  const a = loc.ev.attrs;
  const bp = args?.blueprint;
  const computed = bp ? hashBlueprint(bp) : undefined;
  // Goals with verified identity record who started them; older ones only have the name the start gave.
  const startedBy = starter?.subject ?? args?.startedBy ?? 'unknown';
  emit(
    loc,
    AuditKind.GoalStarted,
    starter?.verified ? `user:${startedBy}` : `unverified:${startedBy}`,
    `${startedBy} started ${bp?.name ?? 'a goal'} with ${compact(args?.input ?? {}, 60)} (blueprint sha256 ${args?.blueprintHash?.slice(0, 12) ?? '?'}${computed === args?.blueprintHash ? '' : ', HASH MISMATCH'})`,
    {
      goal: bp?.name ?? null,
      workflowType: workflowTypeName(a.workflowType) ?? null,
      taskQueue: (a.taskQueue as { name?: string } | undefined)?.name ?? null,
      identity: a.identity ?? null,
      identityIs: CLIENT_DECLARED,
      startedBy,
      starter: starter ?? {
        subject: startedBy,
        verified: false,
        reason: 'the goal records no verified starter: the name is a claim',
      },
      input: args?.input ?? null,
      blueprintHash: args?.blueprintHash ?? null,
      blueprintHashMatches: computed !== undefined && computed === args?.blueprintHash,
      blueprint: bp ?? null,
      staticSummary: loc.ev.summary ?? null,
      staticDetails: loc.ev.details ?? null,
    },
  );
}

/** A delegated task started as a child goal. */
export function emitChildStarted(emit: Emit, loc: Located): void {
  const a = loc.ev.attrs;
  emit(
    loc,
    AuditKind.ChildStarted,
    'baton',
    `child ${String(a.workflowId)} (${String(workflowTypeName(a.workflowType))}) started`,
    {
      workflowId: a.workflowId,
      workflowType: workflowTypeName(a.workflowType),
      input: decodePayloads(a.input),
    },
  );
}

/** A child goal ended: completed, failed, cancelled, terminated or timed out. */
export function emitChildFinished(emit: Emit, loc: Located): void {
  const a = loc.ev.attrs;
  const child = (a.workflowExecution as { workflowId?: string } | undefined)?.workflowId;
  const outcome = loc.ev.type.replace('ChildWorkflowExecution', '').toLowerCase();
  const failure = failureInfo(a.failure);
  emit(
    loc,
    AuditKind.ChildFinished,
    'baton',
    `child ${String(child)} ${outcome}${failure ? `: ${failure.message}` : ''}`,
    {
      workflowId: child,
      outcome,
      ...(a.result ? { result: firstPayload(a.result) } : {}),
      ...(failure ? { failure } : {}),
    },
  );
}

function failureDetails(failure: unknown): unknown[] {
  const app = (failure as { applicationFailureInfo?: { details?: unknown } } | undefined)?.applicationFailureInfo;
  return decodePayloads(app?.details);
}

/**
 * A run's close event: continued as new, or the goal ended (with a budget record first when the budget stopped it).
 * Returns the goal's final status, or undefined when the run continued as new.
 */
export function emitRunEnd(emit: Emit, loc: Located, bp: Blueprint | undefined): string | undefined {
  const a = loc.ev.attrs;
  if (loc.ev.type === 'WorkflowExecutionContinuedAsNew') {
    emit(loc, AuditKind.RunContinued, 'baton', `continued as new in run ${String(a.newExecutionRunId)}`, {
      newRunId: a.newExecutionRunId ?? null,
    });
    return undefined;
  }
  const failure = failureInfo(a.failure);
  let result: GoalResult | undefined;
  let status: string;
  let actor = 'baton';
  let reason: string | undefined;
  switch (loc.ev.type) {
    case 'WorkflowExecutionCompleted':
      result = firstPayload(a.result) as GoalResult | undefined;
      status = result?.status ?? 'completed';
      break;
    case 'WorkflowExecutionFailed':
      result = failureDetails(a.failure)[0] as GoalResult | undefined;
      status = result?.status ?? 'failed';
      reason = failure?.message;
      break;
    case 'WorkflowExecutionCanceled':
      result = decodePayloads(a.details)[0] as GoalResult | undefined;
      status = 'cancelled';
      reason = result?.reason ?? 'the goal was cancelled';
      break;
    case 'WorkflowExecutionTerminated':
      status = 'terminated';
      actor = text(a.identity, 'unknown client');
      reason = text(a.reason);
      break;
    default:
      status = 'timed_out';
      reason = 'the workflow execution timed out';
  }
  if (failure?.type === 'BudgetExceeded') {
    emit(loc, AuditKind.BudgetExceeded, 'baton', `budget exceeded: ${failure.message}`, {
      reason: failure.message,
      budget: bp?.budget ?? null,
      usage: result?.usage ?? null,
    });
  }
  const said = result?.answer ?? reason ?? '';
  emit(loc, AuditKind.GoalFinished, actor, `${status}${said ? `: ${clipLine(said, 100)}` : ''}`, {
    status,
    answer: result?.answer ?? null,
    reason: reason ?? result?.reason ?? null,
    failureType: failure?.type ?? null,
    usage: result?.usage ?? null,
    steps: result?.steps ?? null,
    approvals: result?.approvals ?? null,
  });
  return status;
}
