/** The models section of the goal language: per-model parameters, providers and keys by reference only. */
import { describe, expect, it } from 'vitest';
import { BlueprintError, formatProblem } from '../src/blueprint/errors.js';
import { parseBlueprint } from '../src/blueprint/load.js';

function withModel(model: string, agentExtra = ''): string {
  return `apiVersion: baton/v1
name: tiny
models:
  default: ${model}
agents:
  solo: { role: executor, instructions: Do it.${agentExtra} }
entry: solo
approvers: { ops: [olga] }
`;
}

function problems(yaml: string): string[] {
  try {
    parseBlueprint(yaml, 'bp.yaml');
  } catch (err) {
    if (err instanceof BlueprintError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

describe('models', () => {
  it('accepts a reasoning model, a second provider with a key by reference, and leaves new fields unset', () => {
    expect(problems(withModel('{ model: o4-mini, reasoning: { effort: low }, maxTokens: 8000, timeout: 5m }'))).toEqual(
      [],
    );
    const { blueprint } = parseBlueprint(
      withModel("{ model: m, baseUrl: '${env:LOCAL_URL}', apiKey: '${secret:LOCAL_KEY}', retryFor: 6h }"),
    );
    expect(blueprint.models.default).toEqual({
      model: 'm',
      baseUrl: '${env:LOCAL_URL}',
      apiKey: '${secret:LOCAL_KEY}',
      retryFor: '6h',
    });
    // No defaults are written into the blueprint: a goal pinned before these fields existed hashes the same.
    expect(parseBlueprint(withModel('{ model: m }')).blueprint.models.default).toEqual({ model: 'm' });
  });

  it('refuses a temperature on a reasoning model, a literal key and a bare-word endpoint, naming the fix', () => {
    expect(problems(withModel('{ model: o4-mini, reasoning: {}, temperature: 0 }'))).toEqual([
      expect.stringMatching(/temperature: reasoning models take no temperature: remove temperature or reasoning$/),
    ]);
    expect(problems(withModel('{ model: m, apiKey: sk-live-123 }'))).toEqual([
      expect.stringMatching(/apiKey: the API key must be a reference, \$\{secret:NAME\}/),
    ]);
    expect(problems(withModel('{ model: m, baseUrl: localhost:8080 }'))).toEqual([
      expect.stringMatching(/baseUrl: baseUrl must be an http\(s\) URL or start with \$\{env:NAME\}/),
    ]);
  });

  it("asks about refusals only with someone to ask: onRefusal: ask needs the agent's askHuman", () => {
    expect(problems(withModel('{ model: m, onRefusal: ask }'))).toEqual([
      expect.stringMatching(
        /agents\.solo: model "default" asks a human when it refuses \(onRefusal: ask\): give agent solo askHuman: \{ to: \[\.\.\.\] \} naming who answers$/,
      ),
    ]);
    // askHuman without the ask_human tool is for that: the agent itself asks nothing.
    expect(problems(withModel('{ model: m, onRefusal: ask }', ', askHuman: { to: [group:ops], timeout: 4h }'))).toEqual(
      [],
    );
    expect(problems(withModel('{ model: m }', ', askHuman: { to: [group:ops] }'))).toEqual([
      expect.stringMatching(/askHuman is set but ask_human is not in tools \(nor does its model ask on refusals/),
    ]);
    expect(problems(withModel('{ model: m, onRefusal: sometimes }'))).toEqual([expect.stringMatching(/onRefusal/)]);
  });
});
