/**
 * The replay guard: every history in test/histories/ (recorded from real runs by `npm run record-histories`) replays
 * against the current workflow code. A deliberately non-deterministic change fails replay; its patched() form passes.
 * The scenario histories are checked to take the path they are named for, so a re-recording that silently became a
 * happy path is caught.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { describe, expect, inject, it } from 'vitest';

const histories = readdirSync('test/histories')
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: historyFromJSON(JSON.parse(readFileSync(`test/histories/${f}`, 'utf8'))),
  }));

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

function eventsOf(workflowId: string, type: temporal.api.enums.v1.EventType): HistoryEvent[] {
  const history = histories.find((h) => h.workflowId === workflowId)?.history;
  if (!history) throw new Error(`no recorded history ${workflowId}`);
  return (history.events ?? []).filter((e) => e.eventType === type);
}

/** Payloads decoded as the worker wrote them (the recorder runs without a codec: the default payload converter). */
function decoded(payloads: { payloads?: Payload[] | null } | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));
}

/** The goal's result, from its completion event. */
function resultOf(workflowId: string): { status?: string; answer?: string } | undefined {
  const [done] = eventsOf(workflowId, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  return decoded(done?.workflowExecutionCompletedEventAttributes?.result)[0] as { status?: string } | undefined;
}

/** The decisions sent through the `decide` update. */
function decisions(workflowId: string): unknown[] {
  return eventsOf(workflowId, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input)
    .filter((input) => input?.name === 'decide')
    .map((input) => (decoded(input?.args)[0] as { decision?: string }).decision);
}

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
    // Delegation: the parent's history and its first child's, for each way a child can end badly.
    for (const scenario of ['child-over-budget', 'child-rejected', 'child-approval-timeout']) {
      expect(ids).toContain(`infra-provisioning--${scenario}`);
      expect(ids).toContain(`infra-provisioning--${scenario}--t-1-executor`);
    }
  });

  it('has delegation histories that take the failure paths they are named for', () => {
    const failedChildren = (id: string) => eventsOf(id, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED).length;
    // The happy path: both children complete, their plans approved; the searches below would tell it apart.
    expect(failedChildren('infra-provisioning')).toBe(0);
    expect(decisions('infra-provisioning')).toEqual(['approve', 'approve']);

    // A child over its share of the budget fails; the parent goes on and says so.
    expect(failedChildren('infra-provisioning--child-over-budget')).toBe(2);
    const [failed] = eventsOf(
      'infra-provisioning--child-over-budget--t-1-executor',
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    );
    expect(failed?.workflowExecutionFailedEventAttributes?.failure?.applicationFailureInfo?.type).toBe(
      'BudgetExceeded',
    );
    expect(resultOf('infra-provisioning--child-over-budget')).toMatchObject({ status: 'completed' });

    // A child whose approval is rejected: the tool does not run, the child reports it, the parent stops.
    expect(decisions('infra-provisioning--child-rejected--t-1-executor')).toEqual(['reject']);
    expect(resultOf('infra-provisioning--child-rejected--t-1-executor')?.answer).toMatch(/did not approve/);
    expect(resultOf('infra-provisioning--child-rejected')?.answer).toMatch(/did not approve/);

    // A child whose approval times out (onTimeout: cancel): nobody decides, its deadline fires, it ends cancelled.
    expect(decisions('infra-provisioning--child-approval-timeout--t-1-executor')).toEqual([]);
    expect(
      eventsOf('infra-provisioning--child-approval-timeout--t-1-executor', EventType.EVENT_TYPE_TIMER_FIRED).length,
    ).toBeGreaterThan(0);
    expect(resultOf('infra-provisioning--child-approval-timeout--t-1-executor')).toMatchObject({
      status: 'cancelled',
    });
    expect(resultOf('infra-provisioning--child-approval-timeout')?.answer).toMatch(/cancelled/);
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
