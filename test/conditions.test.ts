/**
 * Approval conditions fail closed (defect 4 of the engine review): a `when` that does not give a boolean asks for
 * approval, and `baton validate` type-checks conditions against the tool's argument schema and the input schema.
 * Also the pins of the libraries whose results decide a running goal's control flow (defect 6).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BlueprintError, formatProblem } from '../src/blueprint/errors.js';
import { parseBlueprint } from '../src/blueprint/load.js';
import { needsApproval } from '../src/workflows/policy.js';

function withCondition(when: string): string {
  return `apiVersion: baton/v1
name: conditions
input: { type: object, properties: { vip: { type: boolean }, region: { type: string } } }
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

describe('approval conditions', () => {
  const policy = { approvers: ['a'], quorum: 1, escalate: [], onTimeout: 'reject' as const };

  it('asks for approval when a condition gives a number, not a boolean', () => {
    const r = needsApproval({ ...policy, when: 'args.amount' }, { amount: 120 }, {});
    expect(r).toEqual({ required: true, note: expect.stringMatching(/gave a number, not true or false/) as string });
    expect(needsApproval({ ...policy, when: 'args.note' }, { note: 'x' }, {}).required).toBe(true);
    expect(needsApproval({ ...policy, when: 'args.amount > 100' }, { amount: 20 }, {})).toEqual({ required: false });
  });

  it('accepts sound conditions over args and input', () => {
    expect(problems(withCondition('args.amount > 100 && input.vip == false'))).toEqual([]);
    expect(problems(withCondition('args.note.startsWith("x") || input.region == "eu"'))).toEqual([]);
  });

  it.each([
    ['args.amount', /gives double, not true or false/],
    ['args.amout > 100', /No such key: amout/],
    ['input.regoin == "eu"', /No such key: regoin/],
    ['args.note > 3', /no such overload|not defined|Operator/i],
  ])('rejects `%s` at validate time, naming the problem', (when, message) => {
    const found = problems(withCondition(when));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^bp\.yaml:\d+:\d+ .*approval condition: /);
    expect(found[0]).toMatch(message);
  });
});

describe('libraries that decide control flow', () => {
  it('are pinned exactly, so an upgrade is a deliberate change (replayed against test/histories)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['@marcbachmann/cel-js', 'zod']) expect(pkg.dependencies[name]).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
