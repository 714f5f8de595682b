/**
 * Approvals in the audit trail, from history. A goal that records facts (src/workflows/facts.ts) says when an
 * approval opened (for which tool call) and how it settled; in older histories an approval opens when the goal
 * publishes `BatonStatus` `awaiting_approval` while no question is outstanding. `approval` signals and `decide`
 * updates decide it; timers that fire while it waits are its reminders, escalations and deadline. What history does
 * not state (whether a signalled decision counted, what a timer was for) is replayed with the workflow's own pure
 * rules over the pinned blueprint; what it does state (the record a `decide` update returned, the approvals carried
 * into a new run) replaces what was replayed.
 */
import type { ApprovalPolicy, Blueprint } from '../blueprint/schema.js';
import {
  advanceSchedule,
  applyVote,
  dueAt,
  readWakeSummary,
  refusalReason,
  resolveApprovers,
  waitingOn,
  wakeWork,
  type ScheduleProgress,
  type WakeWork,
} from '../workflows/approvals.js';
import type { ApprovalDecision, ApprovalRecord } from '../workflows/definitions.js';
import { durationMs } from '../workflows/durations.js';
import type { AuditFact, DecisionFact } from '../workflows/facts.js';
import { actIdentity, CLIENT_DECLARED } from './identity.js';
import { AuditKind, compact, failureInfo, type Emit, type Located, type TrailFacts } from './entry.js';
import { decodePayloads, firstPayload, protoDurationMs, text } from './history.js';

/** The tool an approval is asked for when no tool call is waiting: a budget extension. */
const BUDGET_TOOL = 'budget';

/** The tool call an approval opened for, as the trail's current batch of tool calls knows it. */
export interface ClaimedCall {
  tool: string;
  args: unknown;
  agent: string;
  /** What the workflow later told the model about the call, when history has it. */
  told?: string;
  /** What the agent said when it made the call. */
  reason: string;
  assign(approvalId: string): void;
}

interface OpenApproval {
  record: ApprovalRecord;
  policy?: ApprovalPolicy;
  /** When the workflow opened it, by the workflow's clock: where its schedule counts from. */
  openedMs: number;
  /** How far its schedule has gone, as the desk keeps it. */
  done: ScheduleProgress;
}

/** Follows a goal's approvals through its history, emitting their audit entries. */
export class ApprovalTrail {
  /** Latest BatonStatus / BatonApprovers / BatonCostUsd the goal published. */
  readonly published: TrailFacts['published'] = {};
  private approvals: ApprovalRecord[] = [];
  private open: OpenApproval[] = [];
  private bp: Blueprint | undefined;

  constructor(
    private readonly emit: Emit,
    /** `decide` completions, by `run:acceptedEventId` and by `run:update:updateId`. */
    private readonly updateOutcomes: ReadonlyMap<string, Located>,
    /** Timers started, by `run:timerId`. */
    private readonly timersStarted: ReadonlyMap<string, Located>,
    /** Every event of every run, in order: where the workflow's clock is read. */
    private readonly history: readonly Located[],
  ) {}

  /** The blueprint pinned in the goal's first event. */
  pin(bp: Blueprint | undefined): void {
    this.bp = bp;
  }

  /** A new run starts with the approvals the previous one carried: the workflow's own record at the boundary. */
  carried(approvals: ApprovalRecord[]): void {
    this.approvals = approvals.map((r) => ({ ...r, votes: [...r.votes], events: [...r.events] }));
    this.open = this.approvals
      .filter((r) => r.status === 'pending')
      .map((record) => {
        const policy = this.policyFor(record.tool);
        return {
          record,
          ...(policy ? { policy } : {}),
          openedMs: Date.parse(record.openedAt),
          done: {
            reminders: record.events.filter((e) => e.kind === 'reminder').length,
            escalations: record.events.filter((e) => e.kind === 'escalation').length,
          },
        };
      });
  }

  /** The approval policy the pinned blueprint gives `tool` (`budget`: the budget extension's). */
  private policyFor(tool: string): ApprovalPolicy | undefined {
    return tool === BUDGET_TOOL ? this.bp?.budget.approval : this.bp?.tools[tool]?.approval;
  }

  /**
   * The workflow's clock (what `Date.now()` returned in workflow code) in the workflow task that completed after
   * `loc` (`handled`: the task that saw the event) or before it (`issued`: the task whose command it is): the start
   * of that task, the last one started before it completed (earlier attempts failed or timed out).
   */
  private workflowClock(loc: Located, which: 'handled' | 'issued'): number {
    const step = which === 'handled' ? 1 : -1;
    const inRun = (i: number): boolean => i >= 0 && i < this.history.length && this.history[i]!.run === loc.run;
    let completed = loc.pos + step;
    while (inRun(completed) && this.history[completed]!.ev.type !== 'WorkflowTaskCompleted') completed += step;
    for (let i = completed - 1; inRun(completed) && inRun(i); i--) {
      if (this.history[i]!.ev.type === 'WorkflowTaskStarted') return Date.parse(this.history[i]!.ev.time);
    }
    return Date.parse(loc.ev.time);
  }

  /**
   * A search attribute upsert. In a history without facts, `BatonStatus` turning to `awaiting_approval` opens an
   * approval for the tool call `claim` finds, else (`question` says whether a question opened instead) a budget
   * extension; `awaiting_reply` is a question.
   */
  upsert(
    loc: Located,
    claim: (loc: Located) => ClaimedCall | undefined,
    question: ((loc: Located) => boolean) | undefined,
  ): void {
    const fields = (loc.ev.attrs.searchAttributes as { indexedFields?: Record<string, unknown> } | undefined)
      ?.indexedFields;
    if (!fields) return;
    const before = this.published.status;
    const read = (name: string): unknown =>
      fields[name] === undefined ? undefined : firstPayload({ payloads: [fields[name]] });
    const status = read('BatonStatus');
    const approvers = read('BatonApprovers');
    const cost = read('BatonCostUsd');
    if (typeof status === 'string') this.published.status = status;
    if (Array.isArray(approvers)) this.published.approvers = approvers.map(String);
    if (typeof cost === 'number') this.published.costUsd = cost;
    const now = this.published.status;
    if (question && now === 'awaiting_reply' && before !== 'awaiting_reply') {
      question(loc);
    } else if (question && now === 'awaiting_approval' && before !== 'awaiting_approval') {
      const candidate = claim(loc);
      if (candidate || !question(loc)) this.opened(loc, candidate);
    } else if (now === 'awaiting_approval' && Array.isArray(approvers)) {
      const current = this.open.at(-1)?.record;
      // BatonApprovers says who is still waited on; who may decide comes from the blueprint when it is pinned.
      if (current && !this.bp) current.eligible = approvers.map(String);
    } else if (question && before === 'awaiting_approval' && now !== 'awaiting_approval') {
      // Status left awaiting_approval: whatever was open is settled, even where history does not say how.
      this.open = [];
    }
  }

  /** The workflow's fact: an approval opened, for the tool call `candidate` (when it is for one). */
  openedFact(loc: Located, fact: Extract<AuditFact, { fact: 'approval.opened' }>, candidate?: ClaimedCall): void {
    this.opened(loc, candidate, fact);
  }

  /** The workflow's fact: an approval settled (its decisions and timeout have their own records). */
  settledFact(fact: Extract<AuditFact, { fact: 'approval.settled' }>): void {
    const record = this.approvals.find((r) => r.id === fact.approvalId);
    if (!record) return;
    record.status = fact.status;
    this.settled(record);
  }

  /** An approval is open. */
  hasOpen(): boolean {
    return this.open.length > 0;
  }

  private opened(
    loc: Located,
    candidate: ClaimedCall | undefined,
    fact?: Extract<AuditFact, { fact: 'approval.opened' }>,
  ): void {
    const tool = fact?.tool ?? candidate?.tool ?? BUDGET_TOOL;
    const policy = this.policyFor(tool);
    const reported = this.reportedRecord(loc, tool);
    // Older histories: the id is what the model was later told, or the `decide` update's record, or counted.
    const id =
      fact?.approvalId ??
      /approval (\S+) was/.exec(candidate?.told ?? '')?.[1] ??
      reported?.id ??
      `apr-${this.approvals.length + 1}`;
    candidate?.assign(id);
    const openedMs = reported ? Date.parse(reported.openedAt) : this.workflowClock(loc, 'issued');
    const timeoutMs = policy?.timeout === undefined ? undefined : durationMs(policy.timeout);
    const deadline =
      fact?.deadline ??
      reported?.deadline ??
      (timeoutMs === undefined ? undefined : new Date(openedMs + timeoutMs).toISOString());
    const record: ApprovalRecord = {
      id,
      tool,
      args: candidate?.args ?? reported?.args ?? null,
      reason: candidate?.reason ?? reported?.reason ?? '',
      requestedBy: fact?.agent ?? candidate?.agent ?? reported?.requestedBy ?? 'baton',
      approvers: policy ? [...policy.approvers] : [...(reported?.approvers ?? [])],
      eligible: fact
        ? [...fact.eligible]
        : policy && this.bp
          ? resolveApprovers(policy.approvers, this.bp.approvers)
          : (this.published.approvers ?? []),
      quorum: fact?.quorum ?? policy?.quorum ?? reported?.quorum ?? 1,
      votes: [],
      status: 'pending',
      openedAt: new Date(openedMs).toISOString(),
      ...(deadline === undefined ? {} : { deadline }),
      events: [],
    };
    this.approvals.push(record);
    this.open.push({
      record,
      ...(policy ? { policy } : {}),
      openedMs,
      done: { reminders: 0, escalations: 0 },
    });
    const asker = fact && tool !== BUDGET_TOOL ? fact.agent : candidate?.agent;
    this.emit(
      loc,
      AuditKind.ApprovalRequested,
      asker ? `agent:${asker}` : 'baton',
      `${id}: ${tool} ${compact(record.args, 60)} waits for ${record.eligible.join(', ') || 'an approver'}${record.quorum > 1 ? ` (quorum ${record.quorum})` : ''}${record.deadline ? `, deadline ${record.deadline}` : ''}`,
      {
        approvalId: id,
        tool,
        args: record.args,
        reason: record.reason,
        requestedBy: record.requestedBy,
        approvers: record.approvers,
        eligible: record.eligible,
        quorum: record.quorum,
        deadline: record.deadline ?? null,
        policy: policy ?? null,
        ...(fact?.callId ? { callId: fact.callId } : {}),
        source: fact ? 'recorded by the workflow' : 'inferred from BatonStatus',
      },
    );
  }

  /** The record a later `decide` update returned for an approval of `tool` opened at `loc`: the workflow's own. */
  private reportedRecord(loc: Located, tool: string): ApprovalRecord | undefined {
    const known = new Set(this.approvals.map((r) => r.id));
    for (const done of new Set(this.updateOutcomes.values())) {
      if (done.pos < loc.pos) continue;
      const record = firstPayload((done.ev.attrs.outcome as { success?: unknown } | undefined)?.success) as
        ApprovalRecord | undefined;
      if (record?.id && record.tool === tool && !known.has(record.id)) return record;
    }
    return undefined;
  }

  private decisionSummary(d: ApprovalDecision, via: string, outcome: string, reason?: string, status?: string): string {
    const verb = d?.decision === 'reject' ? 'rejected' : d?.decision === 'approve' ? 'approved' : String(d?.decision);
    const what = `${String(d?.by)} ${outcome === 'accepted' ? verb : `tried to ${String(d?.decision)}`} ${String(d?.approvalId)} (${via})`;
    const comment = d?.comment ? `: "${d.comment}"` : '';
    if (outcome !== 'accepted') return `${what}${comment} → refused: ${reason ?? 'unknown reason'}`;
    return `${what}${comment}${status && status !== 'pending' ? ` → ${status}` : ' → vote counted'}`;
  }

  /**
   * A signal: an `approval` decision takes the workflow's recorded verdict (goals with verified identity), else it is
   * replayed with the approval rules (older goals); other signals are recorded as sent.
   */
  signaled(loc: Located, verdictOf: (approvalId: unknown) => DecisionFact | undefined): void {
    const a = loc.ev.attrs;
    const name = text(a.signalName);
    const payloads = decodePayloads(a.input);
    if (name !== 'approval') {
      return this.emit(
        loc,
        AuditKind.Signal,
        text(a.identity, 'unknown client'),
        `signal ${name} ${compact(payloads[0], 60)}`,
        {
          name,
          input: payloads,
          identity: a.identity ?? null,
          identityIs: CLIENT_DECLARED,
        },
      );
    }
    const d = payloads[0] as ApprovalDecision;
    const who = actIdentity(verdictOf(d?.approvalId), d?.by, d?.assertion, a.identity);
    const reason = who.outcome ? who.refusal : refusalReason(this.approvals, d);
    const record = reason === undefined ? this.approvals.find((r) => r.id === d.approvalId) : undefined;
    if (record) {
      applyVote(record, {
        by: who.who,
        decision: d.decision,
        ...(d.comment ? { comment: d.comment } : {}),
        at: loc.ev.time,
        via: 'signal',
      });
      this.settled(record);
    }
    const outcome = record ? 'accepted' : 'refused';
    this.emit(
      loc,
      AuditKind.ApprovalDecision,
      who.actor,
      this.decisionSummary({ ...d, by: who.who }, 'signal', outcome, reason, record?.status),
      {
        via: 'signal',
        approvalId: d?.approvalId ?? null,
        decision: d?.decision ?? null,
        by: who.outcome === 'accepted' ? who.who : null,
        comment: d?.comment ?? null,
        ...who.data,
        outcome,
        ...(reason === undefined ? {} : { refusal: reason }),
        approvalStatus: record?.status ?? null,
        derived: who.outcome
          ? 'the verdict the workflow recorded'
          : 'outcome replayed from history with the approval rules',
      },
    );
  }

  /** An accepted update: `decide` with the outcome the workflow returned; others as recorded. */
  updateAccepted(loc: Located, verdictOf: (approvalId: unknown) => DecisionFact | undefined): void {
    const a = loc.ev.attrs;
    const request = a.acceptedRequest as
      { meta?: { updateId?: string; identity?: string }; input?: { name?: string; args?: unknown } } | undefined;
    const name = text(request?.input?.name);
    const args = decodePayloads(request?.input?.args);
    const identity = request?.meta?.identity ?? null;
    const done =
      this.updateOutcomes.get(`${loc.run}:${loc.ev.id}`) ??
      this.updateOutcomes.get(`${loc.run}:update:${request?.meta?.updateId ?? ''}`);
    const outcomeAttr = done?.ev.attrs.outcome as { success?: unknown; failure?: unknown } | undefined;
    const success = outcomeAttr?.success ? firstPayload(outcomeAttr.success) : undefined;
    const failure = outcomeAttr?.failure ? failureInfo(outcomeAttr.failure) : undefined;
    const events = [loc.ev.id, ...(done ? [done.ev.id] : [])];
    if (name !== 'decide') {
      return this.emit(
        loc,
        AuditKind.Update,
        identity ?? 'unknown client',
        `update ${name} ${compact(args[0], 60)}${failure ? ` → failed: ${failure.message}` : ''}`,
        {
          name,
          input: args,
          identity,
          updateId: request?.meta?.updateId ?? null,
          result: success ?? null,
          failure: failure ?? null,
        },
        events,
      );
    }
    const d = args[0] as ApprovalDecision;
    const who = actIdentity(done ? verdictOf(d?.approvalId) : undefined, d?.by, d?.assertion, identity);
    let status: string | undefined;
    if (success && typeof success === 'object' && 'id' in success) {
      const record = success as ApprovalRecord;
      const index = this.approvals.findIndex((r) => r.id === record.id);
      const copy = { ...record, votes: [...record.votes], events: [...record.events] };
      if (index >= 0) this.approvals[index] = copy;
      else this.approvals.push(copy);
      const open = this.open.find((o) => o.record.id === record.id);
      if (open) open.record = copy;
      status = record.status;
      this.settled(copy);
    }
    const outcome = !done ? 'pending' : failure ? 'refused' : 'accepted';
    this.emit(
      loc,
      AuditKind.ApprovalDecision,
      who.actor,
      outcome === 'pending'
        ? `${who.who} ${String(d?.decision)}s ${String(d?.approvalId)} (update, in progress)`
        : this.decisionSummary({ ...d, by: who.who }, 'update', outcome, failure?.message, status),
      {
        via: 'update',
        approvalId: d?.approvalId ?? null,
        decision: d?.decision ?? null,
        by: outcome === 'accepted' ? who.who : null,
        comment: d?.comment ?? null,
        ...who.data,
        updateId: request?.meta?.updateId ?? null,
        outcome,
        ...(failure ? { refusal: failure.message } : {}),
        approvalStatus: status ?? null,
        completedAt: done?.ev.time ?? null,
      },
      events,
    );
  }

  private settled(record: ApprovalRecord): void {
    if (record.status === 'pending') return;
    this.open = this.open.filter((o) => o.record.id !== record.id);
  }

  /**
   * A timer fired. While an approval waits, its timer's summary names the approval and the work due at the wake
   * (reminder, escalation steps, timeout). The workflow does what is due by its own clock when it handles the wake,
   * which is later than the wake when no worker ran; so with the pinned policy the audit replays the desk's schedule
   * at that clock, and says when that differs from the summary. Without the policy, the summary is the record.
   */
  timerFired(loc: Located): void {
    const startedLoc = this.timersStarted.get(`${loc.run}:${String(loc.ev.attrs.timerId)}`);
    const summary = startedLoc?.ev.summary;
    const waitedMs = protoDurationMs(startedLoc?.ev.attrs.startToFireTimeout);
    const events = [...(startedLoc ? [startedLoc.ev.id] : []), loc.ev.id];
    const stated = readWakeSummary(summary);
    const open = stated ? this.open.find((o) => o.record.id === stated.approvalId) : this.open.at(-1);
    const { work, derived } = open ? this.wakeWork(open, stated?.work, loc) : { work: [], derived: '' };
    if (!open || work.length === 0) {
      if (summary) {
        this.emit(
          loc,
          AuditKind.Timer,
          'baton',
          `timer fired: ${summary}`,
          { summary, waitedMs: waitedMs ?? null },
          events,
        );
      }
      return;
    }
    const record = open.record;
    const common = {
      approvalId: record.id,
      tool: record.tool,
      waitedMs: waitedMs ?? null,
      timerSummary: summary ?? null,
      derived,
    };
    for (const w of work) {
      if (w.kind === 'reminder') {
        const to = waitingOn(record);
        record.events.push({ kind: 'reminder', at: loc.ev.time, to });
        const count = record.events.filter((e) => e.kind === 'reminder').length;
        this.emit(
          loc,
          AuditKind.ApprovalReminder,
          'baton',
          `${record.id}: reminder ${count} to ${to.join(', ')}`,
          { ...common, to, count },
          events,
        );
      } else if (w.kind === 'escalation') {
        const step = open.policy?.escalate[w.step];
        const to = step?.to ?? [];
        record.approvers = [...new Set([...record.approvers, ...to])];
        if (this.bp) record.eligible = resolveApprovers(record.approvers, this.bp.approvers);
        record.events.push({ kind: 'escalation', at: loc.ev.time, to: [...to] });
        this.emit(
          loc,
          AuditKind.ApprovalEscalation,
          'baton',
          `${record.id}: escalated after ${step?.after ?? '?'} to ${to.join(', ')}`,
          { ...common, step: w.step + 1, to, after: step?.after ?? null, eligible: [...record.eligible] },
          events,
        );
      } else {
        record.events.push({ kind: 'timeout', at: loc.ev.time, to: waitingOn(record) });
        record.status = 'timed_out';
        record.decidedAt = loc.ev.time;
        this.settled(record);
        const onTimeout = open.policy?.onTimeout ?? 'reject';
        this.emit(
          loc,
          AuditKind.ApprovalTimeout,
          'baton',
          `${record.id}: nobody decided by the deadline; ${onTimeout === 'cancel' ? 'the goal is cancelled' : 'treated as rejected'}`,
          { ...common, deadline: record.deadline ?? null, onTimeout },
          events,
        );
      }
    }
  }

  /** What the workflow did at a wake of `open`, and how the audit knows (see {@link timerFired}). */
  private wakeWork(
    open: OpenApproval,
    stated: WakeWork[] | undefined,
    loc: Located,
  ): { work: WakeWork[]; derived: string } {
    if (!open.policy) return { work: stated ?? [], derived: 'as the timer summary states' };
    const now = this.workflowClock(loc, 'handled');
    const due = dueAt(open.policy, open.openedMs, open.done, now);
    advanceSchedule(open.policy, open.openedMs, open.done, due, now);
    const work = wakeWork(due);
    if (!stated) return { work, derived: 'replayed with the approval schedule at the workflow clock' };
    if (JSON.stringify(work) === JSON.stringify(stated)) return { work, derived: 'as the timer summary states' };
    return {
      work,
      derived: `the workflow handled this wake at ${new Date(now).toISOString()}, later than its timer, when what the approval schedule had due differed from what the timer summary states`,
    };
  }
}
