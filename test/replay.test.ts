/**
 * The replay guard: every history in test/histories/ (recorded from real runs by `npm run record-histories`) replays
 * against the current workflow code. A deliberately non-deterministic change fails replay; its patched() form passes.
 * The scenario histories are checked to take the path they are named for, so a re-recording that silently became a
 * happy path is caught: the `--verified` ones (recorded with signed starts, votes and answers) carry the
 * `verified-identity` patch, read the operator's trust (through `loadTrust`, or with the first model call) and record each verdict as a `decision`
 * fact; the older ones, recorded before verified identity, carry none of it and still replay on the by-name path.
 */
import { readdirSync } from 'node:fs';
import { bundleWorkflowCode, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';
import { GENERATIONS, recorded, scenarios, STARTER } from '../src/build/history-scenarios.js';
import { PATCH_BASELINE, PATCH_BASELINE_2 } from '../src/workflows/patches.js';
import { RECORDER_ISSUER, RECORDER_KID } from '../src/build/recorder-identity.js';
import {
  activitiesOf,
  decisions,
  decoded,
  decodedAttribute,
  EventType,
  eventsOf,
  factsOfKind,
  histories,
  patchesOf,
  resultOf,
  signalled,
} from './helpers/recorded-histories.js';

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

const ids = histories.map((h) => h.workflowId);
/** Histories recorded under verified identity, by any generation of the workflow code. */
const verifiedIds = ids.filter((id) => GENERATIONS.some((g) => id.includes(`--${g}`)));
/** The generation that recorded a history. */
const generationOf = (id: string) => GENERATIONS.find((g) => id.split('--')[1] === g);
/**
 * Histories recorded before verified identity, on the by-name path: no current worker records that path for a new
 * goal, so this list only shrinks (when `verified-identity` is deprecated). Other files without `--verified` (a
 * production goal's history exported to check it) are only replayed.
 */
const olderIds = [
  'infra-provisioning',
  'refund-request',
  'repo-digest',
  'security-alert',
  'support-triage',
  'refund-request--rejected',
  'refund-request--approval-timeout',
  'refund-request--budget-ask',
  'security-alert--unanswered',
  ...['child-over-budget', 'child-rejected', 'child-approval-timeout'].flatMap((s) => [
    `infra-provisioning--${s}`,
    `infra-provisioning--${s}--t-1-executor`,
  ]),
];

/** The workflow's verdicts on human acts, as `decision` facts: `subject` for accepted ones, `code` for refused. */
function verdicts(id: string): { on: string; via: string; outcome: string; who?: string; code?: string }[] {
  return factsOfKind(id, 'decision').map((f) => ({
    on: f.on,
    via: f.via,
    outcome: f.outcome,
    ...(f.verified ? { who: f.verified.subject } : {}),
    ...(f.code ? { code: f.code } : {}),
  }));
}

/**
 * Each upsert of Baton's search attributes: its event id, the status it wrote, how many workflow tasks had completed,
 * and whether only the cost changed (the status and approvers as the upsert before wrote them).
 */
function batonUpserts(id: string): { eventId: number; task: number; status: unknown; costOnly: boolean }[] {
  const events = histories.find((h) => h.workflowId === id)?.history.events ?? [];
  const out: { eventId: number; task: number; status: unknown; costOnly: boolean }[] = [];
  let task = 0;
  let before: string | undefined;
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) task += 1;
    const status = e.upsertWorkflowSearchAttributesEventAttributes ? decodedAttribute(e, 'BatonStatus') : undefined;
    if (status === undefined) continue;
    const shown = JSON.stringify([status, decodedAttribute(e, 'BatonApprovers')]);
    out.push({ eventId: Number(e.eventId), task, status, costOnly: shown === before });
    before = shown;
  }
  return out;
}

/**
 * Whether a goal recorded the operator's trust: through a `loadTrust` activity (goals recorded before
 * `trust-with-first-model-call`), or in its first model call's reply, which checked the goal's opening.
 */
function readsTrust(id: string): boolean {
  if (activitiesOf(id).includes('loadTrust')) return true;
  return eventsOf(id, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).some(
    (e) => (decoded(e.activityTaskCompletedEventAttributes?.result)[0] as { trust?: unknown } | undefined)?.trust,
  );
}

/** How each approval of a goal settled. */
function settled(id: string): string[] {
  return factsOfKind(id, 'approval.settled').map((f) => `${f.approvalId} ${f.status}`);
}

describe('replay of recorded histories', () => {
  it('has a recorded history for every example goal, and for the waits and failure paths', () => {
    const examples = readdirSync('goals/scripts')
      .filter((f) => f.endsWith('.script.yaml'))
      .map((f) => f.replace('.script.yaml', ''));
    // Exactly the recordings the recorder makes (src/build/history-scenarios.ts), with the first task of each that
    // delegates: a stray or missing --verified file fails here.
    const delegated = (id: string) => (id.startsWith('infra-provisioning--') ? [id, `${id}--t-1-executor`] : [id]);
    const made = GENERATIONS.flatMap((g) => [
      ...examples.map((e) => recorded(g, e)),
      ...scenarios(g).map((sc) => sc.id),
    ]).flatMap(delegated);
    expect([...verifiedIds].sort()).toEqual(made.sort());
    // And those recorded before verified identity, kept as they ran.
    for (const id of olderIds) expect(ids).toContain(id);
  });

  it('has --verified histories that took the verified-identity path, and older ones that did not', () => {
    for (const id of verifiedIds) {
      // The first generation marks each change; later ones one baseline standing for them all, and nothing else.
      const generation = generationOf(id);
      if (generation === 'verified') expect.soft(patchesOf(id), id).toContain('verified-identity');
      else if (generation === 'baseline-1') expect.soft(patchesOf(id), id).toEqual([PATCH_BASELINE]);
      else expect.soft(patchesOf(id), id).toEqual([PATCH_BASELINE_2]);
      expect.soft(readsTrust(id), id).toBe(true);
      // Started with a signed start assertion, by the recorder's key, for a blueprint the workers registered.
      const starters = factsOfKind(id, 'starter');
      expect.soft(starters, id).toHaveLength(1);
      expect.soft(starters[0], id).toMatchObject({
        verified: true,
        issuer: RECORDER_ISSUER,
        keyId: RECORDER_KID,
        subject: id.includes('refused-then-approved') ? 'carol' : STARTER,
      });
      expect.soft(starters[0]?.blueprint, id).toMatch(new RegExp(`^${id.split('--')[0]}@${generationOf(id)}`));
      for (const f of factsOfKind(id, 'decision').filter((d) => d.outcome === 'accepted')) {
        expect.soft(f.verified, id).toMatchObject({ issuer: RECORDER_ISSUER, keyId: RECORDER_KID });
      }
    }
    // The same searches find none of it in the histories recorded before verified identity.
    for (const id of olderIds) {
      expect.soft(patchesOf(id), id).not.toContain('verified-identity');
      expect.soft(patchesOf(id), id).not.toContain(PATCH_BASELINE);
      expect.soft(patchesOf(id), id).not.toContain(PATCH_BASELINE_2);
      expect.soft(activitiesOf(id), id).not.toContain('loadTrust');
      expect.soft(factsOfKind(id, 'decision'), id).toEqual([]);
      expect.soft(factsOfKind(id, 'starter'), id).toEqual([]);
    }
  });

  for (const gen of GENERATIONS) {
    it(`has ${gen} approval histories that took the paths they are named for`, () => {
      const approve = { on: 'approval', via: 'update', outcome: 'accepted', who: 'alice' };
      // Approved through the `decide` update by a finance approver, verified with the groups the trust maps.
      expect(verdicts(recorded(gen, 'refund-request'))).toEqual([approve]);
      expect(decisions(recorded(gen, 'refund-request'))).toEqual(['approve']);
      expect(factsOfKind(recorded(gen, 'refund-request'), 'decision')[0]?.verified?.groups).toContain('finance');
      expect(settled(recorded(gen, 'refund-request'))).toEqual(['apr-1 approved']);
      expect(resultOf(recorded(gen, 'refund-request'))).toMatchObject({ status: 'completed' });

      expect(verdicts(recorded(gen, 'refund-request', 'rejected'))).toEqual([approve]);
      expect(decisions(recorded(gen, 'refund-request', 'rejected'))).toEqual(['reject']);
      expect(settled(recorded(gen, 'refund-request', 'rejected'))).toEqual(['apr-1 rejected']);

      // Through the `approval` signal: four votes refused and recorded (unsigned, a key nobody trusts, not an
      // approver, the starter's own approval), then a signed one accepted.
      const refusedFirst = recorded(gen, 'refund-request', 'refused-then-approved');
      const refused = (code: string) => ({ on: 'approval', via: 'signal', outcome: 'refused', code });
      expect(verdicts(refusedFirst)).toEqual([
        refused('missing'),
        refused('bad_signature'),
        refused('not_an_approver'),
        refused('self_approval'),
        { on: 'approval', via: 'signal', outcome: 'accepted', who: 'alice' },
      ]);
      expect(signalled(refusedFirst, 'approval')).toHaveLength(5);
      expect(decisions(refusedFirst)).toEqual([]);
      expect(settled(refusedFirst)).toEqual(['apr-1 approved']);

      // Nobody decides: the deadline fires and the approval times out.
      const timeout = recorded(gen, 'refund-request', 'approval-timeout');
      expect(verdicts(timeout)).toEqual([]);
      expect(eventsOf(timeout, EventType.EVENT_TYPE_TIMER_FIRED).length).toBeGreaterThan(0);
      expect(settled(timeout)).toEqual(['apr-1 timed_out']);

      // The budget runs out twice; each extension (tool `budget`) is approved with a signed vote, as is the refund.
      const budget = recorded(gen, 'refund-request', 'budget-ask');
      const opened = factsOfKind(budget, 'approval.opened').map((f) => f.tool);
      expect(opened).toEqual(['budget', 'issue_refund', 'budget']);
      expect(verdicts(budget)).toEqual([approve, approve, approve]);

      // Quorum 2: two distinct verified people approve the apply.
      expect(verdicts(recorded(gen, 'infra-provisioning'))).toEqual([approve, { ...approve, who: 'bob' }]);
      expect(settled(recorded(gen, 'infra-provisioning'))).toEqual(['apr-1 approved']);
    });

    it(`has ${gen} question histories that took the paths they are named for`, () => {
      // sam (the soc group) answers through the `reply` update, verified.
      expect(verdicts(recorded(gen, 'security-alert')).filter((v) => v.on === 'question')).toEqual([
        { on: 'question', via: 'update', outcome: 'accepted', who: 'sam' },
      ]);
      expect(factsOfKind(recorded(gen, 'security-alert'), 'question.settled')).toMatchObject([
        { status: 'answered', by: 'sam' },
      ]);
      // Nobody answers: the question times out, and no verdict on it is recorded.
      const unanswered = recorded(gen, 'security-alert', 'unanswered');
      expect(verdicts(unanswered).filter((v) => v.on === 'question')).toEqual([]);
      expect(factsOfKind(unanswered, 'question.settled')).toMatchObject([{ status: 'timed_out' }]);
    });
  }

  for (const base of ['infra-provisioning', ...GENERATIONS.map((g) => recorded(g, 'infra-provisioning'))]) {
    it(`has delegation histories that take the failure paths they are named for (${base})`, () => {
      const failedChildren = (id: string) => eventsOf(id, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED).length;
      // The happy path: both children complete, their plans approved; the searches below would tell it apart.
      expect(failedChildren(base)).toBe(0);
      expect(decisions(base)).toEqual(['approve', 'approve']);

      // A child over its share of the budget fails; the parent goes on and says so.
      expect(failedChildren(`${base}--child-over-budget`)).toBe(2);
      const [failed] = eventsOf(
        `${base}--child-over-budget--t-1-executor`,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
      );
      expect(failed?.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.type).toBe(
        'BudgetExceeded',
      );
      expect(resultOf(`${base}--child-over-budget`)).toMatchObject({ status: 'completed' });

      // A child whose approval is rejected: the tool does not run, the child reports it, the parent stops.
      expect(decisions(`${base}--child-rejected--t-1-executor`)).toEqual(['reject']);
      expect(resultOf(`${base}--child-rejected--t-1-executor`)?.answer).toMatch(/did not approve/);
      expect(resultOf(`${base}--child-rejected`)?.answer).toMatch(/did not approve/);

      // A child whose approval times out (onTimeout: cancel): nobody decides, its deadline fires, it ends cancelled.
      expect(decisions(`${base}--child-approval-timeout--t-1-executor`)).toEqual([]);
      expect(
        eventsOf(`${base}--child-approval-timeout--t-1-executor`, EventType.EVENT_TYPE_TIMER_FIRED).length,
      ).toBeGreaterThan(0);
      expect(resultOf(`${base}--child-approval-timeout--t-1-executor`)).toMatchObject({ status: 'cancelled' });
      expect(resultOf(`${base}--child-approval-timeout`)?.answer).toMatch(/cancelled/);
    });
  }

  it('has verified delegated tasks whose rejection was a verified vote', () => {
    for (const gen of GENERATIONS) {
      expect(verdicts(`${recorded(gen, 'infra-provisioning', 'child-rejected')}--t-1-executor`)).toEqual([
        { on: 'approval', via: 'update', outcome: 'accepted', who: 'alice' },
      ]);
    }
  });

  it('has histories of how goals read trust and run side-effect-free builtins, each taking its path', () => {
    const activities = (id: string) =>
      eventsOf(id, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name,
      );
    const localCalls = (id: string) =>
      eventsOf(id, EventType.EVENT_TYPE_MARKER_RECORDED).filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      ).length;
    // Recorded before the first model call carried the trust: a loadTrust activity comes first.
    expect(activities('local-tools--trust-activity')[0]).toBe('loadTrust');
    // Recorded before builtins ran locally: every tool call is a scheduled runTool.
    expect(activities('local-tools--scheduled')).not.toContain('loadTrust');
    expect(activities('local-tools--scheduled').filter((a) => a === 'runTool')).toHaveLength(4);
    expect(localCalls('local-tools--scheduled')).toBe(0);
    // Recorded with both: three builtin calls as local activities, the approved HTTP call scheduled.
    expect(activities('local-tools--local').filter((a) => a === 'runTool')).toHaveLength(1);
    expect(localCalls('local-tools--local')).toBe(3);
    for (const id of ['local-tools--trust-activity', 'local-tools--scheduled', 'local-tools--local']) {
      expect(resultOf(id)?.answer).toBe('Refunded 120 USD to c-42 and noted it.');
    }
  });

  it('has baseline-2 goals that start with their search attributes and write cost and final status at once', () => {
    const examples = ['refund-request', 'repo-digest', 'security-alert', 'support-triage', 'infra-provisioning'];
    // security-alert ends on its reviewer's accept_answer, a tool call: a reply with tool calls publishes its cost
    // before they run, whatever they do. The others end on a reply without tool calls.
    const endsOnToolCall = (id: string) => id.startsWith('security-alert--');
    for (const gen of ['baseline-1', 'baseline-2'] as const) {
      for (const id of examples.map((e) => recorded(gen, e))) {
        const upserts = batonUpserts(id);
        const tasks = eventsOf(id, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length;
        const firstCall = eventsOf(id, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel',
        );
        const beforeFirstCall = upserts.filter((u) => u.eventId < Number(firstCall?.eventId));
        // In the last task, an upsert that changed only the cost, with another after it: the cost of the final reply
        // written apart from the final status.
        const last = upserts.filter((u) => u.task === tasks);
        const costApart = last.slice(0, -1).filter((u) => u.costOnly);
        const started = decodedAttribute(
          eventsOf(id, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)[0]!,
          'BatonCostUsd',
        );
        expect.soft(last.at(-1)?.status, id).toBe('completed');
        if (gen === 'baseline-1') {
          // What the checks find when it is there: the status published again before the first model call, and the
          // final reply's cost apart from the final status.
          expect.soft(started, id).toBeUndefined();
          const statuses = beforeFirstCall.map((u) => u.status);
          expect.soft(statuses, id).toEqual(['running']);
          expect.soft(costApart.length, id).toBeGreaterThan(0);
        } else {
          expect.soft(started, id).toBe(0);
          expect.soft(beforeFirstCall, id).toEqual([]);
          expect.soft(costApart.length, id).toBe(endsOnToolCall(id) ? 1 : 0);
        }
      }
    }
  });

  it('replays every history against the current workflow code', async () => {
    const results = await replay({ codePath: inject('workflowBundlePath') });
    console.log(
      `histories replayed: ${results.length} (${verifiedIds.length} verified, ${olderIds.length} older), ` +
        `failures: ${results.filter((r) => r.error).length}`,
    );
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
