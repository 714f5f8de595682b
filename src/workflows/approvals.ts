/** Approval rules as pure functions over the goal's records: who may decide, what a vote does, what is due when. */
import type { ApprovalPolicy, Blueprint } from '../blueprint/schema.js';
import type { ApprovalDecision, ApprovalRecord, Vote } from './definitions.js';
import { durationMs } from './durations.js';

/** Resolves approver references (`alice`, `group:finance`, `*`) to user names; `*` stays as the wildcard. */
export function resolveApprovers(refs: readonly string[], groups: Blueprint['approvers']): string[] {
  const users = new Set<string>();
  for (const ref of refs) {
    const members = ref.startsWith('group:') ? (groups[ref.slice(6)] ?? []) : [ref];
    for (const m of members) users.add(m);
  }
  return [...users].sort();
}

/** True when `user` is among the approvers of the approval now (escalations included). */
export function mayDecide(record: ApprovalRecord, user: string): boolean {
  return record.eligible.includes(user) || record.eligible.includes('*');
}

/** True when the approval is pending and waits on `user`: allowed to decide and has not voted yet. */
export function waitsOn(record: ApprovalRecord, user: string): boolean {
  return record.status === 'pending' && mayDecide(record, user) && !record.votes.some((v) => v.by === user);
}

/** Who a pending approval still waits on: its approvers minus those who have voted (`*` stays). */
export function waitingOn(record: ApprovalRecord): string[] {
  if (record.status !== 'pending') return [];
  return record.eligible.filter((u) => u === '*' || !record.votes.some((v) => v.by === u));
}

/**
 * Why a decision cannot be considered at all (malformed, unknown or settled approval), before whoever sent it is
 * verified; undefined when it can be.
 */
export function pendingRefusal(records: readonly ApprovalRecord[], d: ApprovalDecision): string | undefined {
  if (!d || typeof d !== 'object') return 'the payload must be {"approvalId", "decision", "comment"?, "assertion"}';
  if (d.decision !== 'approve' && d.decision !== 'reject') {
    return `decision must be "approve" or "reject", not ${JSON.stringify(d.decision)}`;
  }
  if (d.comment !== undefined && typeof d.comment !== 'string') return 'comment must be a string';
  const record = records.find((r) => r.id === d.approvalId);
  if (!record) {
    const open = records.filter((r) => r.status === 'pending').map((r) => r.id);
    return `no approval "${String(d.approvalId)}" in this goal; open approvals: ${open.join(', ') || 'none'}`;
  }
  if (record.status !== 'pending') return `approval ${record.id} is already ${record.status.replace('_', ' ')}`;
  return undefined;
}

/**
 * Why a decision cannot be accepted, or undefined when it can, for goals recorded before verified identity (who
 * decides is the name the payload gives). Messages name the problem and what to do.
 */
export function refusalReason(records: readonly ApprovalRecord[], d: ApprovalDecision): string | undefined {
  if (!d || typeof d !== 'object') return 'the payload must be {"approvalId", "decision", "by", "comment"?}';
  if (d.decision !== 'approve' && d.decision !== 'reject') {
    return `decision must be "approve" or "reject", not ${JSON.stringify(d.decision)}`;
  }
  if (typeof d.by !== 'string' || d.by.trim() === '') return 'by must name who decides (set BATON_USER)';
  if (d.comment !== undefined && typeof d.comment !== 'string') return 'comment must be a string';
  const record = records.find((r) => r.id === d.approvalId);
  if (!record) {
    const open = records.filter((r) => r.status === 'pending').map((r) => r.id);
    return `no approval "${String(d.approvalId)}" in this goal; open approvals: ${open.join(', ') || 'none'}`;
  }
  if (record.status !== 'pending') return `approval ${record.id} is already ${record.status.replace('_', ' ')}`;
  if (!mayDecide(record, d.by)) {
    return `${d.by} may not decide approval ${record.id}; approvers now: ${record.eligible.join(', ')}`;
  }
  if (record.votes.some((v) => v.by === d.by)) {
    const waiting = waitingOn(record);
    return `${d.by} has already voted on approval ${record.id}; it needs ${record.quorum} approvals and now waits on ${waiting.join(', ') || 'nobody else'}`;
  }
  return undefined;
}

/** Records a valid vote and settles the approval: one rejection rejects, `quorum` approvals approve. */
export function applyVote(record: ApprovalRecord, vote: Vote): void {
  record.votes.push(vote);
  if (vote.decision === 'reject') {
    record.status = 'rejected';
    record.decidedAt = vote.at;
  } else if (record.votes.filter((v) => v.decision === 'approve').length >= record.quorum) {
    record.status = 'approved';
    record.decidedAt = vote.at;
  }
}

/** What is due on a waiting approval at a moment: the timeout, escalation steps, a reminder. */
export interface DueWork {
  timeout: boolean;
  /** Indexes into `policy.escalate` that are due, in order. */
  escalations: number[];
  reminder: boolean;
}

/** Where an approval's schedule stands: how many reminders and escalation steps have happened. */
export interface ScheduleProgress {
  reminders: number;
  escalations: number;
}

/** The next moment (epoch ms) something is due on an approval opened at `openedMs`, or Infinity. */
export function nextWake(policy: ApprovalPolicy, openedMs: number, done: ScheduleProgress): number {
  const reminder = policy.remind === undefined ? Infinity : openedMs + (done.reminders + 1) * durationMs(policy.remind);
  const step = policy.escalate[done.escalations];
  const escalation = step ? openedMs + durationMs(step.after) : Infinity;
  const deadline = policy.timeout === undefined ? Infinity : openedMs + durationMs(policy.timeout);
  return Math.min(reminder, escalation, deadline);
}

/**
 * What is due at `nowMs`. Reminders missed while no worker ran collapse into one; escalation steps never do, since
 * each adds approvers.
 */
export function dueAt(policy: ApprovalPolicy, openedMs: number, done: ScheduleProgress, nowMs: number): DueWork {
  const timeout = policy.timeout !== undefined && nowMs >= openedMs + durationMs(policy.timeout);
  const escalations: number[] = [];
  for (let i = done.escalations; i < policy.escalate.length; i++) {
    if (nowMs >= openedMs + durationMs(policy.escalate[i]!.after)) escalations.push(i);
    else break;
  }
  const reminder = policy.remind !== undefined && nowMs >= openedMs + (done.reminders + 1) * durationMs(policy.remind);
  return { timeout, escalations, reminder };
}

/** The number of reminder intervals that have passed at `nowMs`: where the reminder count stands after one is sent. */
export function remindersElapsed(policy: ApprovalPolicy, openedMs: number, nowMs: number): number {
  return policy.remind === undefined ? 0 : Math.floor((nowMs - openedMs) / durationMs(policy.remind));
}

/**
 * Where the schedule of an approval carried over continue-as-new stands, read from its record: the escalation steps
 * it logged, and the reminder interval of its latest reminder (the log always keeps the latest).
 */
export function scheduleOf(record: ApprovalRecord, policy: ApprovalPolicy, openedMs: number): ScheduleProgress {
  const lastReminder = record.events.findLast((e) => e.kind === 'reminder');
  return {
    escalations: record.events.filter((e) => e.kind === 'escalation').length,
    reminders: lastReminder ? remindersElapsed(policy, openedMs, Date.parse(lastReminder.at)) : 0,
  };
}

/** Reminders an approval's log lists; older ones are dropped from the log and only counted (`reminders`). */
export const LISTED_REMINDERS = 10;

/** Logs a reminder: counted, listed, and the oldest listed one dropped past {@link LISTED_REMINDERS}. */
export function logReminder(record: ApprovalRecord, at: string): void {
  record.reminders = (record.reminders ?? 0) + 1;
  record.events.push({ kind: 'reminder', at, to: waitingOn(record) });
  if (record.events.filter((e) => e.kind === 'reminder').length > LISTED_REMINDERS) {
    record.events.splice(
      record.events.findIndex((e) => e.kind === 'reminder'),
      1,
    );
  }
}

/** One thing a wake does to a waiting approval. `step` indexes `policy.escalate`. */
export type WakeWork = { kind: 'timeout' } | { kind: 'escalation'; step: number } | { kind: 'reminder' };

/** What a wake does with the work due, in the desk's order: the timeout alone, else each escalation step, then a reminder. */
export function wakeWork(due: DueWork): WakeWork[] {
  if (due.timeout) return [{ kind: 'timeout' }];
  return [
    ...due.escalations.map((step): WakeWork => ({ kind: 'escalation', step })),
    ...(due.reminder ? [{ kind: 'reminder' } as const] : []),
  ];
}

/** Moves the schedule past the work `due` held at `nowMs`, once it is done. */
export function advanceSchedule(
  policy: ApprovalPolicy,
  openedMs: number,
  done: ScheduleProgress,
  due: DueWork,
  nowMs: number,
): void {
  const step = due.escalations.at(-1);
  if (step !== undefined) done.escalations = step + 1;
  if (due.reminder) done.reminders = remindersElapsed(policy, openedMs, nowMs);
}

const WORK_WORD = /^(timeout|reminder|escalation (\d+))$/;

/**
 * The summary of the timer an approval waits on, naming the work due when it fires (`escalation 1` is the first
 * step), so history says what each timer is for; {@link readWakeSummary} reads it back.
 */
export function wakeSummary(record: Pick<ApprovalRecord, 'id' | 'tool'>, wakeMs: number, work: WakeWork[]): string {
  const words = work.map((w) => (w.kind === 'escalation' ? `escalation ${w.step + 1}` : w.kind));
  return `${record.id} ${record.tool}: waiting until ${new Date(wakeMs).toISOString()} for ${words.join(', ')}`;
}

/** The approval and the work a {@link wakeSummary} names, or undefined for any other summary. */
export function readWakeSummary(summary: string | undefined): { approvalId: string; work: WakeWork[] } | undefined {
  const m = /^(\S+) \S+: waiting until \S+ for (.+)$/.exec(summary ?? '');
  if (!m) return undefined;
  const work: WakeWork[] = [];
  for (const word of m[2]!.split(', ')) {
    const w = WORK_WORD.exec(word);
    if (!w) return undefined;
    work.push(
      w[2] === undefined ? { kind: w[1] as 'timeout' | 'reminder' } : { kind: 'escalation', step: Number(w[2]) - 1 },
    );
  }
  return { approvalId: m[1]!, work };
}

/**
 * What the agent is told when an approval did not approve its call, so it can choose another path; undefined when
 * the call was approved.
 */
export function refusalForAgent(record: ApprovalRecord, policy: Pick<ApprovalPolicy, 'timeout'>): string | undefined {
  if (record.status === 'approved' || record.status === 'pending') return undefined;
  if (record.status === 'cancelled') return `not run: approval ${record.id} was cancelled with the goal.`;
  if (record.status === 'timed_out') {
    return `not run: approval ${record.id} timed out after ${policy.timeout ?? 'its deadline'} with no decision, so it counts as rejected. Choose another path or report this.`;
  }
  const last = record.votes.at(-1);
  const comment = last?.comment ? `: ${last.comment}` : ' (no comment)';
  return `not run: approval ${record.id} was rejected by ${last?.by ?? 'an approver'}${comment}. Choose another path or report this.`;
}
