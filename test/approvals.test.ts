/** Pure approval rules and the policy language: who may decide, what a vote does, when approval is needed. */
import { describe, expect, it } from 'vitest';
import { applyVote, mayDecide, refusalReason, resolveApprovers } from '../src/workflows/approvals.js';
import type { ApprovalRecord } from '../src/workflows/definitions.js';
import { durationMs } from '../src/workflows/durations.js';
import { needsApproval } from '../src/workflows/policy.js';

function record(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: 'apr-1',
    tool: 'issue_refund',
    args: { amount: 120 },
    reason: '',
    requestedBy: 'billing',
    approvers: ['group:finance'],
    eligible: ['alice', 'bob'],
    quorum: 1,
    votes: [],
    status: 'pending',
    openedAt: '2026-01-01T00:00:00.000Z',
    events: [],
    ...overrides,
  };
}

describe('approval rules', () => {
  it('resolves groups and users, keeping the wildcard', () => {
    expect(resolveApprovers(['group:finance', 'carol', 'group:none'], { finance: ['bob', 'alice'] })).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    expect(mayDecide(record({ eligible: ['*'] }), 'anyone')).toBe(true);
    expect(mayDecide(record(), 'mallory')).toBe(false);
  });

  it('explains every refusal', () => {
    const r = [record()];
    expect(refusalReason(r, { approvalId: 'apr-1', decision: 'approve', by: 'alice' })).toBeUndefined();
    expect(refusalReason(r, { approvalId: 'apr-2', decision: 'approve', by: 'alice' })).toBe(
      'no approval "apr-2" in this goal; open approvals: apr-1',
    );
    expect(refusalReason(r, { approvalId: 'apr-1', decision: 'approve', by: ' ' })).toBe(
      'by must name who decides (set BATON_USER)',
    );
    expect(refusalReason(r, { approvalId: 'apr-1', decision: 'maybe' as 'approve', by: 'alice' })).toMatch(
      /decision must be/,
    );
    expect(refusalReason(r, { approvalId: 'apr-1', decision: 'approve', by: 'eve' })).toBe(
      'eve may not decide approval apr-1; approvers now: alice, bob',
    );
    expect(
      refusalReason([record({ status: 'approved' })], { approvalId: 'apr-1', decision: 'reject', by: 'bob' }),
    ).toBe('approval apr-1 is already approved');
    expect(refusalReason(null as unknown as ApprovalRecord[] & [], null as never)).toMatch(/payload must be/);
  });

  it('settles on quorum, and one rejection rejects', () => {
    const r = record({ quorum: 2 });
    applyVote(r, { by: 'alice', decision: 'approve', at: 't1', via: 'update' });
    expect(r.status).toBe('pending');
    expect(refusalReason([r], { approvalId: 'apr-1', decision: 'approve', by: 'alice' })).toBe(
      'alice has already voted on approval apr-1',
    );
    applyVote(r, { by: 'bob', decision: 'approve', at: 't2', via: 'signal' });
    expect(r).toMatchObject({ status: 'approved', decidedAt: 't2' });
    const rejected = record({ quorum: 2 });
    applyVote(rejected, { by: 'alice', decision: 'reject', at: 't3', via: 'update' });
    expect(rejected.status).toBe('rejected');
  });
});

describe('approval policy (CEL)', () => {
  const policy = { approvers: ['a'], quorum: 1, escalate: [], onTimeout: 'reject' as const };
  it('evaluates `when` over args and input', () => {
    expect(needsApproval(undefined, {}, {})).toEqual({ required: false });
    expect(needsApproval(policy, {}, {})).toEqual({ required: true });
    expect(needsApproval({ ...policy, when: 'args.amount > 100' }, { amount: 120 }, {}).required).toBe(true);
    expect(needsApproval({ ...policy, when: 'args.amount > 100' }, { amount: 99.5 }, {}).required).toBe(false);
    expect(needsApproval({ ...policy, when: 'input.vip == true' }, {}, { vip: true }).required).toBe(true);
  });
  it('fails closed when the expression cannot be evaluated', () => {
    const r = needsApproval({ ...policy, when: 'args.missing > 1' }, {}, {});
    expect(r.required).toBe(true);
    expect(r.note).toMatch(/could not be evaluated/);
  });
});

describe('durations', () => {
  it('parses blueprint durations', () => {
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1d')).toBe(86_400_000);
    expect(durationMs('2w')).toBe(1_209_600_000);
    expect(() => durationMs('2 days')).toThrow(/invalid duration "2 days"/);
  });
});
