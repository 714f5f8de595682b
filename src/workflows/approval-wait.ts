/**
 * The approval desk of a goal: it opens approvals, waits for them on durable timers (reminders, escalation, a
 * deadline), takes decisions from the `approval` signal and the `decide` update, and tells webhooks what happens
 * (through approval-notify.ts).
 * The goal loop talks to it through `request` and the few members below; everything here is deterministic. Just
 * over 300 lines: the desk's state, its wait and its handlers are one state machine; the pure rules are in
 * approvals.ts, the notifications in approval-notify.ts.
 */
import { ApplicationFailure, condition, isCancellation, log, setHandler } from '@temporalio/workflow';
import type { ApprovalNotification } from '../activities/index.js';
import { GoalFailure } from '../failures.js';
import { ApprovalNotifier } from './approval-notify.js';
import { recordApprovalOpened, recordApprovalSettled } from './metrics.js';
import type { ApprovalPolicy, Blueprint, NotificationEvent } from '../blueprint/schema.js';
import {
  advanceSchedule,
  applyVote,
  dueAt,
  logReminder,
  nextWake,
  pendingRefusal,
  refusalReason,
  resolveApprovers,
  scheduleOf,
  waitingOn,
  wakeSummary,
  wakeWork,
  type ScheduleProgress,
} from './approvals.js';
import {
  approvalSignal,
  decideUpdate,
  type ApprovalDecision,
  type ApprovalRecord,
  type RefusedDecision,
  type Vote,
} from './definitions.js';
import { durationMs } from './durations.js';
import { recordFact } from './facts.js';
import { changed, Patch } from './patches.js';
import { keepLatest, keptText } from '../identity/authorize.js';
import { voteIdentity, type IdentityGate } from './identity-gate.js';
import { WaitMovesOn } from './wait-runs.js';

/** Failure type of a goal that an approval policy ended (`onTimeout: cancel`). */
export const GoalCancelledType = GoalFailure.Cancelled;

/**
 * Thrown by {@link ApprovalDesk.request} when an approval timed out and its policy says `onTimeout: cancel`. The goal
 * workflow catches it and ends the goal as cancelled, with this message as the reason. Do not swallow it.
 */
export class GoalCancelledByPolicy extends ApplicationFailure {
  constructor(
    message: string,
    readonly approvalId: string,
  ) {
    super(message, GoalCancelledType, true);
  }
}

/** What the goal asks approval for. */
export interface ApprovalRequest {
  /** The tool the agent wants to run, or `budget` for a budget extension. */
  tool: string;
  args: unknown;
  /** What the agent said when it asked. */
  reason: string;
  /** The agent that asked. */
  requestedBy: string;
  policy: ApprovalPolicy;
  /** The model's id of the tool call it is for, which the audit's facts carry. */
  callId?: string;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** What a decision comes to: a vote by someone (verified on goals with verified identity), or a refusal. */
type Verdict =
  | { ok: true; record: ApprovalRecord; by: string; identity?: Vote['identity'] }
  | { ok: false; reason: string; code?: string };

/** A goal's approvals: open, wait, decide, notify. */
export class ApprovalDesk {
  readonly records: ApprovalRecord[];
  readonly refused: RefusedDecision[];
  private readonly notifier: ApprovalNotifier;
  /** Approvals a previous run left pending when it continued as new during their wait (wait-runs.ts). */
  private readonly carriedPending: ApprovalRecord[];

  /**
   * @param bp the goal's blueprint (approver groups, notifications)
   * @param store the goal record: approvals and refused decisions (carried over continue-as-new)
   * @param changed called whenever an approval opens, changes hands or settles, so the goal can publish its state
   * @param gate verifies who decides (goals recorded before verified identity decide by name)
   * @param moveOn true when a wait should continue in a new run (the run's history is full)
   */
  constructor(
    private readonly bp: Blueprint,
    private readonly store: {
      approvals?: ApprovalRecord[];
      refusedDecisions?: RefusedDecision[];
      refusedDecisionCount?: number;
    },
    private readonly changed: () => void,
    readonly gate: IdentityGate,
    private readonly moveOn: () => boolean = () => false,
  ) {
    this.records = store.approvals ?? [];
    this.refused = store.refusedDecisions ?? [];
    this.notifier = new ApprovalNotifier(bp);
    this.carriedPending = this.records.filter((r) => r.status === 'pending');
  }

  /** The pending approval a previous run left for this same request, taken up instead of opening a new one. */
  private adopt(req: ApprovalRequest): ApprovalRecord | undefined {
    const i = this.carriedPending.findIndex((r) => r.tool === req.tool && r.requestedBy === req.requestedBy);
    return i < 0 ? undefined : this.carriedPending.splice(i, 1)[0];
  }

  /** Judges a decision without changing anything: the validator's view, and the first half of {@link decide}. */
  judge(d: ApprovalDecision): Verdict {
    if (!this.gate.active) {
      const reason = refusalReason(this.records, d);
      const record = this.records.find((a) => a.id === d?.approvalId);
      return reason !== undefined || !record
        ? { ok: false, reason: reason ?? 'refused' }
        : { ok: true, record, by: d.by! };
    }
    const reason = pendingRefusal(this.records, d);
    const record = this.records.find((a) => a.id === d?.approvalId);
    if (reason !== undefined || !record) return { ok: false, reason: reason ?? 'refused', code: 'invalid' };
    const checked = this.gate.checkDecision(record, d);
    if (!checked.ok) return { ok: false, reason: checked.reason, code: checked.code };
    return { ok: true, record, by: checked.identity.subject, identity: voteIdentity(checked.identity) };
  }

  /** Approvals still waiting. */
  pending(): ApprovalRecord[] {
    return this.records.filter((r) => r.status === 'pending');
  }

  /** Everyone a pending approval waits on: what `BatonApprovers` holds. */
  waitingOn(): string[] {
    return [...new Set(this.pending().flatMap(waitingOn))].sort();
  }

  /**
   * Applies a decision, or records it as refused (who it claimed to be, when, why, how it came) and changes nothing
   * else. Refusals are kept bounded: the latest few in full (fields cut short) and a count of all.
   */
  decide(decision: ApprovalDecision, via: 'signal' | 'update'): ApprovalRecord | undefined {
    const at = iso(Date.now());
    const verdict = this.judge(decision);
    this.gate.recordVerdict(
      { on: 'approval', targetId: String(decision?.approvalId), via, claimed: decision?.by },
      verdict,
    );
    if (!verdict.ok) {
      keepLatest(this.refused, {
        approvalId: keptText(decision?.approvalId),
        by: keptText(decision?.by ?? '(none given)'),
        decision: keptText(decision?.decision),
        reason: keptText(verdict.reason),
        ...(verdict.code ? { code: verdict.code } : {}),
        at,
        via,
      });
      this.store.refusedDecisionCount = (this.store.refusedDecisionCount ?? 0) + 1;
      return undefined;
    }
    const { record } = verdict;
    applyVote(record, {
      by: verdict.by,
      ...(verdict.identity ? { identity: verdict.identity } : {}),
      decision: decision.decision,
      ...(decision.comment ? { comment: decision.comment } : {}),
      at,
      via,
    });
    this.changed();
    return record;
  }

  /**
   * Opens an approval and waits until it is approved, rejected or timed out, sending reminders and escalating on
   * the way. Returns the settled record; throws {@link GoalCancelledByPolicy} when it timed out under
   * `onTimeout: cancel`.
   */
  async request(req: ApprovalRequest): Promise<ApprovalRecord> {
    // Decisions are judged against the trust and the verified starter: the goal's opening comes first.
    await this.gate.ensureOpen();
    const { policy } = req;
    const adopted = this.adopt(req);
    if (adopted) return this.wait(adopted, policy, Date.parse(adopted.openedAt), true);
    const opened = Date.now();
    const record: ApprovalRecord = {
      id: `apr-${this.records.length + 1}`,
      tool: req.tool,
      args: req.args,
      reason: req.reason,
      requestedBy: req.requestedBy,
      approvers: [...policy.approvers],
      eligible: resolveApprovers(policy.approvers, this.bp.approvers),
      quorum: policy.quorum,
      ...('when' in policy && typeof policy.when === 'string' ? { condition: policy.when } : {}),
      ...(this.gate.active ? { selfApproval: policy.selfApproval ?? 'forbid' } : {}),
      votes: [],
      status: 'pending',
      openedAt: iso(opened),
      ...(policy.timeout === undefined ? {} : { deadline: iso(opened + durationMs(policy.timeout)) }),
      events: [],
    };
    this.records.push(record);
    this.changed();
    recordFact({
      fact: 'approval.opened',
      approvalId: record.id,
      tool: record.tool,
      ...(req.callId ? { callId: req.callId } : {}),
      agent: req.requestedBy,
      eligible: record.eligible,
      quorum: record.quorum,
      ...(record.deadline ? { deadline: record.deadline } : {}),
    });
    recordApprovalOpened(this.bp.name, record);
    this.notify('approval.opened', record);
    return this.wait(record, policy, opened, false);
  }

  /**
   * Waits on an open approval until it settles: reminders, escalation, the deadline. A wait whose run's history is
   * full throws {@link WaitMovesOn} (the goal continues as new, and the next run adopts the record and waits on).
   */
  private async wait(
    record: ApprovalRecord,
    policy: ApprovalPolicy,
    opened: number,
    adopted: boolean,
  ): Promise<ApprovalRecord> {
    const bounded = adopted || changed(Patch.boundedHumanWaits);
    const done: ScheduleProgress = adopted ? scheduleOf(record, policy, opened) : { reminders: 0, escalations: 0 };
    const settled = (): boolean => record.status !== 'pending';
    const wakes = bounded ? () => settled() || this.moveOn() : settled;
    try {
      while (!settled()) {
        if (bounded && this.moveOn()) throw new WaitMovesOn(record.id);
        const wake = nextWake(policy, opened, done);
        if (wake === Infinity) {
          await condition(wakes);
          continue;
        }
        const summary = wakeSummary(record, wake, wakeWork(dueAt(policy, opened, done, wake)));
        const woke = await condition(wakes, Math.max(1, wake - Date.now()), { summary });
        // A decision and the timer can land in the same workflow task: a settled approval wins over the schedule.
        if (settled() && (woke || changed(Patch.approvalSettledWins))) break;
        if (woke) continue;
        // Trust may have changed while the approval waited (a rotation, a revocation).
        await this.gate.refresh();
        this.onSchedule(record, policy, opened, done, bounded);
      }
    } catch (err) {
      // The goal is being cancelled: the approval closes with it, and its approvers hear so.
      if (isCancellation(err) && record.status === 'pending') {
        record.status = 'cancelled';
        record.decidedAt = iso(Date.now());
        this.notify('approval.decided', record, { outcome: 'cancelled' });
      }
      throw err;
    }
    this.changed();
    recordFact({ fact: 'approval.settled', approvalId: record.id, status: record.status });
    recordApprovalSettled(this.bp.name, record);
    this.notify('approval.decided', record, { outcome: record.status });
    if (record.status === 'timed_out' && policy.onTimeout === 'cancel') {
      throw new GoalCancelledByPolicy(
        `approval ${record.id} for ${record.tool} timed out after ${policy.timeout} with no decision; its policy (onTimeout: cancel) ends the goal`,
        record.id,
      );
    }
    return record;
  }

  /** Does what is due now, in the order {@link wakeWork} gives: the timeout alone, else escalation steps, a reminder. */
  private onSchedule(
    record: ApprovalRecord,
    policy: ApprovalPolicy,
    opened: number,
    done: ScheduleProgress,
    bounded: boolean,
  ): void {
    const now = Date.now();
    const at = iso(now);
    const due = dueAt(policy, opened, done, now);
    for (const work of wakeWork(due)) {
      if (work.kind === 'timeout') {
        const to = waitingOn(record);
        record.status = 'timed_out';
        record.decidedAt = at;
        record.events.push({
          kind: 'timeout',
          at,
          to,
          detail: policy.onTimeout === 'cancel' ? 'no decision: the goal is cancelled' : 'no decision: rejected',
        });
      } else if (work.kind === 'escalation') {
        const to = policy.escalate[work.step]!.to;
        record.approvers = [...new Set([...record.approvers, ...to])];
        record.eligible = resolveApprovers(record.approvers, this.bp.approvers);
        record.events.push({ kind: 'escalation', at, to: [...to] });
        this.changed();
        const escalatedTo = resolveApprovers(to, this.bp.approvers);
        this.notify('approval.escalated', record, { escalatedTo }, bounded);
      } else if (bounded) {
        logReminder(record, at);
        this.notify('approval.reminder', record, {}, true);
      } else {
        record.events.push({ kind: 'reminder', at, to: waitingOn(record) });
        this.notify('approval.reminder', record);
      }
    }
    advanceSchedule(policy, opened, done, due, now);
  }

  /** Tells every webhook that wants `event` about the approval (approval-notify.ts); never in the approval's way. */
  private notify(
    event: NotificationEvent,
    record: ApprovalRecord,
    extra: Pick<ApprovalNotification, 'escalatedTo' | 'outcome'> = {},
    byReference = false,
  ): void {
    this.notifier.send(event, record, extra, byReference);
  }

  /** True while a notification sent is neither delivered nor failed for good (what {@link drain} waits for). */
  get notifying(): boolean {
    return this.notifier.inflightCount > 0;
  }

  /** Resolves once every notification sent so far has been delivered or has failed for good. */
  drain(): Promise<void> {
    return this.notifier.drain();
  }
}

/** Installs the `approval` signal and the `decide` update (DESIGN §2.1) on the running goal. */
export function installApprovalHandlers(desk: ApprovalDesk): void {
  // A decision that carries an assertion is judged against the operator's trust as read within the last minute (recorded).
  const fresh = (d: ApprovalDecision): boolean => desk.gate.active && typeof d?.assertion === 'string';
  setHandler(approvalSignal, async (d) => {
    if (fresh(d)) await desk.gate.refreshIfStale();
    desk.decide(d, 'signal');
  });
  setHandler(
    decideUpdate,
    async (d) => {
      if (fresh(d)) await desk.gate.refreshIfStale();
      const record = desk.decide(d, 'update');
      if (!record) throw ApplicationFailure.nonRetryable(desk.refused.at(-1)?.reason ?? 'decision refused');
      return record;
    },
    {
      validator: (d: ApprovalDecision) => {
        const verdict = desk.judge(d);
        if (verdict.ok) return;
        const { reason } = verdict;
        // Temporal keeps no history of an update its validator refuses; the worker's log is where it shows.
        log.warn('approval decision refused', {
          approvalId: String(d?.approvalId),
          by: String(d?.by),
          decision: String(d?.decision),
          reason,
        });
        throw new Error(reason);
      },
    },
  );
}
