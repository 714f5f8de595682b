/**
 * Timers in the audit trail. While an approval waits, its timer's summary names the approval and the work due at
 * the wake (reminder, escalation steps, timeout); the trail records that work as the approval's reminders,
 * escalations and deadline. Any other timer with a summary is recorded as it fired.
 */
import {
  advanceSchedule,
  dueAt,
  readWakeSummary,
  resolveApprovers,
  waitingOn,
  wakeWork,
  type WakeWork,
} from '../workflows/approvals.js';
import type { ApprovalTrail, OpenApproval } from './approvals.js';
import { AuditKind, type Located } from './entry.js';
import { protoDurationMs } from './history.js';

/**
 * A timer fired. While an approval waits, its timer's summary names the approval and the work due at the wake
 * (reminder, escalation steps, timeout). The workflow does what is due by its own clock when it handles the wake,
 * which is later than the wake when no worker ran; so with the pinned policy the audit replays the desk's schedule
 * at that clock, and says when that differs from the summary. Without the policy, the summary is the record.
 */
export function approvalTimerFired(trail: ApprovalTrail, loc: Located): void {
  const startedLoc = trail.index.timerStarted(loc, loc.ev.attrs.timerId);
  const summary = startedLoc?.ev.summary;
  const waitedMs = protoDurationMs(startedLoc?.ev.attrs.startToFireTimeout);
  const events = [...(startedLoc ? [startedLoc.ev.id] : []), loc.ev.id];
  const stated = readWakeSummary(summary);
  const open = trail.openOne(stated?.approvalId);
  const { work, derived } = open ? wakeWorkAt(trail, open, stated?.work, loc) : { work: [], derived: '' };
  if (!open || work.length === 0) {
    if (summary) {
      trail.emit(
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
      trail.emit(
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
      const bp = trail.blueprint;
      if (bp) record.eligible = resolveApprovers(record.approvers, bp.approvers);
      record.events.push({ kind: 'escalation', at: loc.ev.time, to: [...to] });
      trail.emit(
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
      trail.settled(record);
      const onTimeout = open.policy?.onTimeout ?? 'reject';
      trail.emit(
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

/** What the workflow did at a wake of `open`, and how the audit knows (see {@link approvalTimerFired}). */
function wakeWorkAt(
  trail: ApprovalTrail,
  open: OpenApproval,
  stated: WakeWork[] | undefined,
  loc: Located,
): { work: WakeWork[]; derived: string } {
  if (!open.policy) return { work: stated ?? [], derived: 'as the timer summary states' };
  const now = trail.index.workflowClock(loc, 'handled');
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
