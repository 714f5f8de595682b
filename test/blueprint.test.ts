/** The blueprint language: parsing, normalization, and errors located as FILE:LINE:COL with the fix. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BlueprintError, formatProblem } from '../src/blueprint/errors.js';
import { blueprintJsonSchema, hashBlueprint, parseBlueprint } from '../src/blueprint/load.js';

const minimal = `apiVersion: baton/v1
name: tiny
models: { default: { model: m } }
agents:
  solo: { role: executor, instructions: Do it. }
entry: solo
`;

function problems(yaml: string): string[] {
  try {
    parseBlueprint(yaml, 'bp.yaml');
  } catch (err) {
    if (err instanceof BlueprintError) return err.problems.map(formatProblem);
    throw err;
  }
  throw new Error('expected the blueprint to be rejected');
}

describe('blueprints', () => {
  it('normalizes a minimal blueprint with defaults', () => {
    const { blueprint, hash } = parseBlueprint(minimal, 'bp.yaml');
    expect(blueprint.agents.solo).toMatchObject({ model: 'default', tools: [], handoffs: [] });
    expect(blueprint.budget).toEqual({ maxSteps: 40, onExceeded: 'fail' });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // Key order in the YAML does not change the hash.
    const reordered = `entry: solo
agents:
  solo: { instructions: Do it., role: executor }
models: { default: { model: m } }
name: tiny
apiVersion: baton/v1
`;
    expect(hashBlueprint(parseBlueprint(reordered).blueprint)).toBe(hash);
  });

  it('accepts the example goals', async () => {
    const text = await readFile('goals/refund-request.yaml', 'utf8');
    const { blueprint } = parseBlueprint(text, 'goals/refund-request.yaml');
    expect(blueprint.tools.issue_refund?.approval?.when).toBe(
      'args.customerId != input.customerId || args.amount + prior.sum.amount > input.amount || args.amount > 100',
    );
  });

  it('locates an unknown tool reference at its list item', () => {
    const yaml = minimal.replace('instructions: Do it. }', 'instructions: Do it., tools: [nope] }');
    expect(problems(yaml)).toEqual([
      'bp.yaml:5:57 agents.solo.tools[0]: unknown tool "nope"; define it under tools or remove it (built in: memory_read, memory_write, ask_human)',
    ]);
  });

  it('reports YAML syntax and duplicate keys with their positions', () => {
    expect(problems(`${minimal}name: again\n`)[0]).toMatch(/^bp\.yaml:7:1 duplicate key/);
    expect(problems('apiVersion: [baton/v1\n')[0]).toMatch(/^bp\.yaml:\d+:\d+ YAML syntax:/);
  });

  it('names unknown fields, bad references, durations, expressions and literal secrets', () => {
    const yaml = `apiVersion: baton/v1
name: broken
modles: {}
models: { default: { model: m } }
agents:
  a: { role: executor, instructions: x, handoffs: [ghost] }
entry: b
validator: c
tools:
  t:
    type: http
    url: https://x/{{id}}
    headers: { Authorization: Bearer abc123 }
    approval: { approvers: [group:nobody], when: "args.amount >", timeout: 2 days }
`;
    const found = problems(yaml);
    expect(found).toEqual([
      'bp.yaml:3:1 modles: unknown field "modles"; check its spelling or remove it (see docs/blueprints.md)',
      'bp.yaml:6:52 agents.a.handoffs[0]: handoff to unknown agent "ghost"; agents: a',
      'bp.yaml:7:8 entry: entry names no agent "b"; agents: a',
      'bp.yaml:8:12 validator: validator names no agent "c"; agents: a',
      expect.stringMatching(
        /^bp\.yaml:13:31 tools\.t\.headers\.Authorization: literal secret in header Authorization; reference it as \$\{secret:NAME\}/,
      ),
      'bp.yaml:14:29 tools.t.approval.approvers[0]: unknown approver group "nobody"; define it under approvers',
      expect.stringMatching(/^bp\.yaml:14:50 tools\.t\.approval\.when: invalid CEL expression: Unexpected token/),
      'bp.yaml:14:76 tools.t.approval.timeout: expected a duration such as 30s, 15m, 4h, 1d or 2w',
    ]);
  });

  it('reports a missing required field at its parent', () => {
    expect(problems(minimal.replace('entry: solo\n', ''))).toEqual([
      'bp.yaml:1:1 entry: missing required field (expected string)',
    ]);
  });

  it('exports a JSON Schema that matches the committed schema file', async () => {
    const committed = JSON.parse(await readFile('schema/blueprint.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(blueprintJsonSchema());
  });
});
