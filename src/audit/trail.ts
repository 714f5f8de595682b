/**
 * The audit trail of a goal, reconstructed from its Temporal history alone: the pinned blueprint, every model call
 * and tool call (activities), every human decision (the `approval` signal and the `decide` update), the approval
 * waits (search attribute upserts and timers), and how the goal ended, across continue-as-new runs.
 *
 * What history records directly is reported as recorded: activity results, and the structured facts the workflow
 * records for what it decides without an activity (refusals, engine tools, questions and approvals opened and settled;
 * src/workflows/facts.ts). Histories from before the facts are read the older way: a tool call's outcome from what
 * the model was told, an approval from `BatonStatus`. What history implies is derived with the same pure rules the
 * workflow applies (src/workflows/approvals.ts, policy.ts) to the blueprint pinned in the first event: which tool
 * call an approval is for, whether a signalled decision counted, whether a timer was a reminder, an escalation or
 * the deadline.
 *
 * This module walks the history once, in order, and hands each event to the reader of what it records: activities
 * (activities.ts), tool calls (tool-batch.ts, tool-calls.ts), approvals (approvals.ts, approval-decisions.ts,
 * approval-timers.ts), questions (questions.ts), other signals and updates (messages.ts) and the goal's own life
 * (goal-lifecycle.ts).
 */
import type { Blueprint } from '../blueprint/schema.js';
import { resolveApprovers } from '../workflows/approvals.js';
import type { GoalArgs } from '../workflows/definitions.js';
import { emitActivity, emitModelCall } from './activities.js';
import { approvalSignaled, decideUpdated } from './approval-decisions.js';
import { approvalTimerFired } from './approval-timers.js';
import { ApprovalTrail } from './approvals.js';
import {
  AuditKind,
  compact,
  type AuditEntry,
  type Emit,
  type Located,
  type TrailFacts,
  type TrailGoal,
} from './entry.js';
import { firstPayload, int, text, type RunHistory } from './history.js';
import { HistoryIndex } from './history-index.js';
import { emitChildFinished, emitChildStarted, emitGoalStarted, emitRunEnd } from './goal-lifecycle.js';
import { emitSignal, emitUpdate, updateRequest, updateResult } from './messages.js';
import { QuestionTrail } from './questions.js';
import { ToolBatch } from './tool-batch.js';

export { AuditKind, type AuditEntry, type AuditKindName, type TrailFacts } from './entry.js';

/** Builds the trail of one goal from its runs (oldest first). */
export function buildTrail(goalId: string, runs: RunHistory[]): { entries: AuditEntry[]; facts: TrailFacts } {
  return new TrailBuilder(goalId, runs).build();
}

class TrailBuilder implements TrailGoal {
  private readonly index: HistoryIndex;
  private readonly entries: AuditEntry[] = [];
  bp: Blueprint | undefined;
  args: GoalArgs | undefined;
  closing = false;
  private readonly tools: ToolBatch;
  private readonly approvals: ApprovalTrail;
  private readonly questions: QuestionTrail;
  private status = 'running';
  private closed = false;

  constructor(
    private readonly goalId: string,
    private readonly runs: RunHistory[],
  ) {
    this.index = new HistoryIndex(runs);
    this.tools = new ToolBatch(this, this.index, this.emit);
    this.approvals = new ApprovalTrail(this.emit, this.index);
    this.questions = new QuestionTrail(this.emit, this.index);
  }

  /** True when the history records facts: the audit reads them instead of inferring from status and wording. */
  get withFacts(): boolean {
    return this.index.facts.length > 0;
  }

  build(): { entries: AuditEntry[]; facts: TrailFacts } {
    for (const loc of this.index.all) this.visit(loc);
    return {
      entries: this.entries,
      facts: {
        goalId: this.goalId,
        goal: this.bp?.name ?? '?',
        blueprintHash: this.args?.blueprintHash ?? '',
        runs: this.runs.map((r) => r.runId),
        status: this.status,
        closed: this.closed,
        published: this.approvals.published,
      },
    };
  }

  private readonly emit: Emit = (loc, kind, actor, summary, data, events = [loc.ev.id]) => {
    this.entries.push({
      kind,
      at: loc.ev.time,
      actor,
      summary,
      run: loc.run,
      runId: loc.runId,
      eventId: loc.ev.id,
      events,
      data,
    });
  };

  private visit(loc: Located): void {
    const a = loc.ev.attrs;
    switch (loc.ev.type) {
      case 'WorkflowExecutionStarted':
        return this.started(loc);
      case 'ActivityTaskScheduled':
        return this.activityScheduled(loc);
      case 'ActivityTaskCompleted': {
        const info = this.index.activity(loc, int(a.scheduledEventId));
        if (info?.type === 'callModel') this.tools.open(info);
        return;
      }
      case 'UpsertWorkflowSearchAttributes':
        return this.approvals.upsert(
          loc,
          (at) => this.tools.claimNext(at),
          this.withFacts ? undefined : (at) => this.inferQuestion(at),
        );
      case 'WorkflowPropertiesModified':
        return this.fact(loc);
      case 'WorkflowExecutionSignaled': {
        const name = text(a.signalName);
        if (name === 'reply') return this.questions.signaled(loc, this.withFacts);
        if (name === 'approval') {
          return approvalSignaled(this.approvals, loc, (id) => this.index.verdictFor(loc, 'approval', id, 'signal'));
        }
        return emitSignal(this.emit, loc);
      }
      case 'WorkflowExecutionUpdateAccepted': {
        const request = updateRequest(loc);
        const result = updateResult(this.index, loc, request);
        const name = text(request?.input?.name);
        if (name === 'reply') return this.questions.updated(loc, request, result);
        if (name === 'decide') {
          const verdictOf = (id: unknown) => this.index.verdictFor(loc, 'approval', id, 'update');
          return decideUpdated(this.approvals, loc, request, result, verdictOf);
        }
        return emitUpdate(this.emit, loc, request, result);
      }
      case 'TimerFired': {
        const started = this.index.timerStarted(loc, a.timerId);
        if (this.questions.timerFired(loc, started?.ev.summary, this.withFacts, this.approvals.hasOpen())) return;
        return approvalTimerFired(this.approvals, loc);
      }
      case 'WorkflowExecutionCancelRequested':
        return this.emit(
          loc,
          AuditKind.CancelRequested,
          text(a.identity, 'unknown client'),
          `cancellation requested${a.cause ? `: ${text(a.cause)}` : ''}`,
          { identity: a.identity ?? null, cause: a.cause ?? null },
        );
      case 'StartChildWorkflowExecutionInitiated':
        return emitChildStarted(this.emit, loc);
      case 'ChildWorkflowExecutionCompleted':
      case 'ChildWorkflowExecutionFailed':
      case 'ChildWorkflowExecutionCanceled':
      case 'ChildWorkflowExecutionTerminated':
      case 'ChildWorkflowExecutionTimedOut':
        return emitChildFinished(this.emit, loc);
      case 'WorkflowExecutionCompleted':
      case 'WorkflowExecutionFailed':
      case 'WorkflowExecutionCanceled':
      case 'WorkflowExecutionTerminated':
      case 'WorkflowExecutionTimedOut':
      case 'WorkflowExecutionContinuedAsNew':
        return this.closeRun(loc);
      default:
        return;
    }
  }

  private started(loc: Located): void {
    const args = firstPayload(loc.ev.attrs.input) as GoalArgs | undefined;
    if (loc.run > 1) {
      if (args?.carried?.approvals) this.approvals.carried(args.carried.approvals);
      return;
    }
    this.args = args;
    this.bp = args?.blueprint;
    this.approvals.pin(this.bp);
    emitGoalStarted(this.emit, loc, args, this.index.starter());
  }

  private activityScheduled(loc: Located): void {
    const info = this.index.activity(loc, loc.ev.id);
    if (!info) return;
    if (info.type === 'runTool') return this.tools.activity(loc, info);
    if (info.type !== 'callModel') return emitActivity(this.emit, loc, info);
    this.tools.flush(loc);
    emitModelCall(this.emit, loc, info);
  }

  /** A structured fact the workflow recorded: a tool call's outcome, a question or an approval. */
  private fact(loc: Located): void {
    const at = this.index.facts.find((f) => f.loc === loc);
    if (!at || at.used) return;
    at.used = true;
    const fact = at.fact;
    switch (fact.fact) {
      case 'tool':
        return this.tools.fact(loc, fact);
      case 'approval.opened': {
        const candidate = fact.callId ? this.tools.claimById(loc, fact.callId) : undefined;
        return this.approvals.openedFact(loc, fact, candidate);
      }
      case 'approval.settled':
        return this.approvals.settledFact(fact);
      case 'question.asked':
        return this.questions.asked(loc, fact);
      case 'question.settled':
        return this.questions.settled(loc, fact);
      case 'decision':
        return; // read with the signal or update it judged (HistoryIndex.verdictFor)
      case 'starter':
        return; // read with the goal's start
    }
  }

  /**
   * An older history's human wait with no approval to claim: a question, when the batch has an outstanding
   * `ask_human` call. True when it was one.
   */
  private inferQuestion(loc: Located): boolean {
    const c = this.tools.outstandingQuestion();
    if (!c) return false;
    const settings = this.bp?.agents[c.agent]?.askHuman;
    const eligible = settings && this.bp ? resolveApprovers(settings.to, this.bp.approvers) : [];
    const question = (c.args as { question?: unknown } | undefined)?.question;
    this.questions.inferred(loc, {
      agent: c.agent,
      question: typeof question === 'string' ? question : compact(c.args, 200),
      eligible: eligible.length ? eligible : (this.approvals.published.approvers ?? []),
    });
    return true;
  }

  private closeRun(loc: Located): void {
    this.closing = loc.ev.type !== 'WorkflowExecutionContinuedAsNew';
    this.tools.flush(loc);
    const status = emitRunEnd(this.emit, loc, this.bp);
    if (status === undefined) return;
    this.closed = true;
    this.status = status;
  }
}
