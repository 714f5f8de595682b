/**
 * Approval decisions in the audit trail: `approval` signals and `decide` updates. Goals with verified identity record
 * the workflow's verdict on each (a `decision` fact: the verified subject, or the refusal), and the audit reports
 * that (identity.ts). Older histories do not say whether a signalled decision counted, so it is replayed with the
 * workflow's own rules (`refusalReason`, `applyVote`); a `decide` update's outcome is in history (the record the
 * workflow returned, or its refusal), and that record replaces what the trail replayed. Refused `decide` updates
 * are rejected by the validator before they reach history, so they are not in the trail; refused `approval`
 * signals are.
 */
import { applyVote, refusalReason } from '../workflows/approvals.js';
import type { ApprovalDecision, ApprovalRecord } from '../workflows/definitions.js';
import type { ApprovalTrail } from './approvals.js';
import { AuditKind, type Located } from './entry.js';
import { decodePayloads } from './history.js';
import type { UpdateRequest, UpdateResult } from './messages.js';
import type { DecisionFact } from '../workflows/facts.js';
import { actIdentity } from './identity.js';

function decisionSummary(d: ApprovalDecision, via: string, outcome: string, reason?: string, status?: string): string {
  const verb = d?.decision === 'reject' ? 'rejected' : d?.decision === 'approve' ? 'approved' : String(d?.decision);
  const what = `${String(d?.by)} ${outcome === 'accepted' ? verb : `tried to ${String(d?.decision)}`} ${String(d?.approvalId)} (${via})`;
  const comment = d?.comment ? `: "${d.comment}"` : '';
  if (outcome !== 'accepted') return `${what}${comment} → refused: ${reason ?? 'unknown reason'}`;
  return `${what}${comment}${status && status !== 'pending' ? ` → ${status}` : ' → vote counted'}`;
}

/** The workflow's verdict on a decision about an approval, when it recorded one. */
export type VerdictOf = (approvalId: unknown) => DecisionFact | undefined;

/** An `approval` signal: the workflow's verdict, or (older goals) checked with the approval rules. */
export function approvalSignaled(trail: ApprovalTrail, loc: Located, verdictOf: VerdictOf): void {
  const a = loc.ev.attrs;
  const d = decodePayloads(a.input)[0] as ApprovalDecision;
  const who = actIdentity(verdictOf(d?.approvalId), d?.by, d?.assertion, a.identity);
  const reason = who.outcome ? who.refusal : refusalReason(trail.records, d);
  const record = reason === undefined ? trail.records.find((r) => r.id === d.approvalId) : undefined;
  if (record) {
    applyVote(record, {
      by: who.who,
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
    who.actor,
    decisionSummary({ ...d, by: who.who }, 'signal', outcome, reason, record?.status),
    {
      via: 'signal',
      approvalId: d?.approvalId ?? null,
      decision: d?.decision ?? null,
      by: outcome === 'accepted' ? who.who : null,
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

/** A `decide` update, with the outcome the workflow returned and (verified identity) its verdict. */
export function decideUpdated(
  trail: ApprovalTrail,
  loc: Located,
  request: UpdateRequest,
  result: UpdateResult,
  verdictOf: VerdictOf,
): void {
  const { done, success, failure, events } = result;
  const d = decodePayloads(request?.input?.args)[0] as ApprovalDecision;
  const who = actIdentity(done ? verdictOf(d?.approvalId) : undefined, d?.by, d?.assertion, request?.meta?.identity);
  let status: string | undefined;
  if (success && typeof success === 'object' && 'id' in success) {
    status = trail.adopt(success as ApprovalRecord).status;
  }
  const outcome = !done ? 'pending' : failure ? 'refused' : 'accepted';
  trail.emit(
    loc,
    AuditKind.ApprovalDecision,
    who.actor,
    outcome === 'pending'
      ? `${who.who} ${String(d?.decision)}s ${String(d?.approvalId)} (update, in progress)`
      : decisionSummary({ ...d, by: who.who }, 'update', outcome, failure?.message, status),
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
