/**
 * Deploying a new worker version while goals wait, with Worker Versioning on the cluster: 100 goals park on approvals
 * on version 1 (pinned); version 2, whose goal loop issues different commands (fixtures/loop-v2.ts), is deployed and
 * made current; version 1 keeps serving its pinned goals until they are drained, each upgrades to version 2 when it
 * continues as new after its approval, none fails with a non-determinism error, and new goals start on version 2.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBuildId } from '../../src/versioning.js';
import { bundlePath, workflowInterceptorModules } from '../../src/worker.js';
import type { ScriptInput } from '../../src/scripted-model/script.js';
import { blueprint, eventually } from '../helpers/harness.js';
import { approve, goalReaches, inBatches, openWorld, type World } from './helpers/world.js';

const { EventType, VersionDrainageStatus, VersioningBehavior } = proto.api.enums.v1;

const goal = blueprint(`
apiVersion: baton/v1
name: versioned-refund
models: { default: { model: gpt-4o-mini } }
agents:
  billing: { role: executor, instructions: Refund when justified., tools: [lookup_customer, issue_refund] }
entry: billing
tools:
  lookup_customer:
    type: http
    method: GET
    url: '\${env:BATON_DEMO_API}/customers/{{customerId}}'
    sideEffect: none
    parameters: { type: object, required: [customerId], properties: { customerId: { type: string } } }
  issue_refund:
    type: http
    method: POST
    url: '\${env:BATON_DEMO_API}/refunds'
    body: { customerId: '{{customerId}}', amount: '{{amount}}' }
    sideEffect: idempotent
    parameters: { type: object, required: [customerId, amount], properties: { customerId: { type: string }, amount: { type: number } } }
    approval: { when: args.amount > 100, approvers: [alice], timeout: 14d, onTimeout: reject }
approvers: {}
`);

const script: ScriptInput = {
  goal: 'versioned-refund',
  replies: [
    {
      when: { agent: 'billing', after: 'user' },
      content: 'Looking the customer up.',
      toolCalls: [{ name: 'lookup_customer', arguments: { customerId: 'c-42' } }],
    },
    {
      when: { agent: 'billing', after: 'tool', tool: 'lookup_customer' },
      content: 'Refunding 120 USD.',
      toolCalls: [{ name: 'issue_refund', arguments: { customerId: 'c-42', amount: 120 } }],
    },
    { when: { agent: 'billing', after: 'tool', tool: 'issue_refund' }, content: 'Refunded 120 USD.' },
  ],
};

const PARKED = 100;
const deploymentName = `baton-test-${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'baton-versioning-'));
const v1Bundle = bundlePath({ tracing: false, encrypted: false });
const v2Bundle = join(dir, 'workflow-bundle-v2.js');
let v1: string;
let v2: string;
let w: World;

beforeAll(async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url)),
    workflowInterceptorModules: [
      ...workflowInterceptorModules(false),
      fileURLToPath(new URL('./fixtures/loop-v2.ts', import.meta.url)),
    ],
    logger: { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error },
  });
  writeFileSync(v2Bundle, code);
  v1 = defaultBuildId({ workflowBundle: { codePath: v1Bundle } });
  v2 = defaultBuildId({ workflowBundle: { codePath: v2Bundle } });
  w = await openWorld({ scripts: [script] });
});

afterAll(async () => {
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

function versionedWorker(bundle: string) {
  return w.worker({ BATON_DEPLOYMENT_NAME: deploymentName, BATON_WORKFLOW_BUNDLE: bundle });
}

/** Makes a version current, as `temporal worker deployment set-current-version` does, once its workers polled. */
function makeCurrent(buildId: string) {
  return eventually(
    () =>
      w.connection.workflowService.setWorkerDeploymentCurrentVersion({
        namespace: w.cluster.namespace,
        deploymentName,
        buildId,
        identity: 'versioning-test',
      }),
    `version ${buildId} to become current`,
    120_000,
  );
}

async function drainage(buildId: string) {
  const r = await w.connection.workflowService.describeWorkerDeploymentVersion({
    namespace: w.cluster.namespace,
    deploymentVersion: { deploymentName, buildId },
  });
  return (
    r.workerDeploymentVersionInfo?.drainageInfo?.status ?? VersionDrainageStatus.VERSION_DRAINAGE_STATUS_UNSPECIFIED
  );
}

async function versionOf(handle: WorkflowHandle, runId?: string) {
  const d = await w.client.workflow.getHandle(handle.workflowId, runId).describe();
  const info = d.raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId, behavior: info?.behavior };
}

describe('Worker Versioning on the cluster', () => {
  it('keeps 100 parked goals on version 1 through a deploy of version 2, then upgrades them as they continue', async () => {
    expect(v1).not.toBe(v2);
    const first = await versionedWorker(v1Bundle);
    await makeCurrent(v1);

    const parked = await inBatches([...Array(PARKED).keys()], 10, () => w.start(goal, {}));
    await inBatches(parked, 10, (h) => goalReaches(w.client, h.workflowId, 'awaiting_approval'));
    for (const h of parked.slice(0, 5)) {
      expect(await versionOf(h)).toEqual({ buildId: v1, behavior: VersioningBehavior.VERSIONING_BEHAVIOR_PINNED });
    }

    // Deploy version 2 beside version 1 and make it current: version 1 starts draining.
    const second = await versionedWorker(v2Bundle);
    await makeCurrent(v2);
    await eventually(
      async () => ((await drainage(v1)) === VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINING ? true : undefined),
      'version 1 to be draining',
      120_000,
    );

    // New goals start on version 2 and run its loop (a timer before each activity).
    const fresh = await inBatches([...Array(5).keys()], 5, () => w.start(goal, {}));
    await inBatches(fresh, 5, (h) => goalReaches(w.client, h.workflowId, 'awaiting_approval'));
    for (const h of fresh) {
      expect(await versionOf(h)).toEqual({ buildId: v2, behavior: VersioningBehavior.VERSIONING_BEHAVIOR_PINNED });
      const events = (await h.fetchHistory()).events ?? [];
      expect(events.some((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED)).toBe(true);
    }

    // Version 2 really differs: a version 1 history does not replay on it (the test of pinning could fail).
    const parkedHistory = await parked[0]!.fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: v2Bundle } }, parkedHistory, parked[0]!.workflowId),
    ).rejects.toThrow(DeterminismViolationError);
    await Worker.runReplayHistory({ workflowBundle: { codePath: v1Bundle } }, parkedHistory, parked[0]!.workflowId);

    // Approve everything: version 1 finishes its goals' steps, then each continues as new onto version 2.
    const all = [...parked, ...fresh];
    expect(w.model.ledger.refunds.size).toBe(0);
    await inBatches(all, 10, (h) => approve(w.client, h.workflowId, 'apr-1', 'alice'));
    const results = await inBatches(all, 10, (h) => h.result());
    const completed = results.filter((r) => r.status === 'completed').length;
    expect(completed).toBe(PARKED + 5);
    // Each goal refunded once, after its approval: the goals did their work, not only ended.
    const refunded = all.map((h) => [...w.model.ledger.refunds.keys()].filter((k) => k.startsWith(`${h.workflowId}/`)));
    expect(refunded.filter((keys) => keys.length === 1)).toHaveLength(PARKED + 5);

    let upgraded = 0;
    let failedTasks = 0;
    for (const h of all) {
      const runs: string[] = [];
      let runId: string | undefined = h.firstExecutionRunId;
      while (runId) {
        runs.push(runId);
        const history: proto.api.history.v1.IHistory = await w.client.workflow
          .getHandle(h.workflowId, runId)
          .fetchHistory();
        const events = history.events ?? [];
        failedTasks += events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED).length;
        runId =
          events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
            ?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
      }
      if (parked.includes(h)) {
        expect((await versionOf(h, runs[0])).buildId).toBe(v1);
        if (runs.length > 1 && (await versionOf(h, runs.at(-1))).buildId === v2) upgraded += 1;
      }
    }
    expect(failedTasks).toBe(0);
    expect(upgraded).toBe(PARKED);

    await eventually(
      async () => ((await drainage(v1)) === VersionDrainageStatus.VERSION_DRAINAGE_STATUS_DRAINED ? true : undefined),
      'version 1 to be drained',
      180_000,
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(second.child.exitCode).toBeNull();
    process.stderr.write(
      `[cluster] versioning: ${PARKED} goals parked on ${v1}, ${v2} made current, ${completed} completed, ` +
        `${refunded.length} refunded once each, ${upgraded} upgraded on continue-as-new, ${failedTasks} failed ` +
        `workflow tasks, version 1 drained\n`,
    );
  });
});
