/** Pure approval rules and the policy language: who may decide, what a vote does, when approval is needed. */
import { describe, expect, it } from 'vitest';
import { BlueprintError, formatProblem } from '../src/blueprint/errors.js';
import { parseBlueprint } from '../src/blueprint/load.js';
import type { ApprovalPolicy } from '../src/blueprint/schema.js';
import {
  advanceSchedule,
  applyVote,
  dueAt,
  mayDecide,
  nextWake,
  readWakeSummary,
  refusalForAgent,
  refusalReason,
  remindersElapsed,
  resolveApprovers,
  waitingOn,
  waitsOn,
  wakeSummary,
  wakeWork,
} from '../src/workflows/approvals.js';
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
      'alice has already voted on approval apr-1; it needs 2 approvals and now waits on bob',
    );
    expect(waitingOn(r)).toEqual(['bob']);
    expect(waitsOn(r, 'alice')).toBe(false);
    expect(waitsOn(r, 'bob')).toBe(true);
    applyVote(r, { by: 'bob', decision: 'approve', at: 't2', via: 'signal' });
    expect(r).toMatchObject({ status: 'approved', decidedAt: 't2' });
    const rejected = record({ quorum: 2 });
    applyVote(rejected, { by: 'alice', decision: 'reject', at: 't3', via: 'update' });
    expect(rejected.status).toBe('rejected');
  });

  it('keeps the wildcard waiting after votes, and waits on nobody once settled', () => {
    const open = record({ eligible: ['*'], quorum: 2 });
    applyVote(open, { by: 'zoe', decision: 'approve', at: 't1', via: 'signal' });
    expect(waitingOn(open)).toEqual(['*']);
    expect(waitsOn(open, 'zoe')).toBe(false);
    expect(waitsOn(open, 'yan')).toBe(true);
    expect(waitingOn(record({ status: 'rejected' }))).toEqual([]);
  });

  it('tells the agent why its call did not run', () => {
    const rejected = record();
    applyVote(rejected, { by: 'bob', decision: 'reject', comment: 'over the limit', at: 't', via: 'update' });
    expect(refusalForAgent(rejected, {})).toBe(
      'not run: approval apr-1 was rejected by bob: over the limit. Choose another path or report this.',
    );
    const silent = record();
    applyVote(silent, { by: 'bob', decision: 'reject', at: 't', via: 'update' });
    expect(refusalForAgent(silent, {})).toMatch(/rejected by bob \(no comment\)\./);
    expect(refusalForAgent(record({ status: 'timed_out' }), { timeout: '14d' })).toBe(
      'not run: approval apr-1 timed out after 14d with no decision, so it counts as rejected. Choose another path or report this.',
    );
    expect(refusalForAgent(record({ status: 'approved' }), {})).toBeUndefined();
  });
});

describe('approval schedule', () => {
  const DAY = 86_400_000;
  const policy: ApprovalPolicy = {
    approvers: ['group:finance'],
    quorum: 1,
    remind: '1d',
    escalate: [
      { after: '3d', to: ['group:leads'] },
      { after: '5d', to: ['cfo'] },
    ],
    timeout: '14d',
    onTimeout: 'reject',
  };

  it('wakes for the next reminder, escalation or deadline, whichever is first', () => {
    expect(nextWake(policy, 0, { reminders: 0, escalations: 0 })).toBe(DAY);
    expect(nextWake(policy, 0, { reminders: 3, escalations: 0 })).toBe(3 * DAY);
    expect(nextWake(policy, 0, { reminders: 13, escalations: 2 })).toBe(14 * DAY);
    expect(
      nextWake({ ...policy, remind: undefined, escalate: [], timeout: undefined }, 0, { reminders: 0, escalations: 0 }),
    ).toBe(Infinity);
  });

  it('does what is due: a missed stretch sends one reminder but every escalation step', () => {
    expect(dueAt(policy, 0, { reminders: 2, escalations: 0 }, 3 * DAY)).toEqual({
      timeout: false,
      escalations: [0],
      reminder: true,
    });
    expect(dueAt(policy, 0, { reminders: 0, escalations: 0 }, 6 * DAY + 5)).toEqual({
      timeout: false,
      escalations: [0, 1],
      reminder: true,
    });
    expect(remindersElapsed(policy, 0, 6 * DAY + 5)).toBe(6);
    expect(dueAt(policy, 0, { reminders: 13, escalations: 2 }, 14 * DAY).timeout).toBe(true);
  });

  it('does the timeout alone, else escalation steps then one reminder, and moves the schedule past them', () => {
    const done = { reminders: 0, escalations: 0 };
    const due = dueAt(policy, 0, done, 6 * DAY + 5);
    expect(wakeWork(due)).toEqual([
      { kind: 'escalation', step: 0 },
      { kind: 'escalation', step: 1 },
      { kind: 'reminder' },
    ]);
    advanceSchedule(policy, 0, done, due, 6 * DAY + 5);
    expect(done).toEqual({ reminders: 6, escalations: 2 });
    expect(nextWake(policy, 0, done)).toBe(7 * DAY);
    expect(wakeWork(dueAt(policy, 0, { reminders: 2, escalations: 0 }, 15 * DAY))).toEqual([{ kind: 'timeout' }]);
  });

  it('names the work due in the timer summary, and reads it back', () => {
    const work = wakeWork(dueAt(policy, 0, { reminders: 2, escalations: 0 }, 3 * DAY));
    const summary = wakeSummary(record(), 3 * DAY, work);
    expect(summary).toBe('apr-1 issue_refund: waiting until 1970-01-04T00:00:00.000Z for escalation 1, reminder');
    expect(readWakeSummary(summary)).toEqual({ approvalId: 'apr-1', work });
    expect(readWakeSummary('apr-1 issue_refund: waiting until 1970-01-04T00:00:00.000Z')).toBeUndefined();
    expect(readWakeSummary('apr-1 issue_refund: waiting until 1970-01-04T00:00:00.000Z for lunch')).toBeUndefined();
    expect(readWakeSummary(undefined)).toBeUndefined();
  });
});

describe('approval policies in blueprints', () => {
  const base = `apiVersion: baton/v1
name: pay
models: { default: { model: m } }
agents:
  payer: { role: executor, instructions: Pay., tools: [pay] }
entry: payer
approvers: { finance: [alice] }
tools:
  pay:
    type: builtin
`;
  function problems(yaml: string): string[] {
    try {
      parseBlueprint(yaml, 'bp.yaml');
    } catch (err) {
      if (err instanceof BlueprintError) return err.problems.map(formatProblem);
      throw err;
    }
    return [];
  }

  it('accepts a full policy, a budget policy and a webhook', () => {
    const { blueprint } = parseBlueprint(
      `${base}    approval: { approvers: [group:finance], quorum: 1, remind: 1d, escalate: [{ after: 3d, to: [carol] }], timeout: 14d }
budget: { maxSteps: 10, onExceeded: ask, approval: { approvers: [group:finance], timeout: 2d } }
notifications:
  - { type: webhook, url: 'https://hooks.example.com/baton', secret: '\${secret:HOOK_KEY}' }
`,
      'bp.yaml',
    );
    expect(blueprint.budget.approval).toMatchObject({ approvers: ['group:finance'], quorum: 1, onTimeout: 'reject' });
    expect(blueprint.notifications).toEqual([
      {
        type: 'webhook',
        url: 'https://hooks.example.com/baton',
        secret: '${secret:HOOK_KEY}',
        events: ['approval.opened', 'approval.reminder', 'approval.escalated', 'approval.decided'],
      },
    ]);
  });

  it('names escalations out of order or after the timeout, a budget with no approvers, and literal signing keys', () => {
    expect(
      problems(`${base}    approval:
      approvers: [alice]
      escalate: [{ after: 5d, to: [bob] }, { after: 2d, to: [carol] }, { after: 20d, to: [dave] }]
      timeout: 14d
budget: { onExceeded: ask }
notifications:
  - { type: webhook, url: 'https://hooks.example.com/?token=abc', secret: s3cret }
`),
    ).toEqual([
      'bp.yaml:13:53 tools.pay.approval.escalate[1].after: escalation steps count from the opening: list them in rising order',
      'bp.yaml:13:81 tools.pay.approval.escalate[2].after: this escalation (20d) would come after the timeout (14d); shorten it or raise timeout',
      'bp.yaml:15:23 budget.onExceeded: onExceeded: ask needs budget.approval to say who may extend the budget',
      'bp.yaml:17:27 notifications[0].url: literal secret in the URL query; use ${secret:NAME} instead',
      "bp.yaml:17:75 notifications[0].secret: the signing key must be a reference, ${secret:NAME}, with NAME set in the worker's environment",
    ]);
    expect(
      problems(`${base}budget: { onExceeded: ask, approval: { approvers: [group:nobody] } }
`),
    ).toEqual([
      'bp.yaml:11:52 budget.approval.approvers[0]: unknown approver group "nobody"; define it under approvers',
    ]);
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
