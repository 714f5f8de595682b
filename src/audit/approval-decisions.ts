/**
 * Approval decisions in the audit trail: `approval` signals and `decide` updates. History does not say whether a
 * signalled decision counted, so it is replayed with the workflow's own rules (`refusalReason`, `applyVote`); a
 * `decide` update's outcome is in history (the record the workflow returned, or its refusal), and that record
 * replaces what the trail replayed. Refused `decide` updates are rejected by the validator before they reach
 * history, so they are not in the trail; refused `approval` signals are.
 */
import { applyVote, refusalReason } from '../workflows/approvals.js';
import type { ApprovalDecision, ApprovalRecord } from '../workflows/definitions.js';
import type { ApprovalTrail } from './approvals.js';
import { AuditKind, type Located } from './entry.js';
import { decodePayloads } from './history.js';
import type { UpdateRequest, UpdateResult } from './messages.js';

function decisionSummary(d: ApprovalDecision, via: string, outcome: string, reason?: string, status?: string): string {
  const verb = d?.decision === 'reject' ? 'rejected' : d?.decision === 'approve' ? 'approved' : String(d?.decision);
  const what = `${String(d?.by)} ${outcome === 'accepted' ? verb : `tried to ${String(d?.decision)}`} ${String(d?.approvalId)} (${via})`;
  const comment = d?.comment ? `: "${d.comment}"` : '';
  if (outcome !== 'accepted') return `${what}${comment} → refused: ${reason ?? 'unknown reason'}`;
  return `${what}${comment}${status && status !== 'pending' ? ` → ${status}` : ' → vote counted'}`;
}

/** An `approval` signal, checked with the approval rules as the workflow checked it. */
export function approvalSignaled(trail: ApprovalTrail, loc: Located): void {
  const a = loc.ev.attrs;
  const d = decodePayloads(a.input)[0] as ApprovalDecision;
  const reason = refusalReason(trail.records, d);
  const record = reason === undefined ? trail.records.find((r) => r.id === d.approvalId) : undefined;
  if (record) {
    applyVote(record, {
      by: d.by,
      decision: d.decision,
      ...(d.comment ? { comment: d.comment } : {}),
      at: loc.ev.time,
      via: 'signal',
    });
    trail.settled(record);
  }
  const outcome = record ? 'accepted' : 'refused';
  trail.emit(
    loc,
    AuditKind.ApprovalDecision,
    `user:${String(d?.by)}`,
    decisionSummary(d, 'signal', outcome, reason, record?.status),
    {
      via: 'signal',
      approvalId: d?.approvalId ?? null,
      decision: d?.decision ?? null,
      by: d?.by ?? null,
      comment: d?.comment ?? null,
      identity: a.identity ?? null,
      outcome,
      ...(reason === undefined ? {} : { refusal: reason }),
      approvalStatus: record?.status ?? null,
      derived: 'outcome replayed from history with the approval rules',
    },
  );
}

/** A `decide` update, with the outcome the workflow returned. */
export function decideUpdated(trail: ApprovalTrail, loc: Located, request: UpdateRequest, result: UpdateResult): void {
  const { done, success, failure, events } = result;
  const d = decodePayloads(request?.input?.args)[0] as ApprovalDecision;
  let status: string | undefined;
  if (success && typeof success === 'object' && 'id' in success) {
    status = trail.adopt(success as ApprovalRecord).status;
  }
  const outcome = !done ? 'pending' : failure ? 'refused' : 'accepted';
  trail.emit(
    loc,
    AuditKind.ApprovalDecision,
    `user:${String(d?.by)}`,
    outcome === 'pending'
      ? `${String(d?.by)} ${String(d?.decision)}s ${String(d?.approvalId)} (update, in progress)`
      : decisionSummary(d, 'update', outcome, failure?.message, status),
    {
      via: 'update',
      approvalId: d?.approvalId ?? null,
      decision: d?.decision ?? null,
      by: d?.by ?? null,
      comment: d?.comment ?? null,
      identity: request?.meta?.identity ?? null,
      updateId: request?.meta?.updateId ?? null,
      outcome,
      ...(failure ? { refusal: failure.message } : {}),
      approvalStatus: status ?? null,
      completedAt: done?.ev.time ?? null,
    },
    events,
  );
}
