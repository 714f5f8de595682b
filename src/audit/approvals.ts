/**
 * Approvals in the audit trail, from history. A goal that records facts (src/workflows/facts.ts) says when an
 * approval opened (for which tool call) and how it settled; in older histories an approval opens when the goal
 * publishes `BatonStatus` `awaiting_approval` while no question is outstanding. This module keeps the approvals as
 * the trail knows them and records their opening; their decisions (approval-decisions.ts) and the timers that fire
 * while they wait (approval-timers.ts) are read with the workflow's own pure rules over the pinned blueprint, and what
 * history states (the record a `decide` update returned, the approvals carried into a new run) replaces what was
 * replayed.
 */
import type { ApprovalPolicy, Blueprint } from '../blueprint/schema.js';
import { resolveApprovers, type ScheduleProgress } from '../workflows/approvals.js';
import type { ApprovalRecord } from '../workflows/definitions.js';
import { durationMs } from '../workflows/durations.js';
import type { AuditFact } from '../workflows/facts.js';
import { AuditKind, compact, type Emit, type Located, type TrailFacts } from './entry.js';
import { firstPayload } from './history.js';
import type { HistoryIndex } from './history-index.js';

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

/** An approval still waiting, with what its schedule needs. */
export interface OpenApproval {
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
    readonly emit: Emit,
    readonly index: HistoryIndex,
  ) {}

  /** The blueprint pinned in the goal's first event. */
  pin(bp: Blueprint | undefined): void {
    this.bp = bp;
  }

  /** The blueprint the approvals are read with, when pinned. */
  get blueprint(): Blueprint | undefined {
    return this.bp;
  }

  /** Every approval so far, in the order they opened. */
  get records(): readonly ApprovalRecord[] {
    return this.approvals;
  }

  /** The open approval `approvalId`, or without an id the last one opened. */
  openOne(approvalId?: string): OpenApproval | undefined {
    return approvalId === undefined ? this.open.at(-1) : this.open.find((o) => o.record.id === approvalId);
  }

  /** The workflow's own record of an approval (a `decide` update's result) replaces what the trail replayed. */
  adopt(record: ApprovalRecord): ApprovalRecord {
    const index = this.approvals.findIndex((r) => r.id === record.id);
    const copy = { ...record, votes: [...record.votes], events: [...record.events] };
    if (index >= 0) this.approvals[index] = copy;
    else this.approvals.push(copy);
    const open = this.open.find((o) => o.record.id === record.id);
    if (open) open.record = copy;
    this.settled(copy);
    return copy;
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
    const openedMs = reported ? Date.parse(reported.openedAt) : this.index.workflowClock(loc, 'issued');
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
    for (const done of new Set(this.index.updateOutcomes.values())) {
      if (done.pos < loc.pos) continue;
      const record = firstPayload((done.ev.attrs.outcome as { success?: unknown } | undefined)?.success) as
        ApprovalRecord | undefined;
      if (record?.id && record.tool === tool && !known.has(record.id)) return record;
    }
    return undefined;
  }

  /** A settled approval is no longer open. */
  settled(record: ApprovalRecord): void {
    if (record.status === 'pending') return;
    this.open = this.open.filter((o) => o.record.id !== record.id);
  }
}
