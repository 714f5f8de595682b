/**
 * The replay guard: every history in test/histories/ (recorded from real runs by `npm run record-histories`) replays
 * against the current workflow code. A deliberately non-deterministic change fails replay; its patched() form passes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';

const histories = readdirSync('test/histories')
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(`test/histories/${f}`, 'utf8'))),
  }));

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };

async function replay(workflowBundle: { codePath: string } | { code: string }): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle, replayName: 'baton-replay-guard' },
    histories,
  )) {
    results.push(result);
  }
  return results;
}

async function bundle(fixture: string): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: new URL(`fixtures/replay/${fixture}.ts`, import.meta.url).pathname,
    logger: quiet,
  });
  return { code };
}

describe('replay of recorded histories', () => {
  it('has a recorded history for every example goal, and for the waits and failure paths', () => {
    const examples = readdirSync('goals/scripts')
      .filter((f) => f.endsWith('.script.yaml'))
      .map((f) => f.replace('.script.yaml', ''));
    const ids = histories.map((h) => h.workflowId);
    for (const example of examples) expect(ids).toContain(example);
    // Scenario histories (src/build/record-histories.ts) are named <example>--<scenario>.
    for (const scenario of ['rejected', 'approval-timeout', 'budget-ask']) {
      expect(ids).toContain(`refund-request--${scenario}`);
    }
    expect(ids).toContain('security-alert--unanswered');
  });

  it('replays every history against the current workflow code', async () => {
    const results = await replay({ codePath: inject('workflowBundlePath') });
    console.log(`histories replayed: ${results.length}, failures: ${results.filter((r) => r.error).length}`);
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(
      histories.map((h) => [h.workflowId, undefined]),
    );
  });

  it('catches a non-deterministic change, and accepts the same change behind patched()', async () => {
    const broken = await replay(await bundle('nondeterministic'));
    expect(broken.length).toBe(histories.length);
    for (const r of broken) expect(r.error).toBeInstanceOf(DeterminismViolationError);
    const patched = await replay(await bundle('patched'));
    expect(patched.map((r) => r.error)).toEqual(histories.map(() => undefined));
  });
});
