/**
 * Every example goal in goals/ end to end on the production-like cluster (PostgreSQL persistence and advanced
 * visibility, split server services, four history shards), run the way production runs them since verified identity:
 * a `baton worker` process that trusts only the approval gateway's key and runs only registered blueprints (no ad hoc
 * ones), `baton serve` with an identity provider, and people signed in with `baton login` who start goals by name,
 * approve and answer through the CLI. The scripted model answers for the model. `baton list` and `baton approvals`
 * answer from PostgreSQL visibility while the goals wait.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBlueprint, loadBlueprint } from '../../src/blueprint/load.js';
import { goalState } from '../../src/client/goals.js';
import { loadScript } from '../../src/scripted-model/script.js';
import type { GoalResult, GoalState } from '../../src/workflows/definitions.js';
import { baton } from '../helpers/cli.js';
import { eventually } from '../helpers/harness.js';
import { goalReaches, openWorld, type World } from './helpers/world.js';

const names = ['refund-request', 'support-triage', 'security-alert', 'infra-provisioning', 'repo-digest'];
const DIGEST = '.baton/repo-digest.md';
let w: World;
/** The CLI's environment for each demo person, signed in through the gateway. */
const as: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  await mkdir('.baton', { recursive: true });
  await rm(DIGEST, { force: true });
  const scripts = await Promise.all(names.map((n) => loadScript(`goals/scripts/${n}.script.yaml`)));
  w = await openWorld({ scripts });
  const gateway = await w.gateway();
  await w.worker(gateway.workerEnv);
  for (const user of ['alice', 'bob', 'carol', 'sam']) as[user] = { ...w.env, ...(await gateway.login(user)) };
});

afterAll(async () => {
  await w?.close();
  await rm(DIGEST, { force: true });
});

/** `baton ARGS --json` against the cluster, signed in as `user`. */
async function batonJson<T>(args: string[], user: string): Promise<T> {
  const r = await baton([...args, '--json'], as[user]);
  expect(r.code, `baton ${args.join(' ')} as ${user}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** `baton start NAME` of a registered example goal, as `user`; the goal's id. */
async function start(name: string, user: string, input: unknown = {}): Promise<string> {
  return (await batonJson<{ goalId: string }>(['start', name, '--input', JSON.stringify(input)], user)).goalId;
}

async function result(goalId: string): Promise<GoalResult> {
  return (await w.client.workflow.getHandle(goalId).result()) as GoalResult;
}

describe('the example goals on the cluster', () => {
  it('runs all five to completion, started, approved and answered by signed-in people, and lists them by status', async () => {
    // Who starts is verified too, and may not approve their own goal: sam and carol start, others decide.
    const refund = await start('refund-request', 'sam', { customerId: 'c-42', amount: 120 });
    const triage = await start('support-triage', 'sam', { ticketId: 'T-1001' });
    const login = await start('support-triage', 'sam', { ticketId: 'T-1002' });
    const alert = await start('security-alert', 'carol', { alertId: 'A-7' });
    const infra = await start('infra-provisioning', 'sam', { environment: 'staging' });
    const digest = await start('repo-digest', 'carol');

    const waiting: Record<string, GoalState> = {};
    for (const id of [refund, triage, infra, digest])
      waiting[id] = await goalReaches(w.client, id, 'awaiting_approval');
    const asking = await eventually(
      async () => {
        const s = await goalState(w.client, alert);
        return s.pendingQuestions.length ? s : undefined;
      },
      'the security analyst desk to ask a human',
      300_000,
    );
    await expect(result(login)).resolves.toMatchObject({ status: 'completed', answeredBy: 'technical' });
    // The worker ran them as registered blueprints, and knows who started them from the gateway's signed start.
    for (const id of [refund, triage, infra]) {
      expect(waiting[id]!.starter).toMatchObject({ subject: 'sam', verified: true });
      expect(waiting[id]!.starter?.blueprint).toMatch(/@dev$/);
    }

    // PostgreSQL visibility answers the CLI's filters: BatonStatus, and BatonApprovers for the inbox.
    const parked = [refund, triage, infra, digest];
    const listed = await eventually(async () => {
      const rows = await batonJson<{ id: string; status: string }[]>(['list', '--status', 'awaiting_approval'], 'sam');
      const ids = rows.map((r) => r.id);
      return parked.every((id) => ids.includes(id)) ? rows : undefined;
    }, 'baton list --status awaiting_approval to show the parked goals');
    expect(listed.every((r) => r.status === 'awaiting_approval')).toBe(true);
    expect(listed.map((r) => r.id)).not.toContain(login);
    await eventually(async () => {
      const rows = await batonJson<{ id: string }[]>(['list', '--status', 'completed'], 'sam');
      return rows.some((r) => r.id === login) ? true : undefined;
    }, 'baton list --status completed to show the finished triage');
    // Each approval is in the inbox of the people its blueprint names, and not in an outsider's.
    const deciders: [string, string[]][] = [
      [refund, ['alice']],
      [triage, ['carol']],
      [infra, ['alice', 'bob']],
      [digest, ['bob']],
    ];
    for (const [goalId, [who]] of deciders) {
      const inbox = await eventually(async () => {
        const list = await batonJson<{ goalId: string; id: string; tool: string }[]>(['approvals'], who!);
        return list.some((a) => a.goalId === goalId) ? list : undefined;
      }, `${who}'s inbox to list ${goalId}`);
      expect(inbox.find((a) => a.goalId === goalId)?.tool).toBe(waiting[goalId]!.pendingApprovals[0]!.tool);
    }
    const outsidersInbox = await batonJson<{ goalId: string }[]>(['approvals'], 'sam');
    expect(outsidersInbox.map((a) => a.goalId)).not.toContain(infra);

    expect(w.model.ledger.refunds.size).toBe(0);
    expect(w.model.ledger.applies.size).toBe(0);
    await expect(readFile(DIGEST, 'utf8')).rejects.toThrow(/ENOENT/);
    for (const [goalId, people] of deciders) {
      const approvalId = waiting[goalId]!.pendingApprovals[0]!.id;
      for (const who of people) await batonJson(['approve', goalId, approvalId, '--comment', 'checked'], who);
    }
    const question = asking.pendingQuestions[0]!.id;
    await batonJson(['reply', alert, question, 'No, that is not expected. Treat it as an intrusion.'], 'sam');

    await expect(result(refund)).resolves.toMatchObject({ status: 'completed', answeredBy: 'billing' });
    await expect(result(triage)).resolves.toMatchObject({ status: 'completed', answeredBy: 'billing' });
    await expect(result(alert)).resolves.toMatchObject({ status: 'completed', validatedBy: 'reviewer' });
    const applied = await result(infra);
    expect(applied.status).toBe('completed');
    expect(applied.approvals[0]).toMatchObject({ tool: 'infra_apply', status: 'approved', by: ['alice', 'bob'] });
    await expect(result(digest)).resolves.toMatchObject({ status: 'completed', approvals: [{ by: ['bob'] }] });

    expect([...w.model.ledger.refunds.values()].map((r) => r.amount).sort((a, b) => a - b)).toEqual([80, 120]);
    expect([...w.model.ledger.applies.values()]).toEqual([
      { applyId: 'a-1', planIds: ['plan-staging-network', 'plan-staging-database'] },
    ]);
    expect([...w.model.ledger.incidents.values()][0]).toMatchObject({ alertId: 'A-7', severity: 'high' });
    expect(await readFile(DIGEST, 'utf8')).toContain('# Digest: approvals in the example goals');
    await eventually(async () => {
      const rows = await batonJson<{ id: string }[]>(['list', '--status', 'awaiting_approval'], 'sam');
      return rows.some((r) => parked.includes(r.id)) ? undefined : true;
    }, 'the decided goals to leave baton list --status awaiting_approval');
  });

  it('refuses a blueprint the operator did not register, and a start nobody signed', async () => {
    // The registered refund-request with one word changed is another blueprint: the worker refuses to run it.
    const changed = await loadBlueprint('goals/refund-request.yaml');
    const edited = { ...changed.blueprint, description: 'changed by hand' };
    const input = { customerId: 'c-42', amount: 20 };
    const unregistered = await w.start({ ...changed, blueprint: edited, hash: hashBlueprint(edited) }, input);
    await expect(unregistered.result()).rejects.toThrow(WorkflowFailedError);
    const failure = await unregistered.result().catch((err: WorkflowFailedError) => err.cause?.message);
    expect(failure).toMatch(/is not registered on the workers/);
    // The registered one, started without the gateway's signed start, is refused too.
    const unsigned = await w.start(changed, input);
    const refused = await unsigned.result().catch((err: WorkflowFailedError) => err.cause?.message);
    expect(refused).toMatch(/the start is not authenticated/);
  });
});
