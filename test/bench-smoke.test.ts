/**
 * `npm run bench` runs every section to the end and files each target under the key docs/performance.md documents
 * (issue 16), so the benchmark cannot rot between the runs someone makes by hand. Tiny counts, no LangGraph (its
 * packages install on demand), figures and charts written into the run's scratch directory. Nothing about speed is
 * asserted: the bench reports that itself, and these counts are too small to mean anything.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

interface Results {
  targets: Record<string, { value: number | null; target: string; met: boolean }>;
  sections: { name: string }[];
  failures: { section: string; error: string }[];
}

/** The stable keys docs/performance.md lists: the backquoted names in its paragraph on `targets`. */
function documentedKeys(): string[] {
  const doc = readFileSync(join(root, 'docs', 'performance.md'), 'utf8');
  const start = doc.indexOf('every target by a stable key (');
  const end = doc.indexOf('with its value, the target and `met`', start);
  expect(start, 'the paragraph that lists the keys').toBeGreaterThan(0);
  return [...doc.slice(start, end).matchAll(/`([a-zA-Z]+\.[a-zA-Z0-9.]+)`/g)].map((m) => m[1]!);
}

function runBench(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('npm run bench', () => {
  it('runs every section to the end and files every documented target key', { timeout: 600_000 }, async () => {
    const keys = documentedKeys();
    // The reader finds the keys it is meant to: the first and last of the list, and the one written with a count.
    expect(keys).toEqual(expect.arrayContaining(['overhead.stepMedian', 'bench.everySectionRan']));
    expect(keys).toContain('parked.resumeP50.at1000');

    const dir = mkdtempSync(join(inject('testScratchDir'), 'bench-'));
    const { code, output } = await runBench({
      BENCH_QUICK: '1',
      BENCH_SKIP_PEER: '1',
      BENCH_OVERHEAD_GOALS: '1',
      BENCH_OVERHEAD_STEPS: '2',
      BENCH_HISTORY_STEPS: '2,4',
      BENCH_PARKED: '3,6',
      BENCH_CACHE: '2',
      BENCH_APPROVALS: '2',
      BENCH_THROUGHPUT_GOALS: '4',
      BENCH_COLD_REPS: '1',
      BENCH_PEER_AGENTS: '1',
      BENCH_RESULTS: join(dir, 'results.json'),
      BENCH_CHARTS: join(dir, 'charts'),
    });
    expect(code, output).toBe(0);

    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
    expect(results.failures).toEqual([]);
    expect(results.sections.map((s) => s.name).sort()).toEqual(
      ['cold-start', 'history', 'overhead', 'parked', 'peer', 'throughput'].sort(),
    );
    expect(results.targets['bench.everySectionRan']?.met).toBe(true);
    // The parked count in a key is the run's own (3 here, 1000 by default).
    const filed = Object.keys(results.targets).map((k) =>
      k.replace(/^parked\.resumeP50\.at\d+$/, 'parked.resumeP50.at1000'),
    );
    expect([...filed].sort()).toEqual([...keys].sort());
    expect(readdirSync(join(dir, 'charts')).sort()).toEqual(
      ['cold-start.svg', 'history.svg', 'overhead.svg', 'parked.svg', 'peer.svg', 'throughput.svg'].sort(),
    );
    expect(output).toContain(`figures in ${join(dir, 'results.json')}`);
  });
});
