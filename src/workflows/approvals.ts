/** Approval rules as pure functions over the goal's records: who may decide, and what a vote does. */
import type { Blueprint } from '../blueprint/schema.js';
import type { ApprovalDecision, ApprovalRecord, Vote } from './definitions.js';

/** Resolves approver references (`alice`, `group:finance`, `*`) to user names; `*` stays as the wildcard. */
export function resolveApprovers(refs: readonly string[], groups: Blueprint['approvers']): string[] {
  const users = new Set<string>();
  for (const ref of refs) {
    const members = ref.startsWith('group:') ? (groups[ref.slice(6)] ?? []) : [ref];
    for (const m of members) users.add(m);
  }
  return [...users].sort();
}

/** True when `user` may act on the approval now. */
export function mayDecide(record: ApprovalRecord, user: string): boolean {
  return record.eligible.includes(user) || record.eligible.includes('*');
}

/** Why a decision cannot be accepted, or undefined when it can. Messages name the problem and what to do. */
export function refusalReason(records: readonly ApprovalRecord[], d: ApprovalDecision): string | undefined {
  if (!d || typeof d !== 'object') return 'the payload must be {"approvalId", "decision", "by", "comment"?}';
  if (d.decision !== 'approve' && d.decision !== 'reject') {
    return `decision must be "approve" or "reject", not ${JSON.stringify(d.decision)}`;
  }
  if (typeof d.by !== 'string' || d.by.trim() === '') return 'by must name who decides (set BATON_USER)';
  const record = records.find((r) => r.id === d.approvalId);
  if (!record) {
    const open = records.filter((r) => r.status === 'pending').map((r) => r.id);
    return `no approval "${String(d.approvalId)}" in this goal; open approvals: ${open.join(', ') || 'none'}`;
  }
  if (record.status !== 'pending') return `approval ${record.id} is already ${record.status.replace('_', ' ')}`;
  if (!mayDecide(record, d.by)) {
    return `${d.by} may not decide approval ${record.id}; approvers now: ${record.eligible.join(', ')}`;
  }
  if (record.votes.some((v) => v.by === d.by)) return `${d.by} has already voted on approval ${record.id}`;
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
