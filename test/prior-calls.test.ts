/**
 * A limit for the whole goal, not one call at a time (issue 15, finding 7): approval conditions read `prior`, the
 * tool's earlier calls in the goal (how many ran, and their numeric arguments summed). The shipped refund example
 * uses it, so a weak model refunding 10 USD again and again (as SmolLM2 did) is stopped for approval once the
 * refunds together pass what the goal asked for. Against a real dev server, the scripted model and the demo API.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditGoal } from '../src/audit/index.js';
import { BlueprintError, formatProblem } from '../src/blueprint/errors.js';
import { loadBlueprint, parseBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import { priorCalls, tallyRun } from '../src/workflows/policy.js';
import type { ToolTally } from '../src/workflows/definitions.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { signedDecide } from './helpers/identity.js';
import { startDevServer } from './helpers/servers.js';

function withCondition(when: string): string {
  return `apiVersion: baton/v1
name: prior
input: { type: object, properties: { amount: { type: number } } }
models: { default: { model: m } }
agents:
  solo: { role: executor, instructions: Do it., tools: [refund] }
entry: solo
tools:
  refund:
    type: http
    method: POST
    url: https://payments.internal/refunds
    sideEffect: unsafe
    parameters: { type: object, required: [amount], properties: { amount: { type: number }, note: { type: string } } }
    approval: { when: '${when}', approvers: [carol] }
`;
}

function problems(yaml: string): string[] {
  try {
    parseBlueprint(yaml, 'bp.yaml');
    return [];
  } catch (err) {
    if (err instanceof BlueprintError) return err.problems.map(formatProblem);
    throw err;
  }
}

describe("prior: the tool's earlier calls in the goal", () => {
  it("type-checks prior.count and prior.sum against the tool's numeric arguments", () => {
    expect(problems(withCondition('args.amount + prior.sum.amount > input.amount'))).toEqual([]);
    expect(problems(withCondition('prior.count >= 3'))).toEqual([]);
    expect(problems(withCondition('prior.sum.amout > 1'))).toEqual([
      expect.stringMatching(/approval condition: No such key: amout .*prior: the count and sums/),
    ]);
    // Only numeric arguments are summed.
    expect(problems(withCondition('prior.sum.note == ""'))).toEqual([expect.stringMatching(/No such key: note/)]);
  });

  it('reads 0 before the first call and adds up each numeric argument of the calls that ran', () => {
    const schema = { type: 'object', properties: { amount: { type: 'number' }, note: { type: 'string' } } };
    const ran: Record<string, ToolTally> = {};
    expect(priorCalls(ran, 'refund', schema)).toEqual({ count: 0, sum: { amount: 0 } });
    tallyRun(ran, 'refund', { amount: 10, note: 'x' });
    tallyRun(ran, 'refund', { amount: 2.5, extra: 4 });
    tallyRun(ran, 'other', { amount: 1000 });
    expect(priorCalls(ran, 'refund', schema)).toEqual({ count: 2, sum: { amount: 12.5, extra: 4 } });
    expect(priorCalls(undefined, 'refund', undefined)).toEqual({ count: 0, sum: {} });
  });
});

describe('the refund example against a model that refunds again and again', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;

  beforeAll(async () => {
    env = await startDevServer();
    h = await createHarness(env);
  });
  afterAll(async () => {
    await h?.close();
    await env?.teardown();
  });

  it('lets refunds through while they add up to the asked amount, then waits for finance', async () => {
    const refund = { name: 'issue_refund', arguments: { customerId: 'c-42', amount: 10 } };
    h.model.load({
      goal: 'refund-request',
      replies: [
        ...[1, 2, 3, 4].map((turn) => ({ when: { turn }, content: 'Refunding 10 USD.', toolCalls: [refund] })),
        { when: { turn: 5 }, content: 'Refunded 30 USD in three parts; a fourth refund was refused.' },
      ],
    });
    const handle = await h.start(await loadBlueprint('goals/refund-request.yaml'), {
      customerId: 'c-42',
      amount: 30,
      reason: 'Parcel arrived damaged',
    });
    const waiting = await eventually(
      async () => {
        const s = await goalState(h.client, handle.workflowId);
        return s.status === 'awaiting_approval' ? s : undefined;
      },
      'the fourth refund to wait for approval',
      60_000,
    );
    // Three refunds of 10 ran without approval (each within the 30 asked for, together exactly 30); the fourth
    // would make 40, so it waits.
    expect(h.model.ledger.refunds.size).toBe(3);
    expect(waiting.toolsRan?.issue_refund).toEqual({ count: 3, sum: { amount: 30 } });
    expect(waiting.approvals).toHaveLength(1);
    const approval = waiting.pendingApprovals[0];
    expect(approval).toMatchObject({ tool: 'issue_refund', args: { customerId: 'c-42', amount: 10 } });
    await signedDecide(h.client, handle.workflowId, {
      approvalId: approval?.id ?? '',
      decision: 'reject',
      by: 'alice',
      comment: 'Already refunded in full.',
    });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(h.model.ledger.refunds.size).toBe(3);
    const state = await goalState(h.client, handle.workflowId);
    expect(state.toolsRan?.issue_refund).toEqual({ count: 3, sum: { amount: 30 } });
    // The history shows the fourth call, and only it, waiting for finance.
    const records = (await auditGoal(h.client, handle.workflowId)).records;
    const requested = records.filter((r) => r.kind === 'approval.requested');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.data).toMatchObject({ tool: 'issue_refund', args: { customerId: 'c-42', amount: 10 } });
    const ran = records.filter((r) => r.kind === 'tool.call' && r.data.tool === 'issue_refund');
    expect(ran.map((r) => r.data.outcome)).toEqual(['ran', 'ran', 'ran', 'not_run']);
  });
});
