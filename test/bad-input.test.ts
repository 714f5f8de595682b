/**
 * Hostile and broken input: a fuzz test over mutated example blueprints (never a crash, always an error with a
 * location), and goal starts refused before they reach the server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlueprintError } from '../src/blueprint/errors.js';
import { loadBlueprint, parseBlueprint } from '../src/blueprint/load.js';
import { GoalCommandError, startGoal } from '../src/client/goals.js';
import { startDevServer } from './helpers/servers.js';

/** A small seeded generator, so a failing mutation can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = [
  ':',
  '{',
  '}',
  '[',
  ']',
  '-',
  '"',
  "'",
  '\t',
  '&a',
  '*a',
  '!!binary',
  '# ',
  '|',
  '>',
  '%',
  '@',
  '\u0000',
  '🦆',
  '  ',
];
const VALUES = ['null', '[]', '{}', '-1', '1e999', 'true', '"${secret:}"', 'x'.repeat(5000), '~', '0x10', '2 days'];

function mutate(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const pick = (n: number): number => Math.floor(rnd() * n);
  const ops = 1 + pick(3);
  for (let i = 0; i < ops; i++) {
    const at = pick(lines.length);
    const line = lines[at] ?? '';
    switch (pick(7)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, line);
        break;
      case 2: {
        const col = pick(line.length + 1);
        lines[at] = line.slice(0, col) + NOISE[pick(NOISE.length)]! + line.slice(col);
        break;
      }
      case 3:
        lines[at] = line.replace(/^\s*/, (ws) => ' '.repeat(Math.max(0, ws.length + pick(5) - 2)));
        break;
      case 4:
        lines[at] = line.replace(/:\s.*$/, `: ${VALUES[pick(VALUES.length)]!}`);
        break;
      case 5:
        lines.length = Math.max(1, at);
        break;
      default:
        lines[at] = line.split('').reverse().join('');
    }
  }
  return lines.join('\n');
}

describe('hostile blueprints', () => {
  it('never crash the loader: every mutation is accepted or rejected with located problems', () => {
    const examples = readdirSync('goals')
      .filter((f) => f.endsWith('.yaml') && !f.endsWith('.script.yaml'))
      .map((f) => readFileSync(`goals/${f}`, 'utf8'));
    let rejected = 0;
    let accepted = 0;
    const crashes: string[] = [];
    const rounds = 1500;
    for (let seed = 1; seed <= rounds; seed++) {
      const text = mutate(examples[seed % examples.length]!, prng(seed));
      const lineCount = text.split('\n').length;
      try {
        parseBlueprint(text, 'fuzz.yaml');
        accepted += 1;
      } catch (err) {
        if (!(err instanceof BlueprintError)) {
          crashes.push(`seed ${seed}: ${String(err)}`);
          continue;
        }
        rejected += 1;
        for (const p of err.problems) {
          if (!(p.line >= 1 && p.line <= lineCount + 1 && p.col >= 1 && p.message.length > 0)) {
            crashes.push(`seed ${seed}: bad location ${JSON.stringify(p)}`);
          }
        }
      }
    }
    console.log(
      `fuzzed blueprints: ${rounds}, rejected with locations: ${rejected}, accepted: ${accepted}, crashes: ${crashes.length}`,
    );
    expect(crashes).toEqual([]);
    expect(rejected).toBeGreaterThan(rounds / 2);
  });
});

describe('goal starts refused before the server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startDevServer();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('refuses input over the payload limit, and input failing the schema, without creating a goal', async () => {
    const loaded = await loadBlueprint('goals/refund-request.yaml');
    const huge = { customerId: 'c-42', amount: 120, reason: 'x'.repeat(3 * 1024 * 1024) };
    await expect(
      startGoal(env.client, { loaded, input: huge, startedBy: 't', taskQueue: 'q', id: 'too-big' }),
    ).rejects.toThrow(/take 3\.0 MB; Temporal refuses payloads over 2 MB: pass large data by reference/);
    await expect(
      startGoal(env.client, { loaded, input: { amount: 'lots' }, startedBy: 't', taskQueue: 'q', id: 'bad-input' }),
    ).rejects.toThrow(GoalCommandError);
    for (const id of ['too-big', 'bad-input']) {
      await expect(env.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
    }
  });
});
