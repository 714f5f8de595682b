/**
 * `baton validate` as CI runs it: every broken blueprint under test/fixtures/ exits 1 and reports exactly the
 * `FILE:LINE:COL message` lines its `# expect:` header lists; every example under goals/ exits 0.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { baton } from './helpers/cli.js';

const fixtures = (await readdir('test/fixtures')).filter((f) => f.endsWith('.yaml')).sort();
const examples = (await readdir('goals')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.script.yaml')).sort();

async function expected(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('# expect: '))
    .map((l) => l.slice('# expect: '.length));
}

describe.concurrent('baton validate', () => {
  it('has broken fixtures for every kind of problem', () => {
    expect(fixtures).toEqual(
      expect.arrayContaining([
        'yaml-syntax.yaml',
        'duplicate-key.yaml',
        'unknown-tool.yaml',
        'unknown-handoff.yaml',
        'entry-no-agent.yaml',
        'validator-no-agent.yaml',
        'invalid-durations.yaml',
        'invalid-approval-expression.yaml',
        'literal-secrets.yaml',
        'unknown-fields.yaml',
      ]),
    );
  });

  it.each(fixtures)('rejects test/fixtures/%s with every problem located', async (name) => {
    const file = `test/fixtures/${name}`;
    const want = await expected(file);
    expect(want.length, `${file} needs # expect: lines`).toBeGreaterThan(0);
    const r = await baton(['validate', file]);
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n')).toEqual(want);
    for (const line of want) expect(line).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ \\S`));
  });

  it('accepts every example goal', async () => {
    const files = examples.map((f) => `goals/${f}`);
    expect(files).toEqual(
      expect.arrayContaining([
        'goals/refund-request.yaml',
        'goals/support-triage.yaml',
        'goals/security-alert.yaml',
        'goals/infra-provisioning.yaml',
      ]),
    );
    const r = await baton(['validate', ...files]);
    expect(r).toMatchObject({ code: 0, stdout: files.map((f) => `${f}: ok\n`).join('') });
    for (const f of files) {
      expect((await readFile(f, 'utf8')).split('\n')[0]).toBe(
        '# yaml-language-server: $schema=../schema/blueprint.schema.json',
      );
    }
  });
});
