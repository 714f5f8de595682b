/**
 * Faults on the production-like cluster: two `baton worker` processes share the task queue and one is SIGKILLed
 * while 50 goals run; PostgreSQL restarts under running goals; the whole server (all four service processes)
 * restarts while goals wait for approval. Every goal completes, and the demo back office's ledger, keyed by
 * idempotency key, shows each goal's refund exactly once.
 */
import { temporal as proto } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goalState } from '../../src/client/goals.js';
import { newDemoLedger } from '../../src/scripted-model/demo-api.js';
import type { ScriptInput } from '../../src/scripted-model/script.js';
import { blueprint, eventually } from '../helpers/harness.js';
import { clusterScript } from './helpers/cluster.js';
import { approve, duplicateRefunds, goalReaches, inBatches, openWorld, type World } from './helpers/world.js';

/** A refund goal; `limit` decides which refunds wait for alice. Tool calls time out fast, so a killed worker's retry soon. */
const { EventType } = proto.api.enums.v1;

function refundGoal(name: string) {
  return blueprint(`
apiVersion: baton/v1
name: ${name}
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
    timeout: 10s
    parameters: { type: object, required: [customerId], properties: { customerId: { type: string } } }
  issue_refund:
    type: http
    method: POST
    url: '\${env:BATON_DEMO_API}/refunds'
    body: { customerId: '{{customerId}}', amount: '{{amount}}' }
    sideEffect: idempotent
    timeout: 10s
    parameters: { type: object, required: [customerId, amount], properties: { customerId: { type: string }, amount: { type: number } } }
    approval: { when: args.amount > 100, approvers: [alice], timeout: 14d, onTimeout: reject }
approvers: {}
`);
}

function refundScript(goal: string, amount: number): ScriptInput {
  return {
    goal,
    replies: [
      {
        when: { agent: 'billing', after: 'user' },
        content: 'Looking the customer up.',
        toolCalls: [{ name: 'lookup_customer', arguments: { customerId: 'c-42' } }],
      },
      {
        when: { agent: 'billing', after: 'tool', tool: 'lookup_customer' },
        content: `Refunding ${amount} USD.`,
        toolCalls: [{ name: 'issue_refund', arguments: { customerId: 'c-42', amount } }],
      },
      { when: { agent: 'billing', after: 'tool', tool: 'issue_refund' }, content: `Refunded ${amount} USD.` },
    ],
  };
}

const quick = refundGoal('cluster-refund');
const parked = refundGoal('cluster-parked');
let w: World;

beforeAll(async () => {
  // Refund answers are delayed after they are recorded: a worker killed meanwhile never hears of them, and its retry
  // must not refund again.
  w = await openWorld({
    scripts: [refundScript('cluster-refund', 80), refundScript('cluster-parked', 120)],
    refundDelayMs: 300,
  });
});

afterAll(async () => {
  await w?.close();
});

async function runToCompletion(ids: string[]) {
  return inBatches(ids, 10, async (id) => {
    const result: unknown = await w.client.workflow.getHandle(id).result();
    return result as { status: string };
  });
}

describe('faults on the cluster', () => {
  it('finds a goal that refunded twice (the duplicate check can fail)', () => {
    const ledger = newDemoLedger();
    ledger.refunds.set('g-1/5', { refundId: 'r-1', customerId: 'c-42', amount: 80 });
    ledger.refunds.set('g-2/5', { refundId: 'r-2', customerId: 'c-42', amount: 80 });
    expect(duplicateRefunds(ledger)).toEqual([]);
    ledger.refunds.set('g-1/9', { refundId: 'r-3', customerId: 'c-42', amount: 80 });
    expect(duplicateRefunds(ledger)).toEqual([{ goalId: 'g-1', keys: ['g-1/5', 'g-1/9'] }]);
  });

  it('completes 50 goals across two workers when one is SIGKILLed mid-run, refunding each exactly once', async () => {
    const a = await w.worker();
    const b = await w.worker();
    const before = w.model.ledger.refunds.size;
    const ids = await inBatches([...Array(50).keys()], 10, async () => (await w.start(quick, {})).workflowId);
    await eventually(
      () => (w.model.ledger.refunds.size - before >= 5 ? true : undefined),
      'the first refunds',
      300_000,
    );
    a.child.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    const killedAt = w.model.ledger.refunds.size - before;

    const results = await runToCompletion(ids);
    const completed = results.filter((r) => r.status === 'completed').length;
    expect(completed).toBe(50);
    const mine = newDemoLedger();
    for (const [key, refund] of w.model.ledger.refunds)
      if (ids.some((id) => key.startsWith(`${id}/`))) mine.refunds.set(key, refund);
    expect(mine.refunds.size).toBe(50);
    expect(duplicateRefunds(mine)).toEqual([]);
    expect(b.child.exitCode).toBeNull();
    // How much work the kill interrupted: activity attempts after the first (retried on the surviving worker).
    let retried = 0;
    for (const id of ids) {
      const history = await w.client.workflow.getHandle(id).fetchHistory();
      retried += (history.events ?? []).filter(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
          (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
      ).length;
    }
    process.stderr.write(
      `[cluster] kill test: 50 goals run, 1 of 2 workers SIGKILLed after ${killedAt} refunds, ${retried} activity ` +
        `attempts retried, ${completed} completed, ${duplicateRefunds(mine).length} duplicates\n`,
    );
  });

  it('resumes running goals after PostgreSQL restarts under them', async () => {
    const before = w.model.ledger.refunds.size;
    const ids = await inBatches([...Array(20).keys()], 10, async () => (await w.start(quick, {})).workflowId);
    await eventually(() => (w.model.ledger.refunds.size - before >= 3 ? true : undefined), 'some refunds', 300_000);
    const stoppedAt = w.model.ledger.refunds.size - before;
    const down = Date.now();
    await clusterScript(w.cluster.dir, 'postgres-stop');
    await new Promise((r) => setTimeout(r, 3_000));
    await clusterScript(w.cluster.dir, 'postgres-start');
    const outage = (Date.now() - down) / 1000;

    const results = await runToCompletion(ids);
    const completed = results.filter((r) => r.status === 'completed').length;
    expect(completed).toBe(20);
    const mine = newDemoLedger();
    for (const [key, refund] of w.model.ledger.refunds)
      if (ids.some((id) => key.startsWith(`${id}/`))) mine.refunds.set(key, refund);
    expect(mine.refunds.size).toBe(20);
    expect(duplicateRefunds(mine)).toEqual([]);
    process.stderr.write(
      `[cluster] PostgreSQL restart: 20 goals run, database down ${outage.toFixed(1)} s after ${stoppedAt} refunds, ` +
        `${completed} completed, ${duplicateRefunds(mine).length} duplicates\n`,
    );
  });

  it('keeps goals parked across a restart of every server process, and completes them after approval', async () => {
    const ids = await inBatches([...Array(10).keys()], 10, async () => (await w.start(parked, {})).workflowId);
    await inBatches(ids, 10, (id) => goalReaches(w.client, id, 'awaiting_approval'));
    const down = Date.now();
    await clusterScript(w.cluster.dir, 'server-stop');
    await clusterScript(w.cluster.dir, 'server-start');
    const restart = (Date.now() - down) / 1000;

    // Still parked, nothing refunded, and the workers reconnected on their own.
    for (const id of ids) {
      const s = await eventually(() => goalState(w.client, id), `the state of ${id} after the restart`, 120_000);
      expect(s.status).toBe('awaiting_approval');
      expect(s.pendingApprovals[0]).toMatchObject({ id: 'apr-1', tool: 'issue_refund' });
    }
    expect([...w.model.ledger.refunds.keys()].filter((k) => ids.some((id) => k.startsWith(`${id}/`)))).toEqual([]);

    await inBatches(ids, 10, (id) => approve(w.client, id, 'apr-1', 'alice'));
    const results = await runToCompletion(ids);
    const completed = results.filter((r) => r.status === 'completed').length;
    expect(completed).toBe(10);
    const mine = [...w.model.ledger.refunds].filter(([k]) => ids.some((id) => k.startsWith(`${id}/`)));
    expect(mine.map(([, r]) => r.amount)).toEqual(Array(10).fill(120));
    process.stderr.write(
      `[cluster] server restart: 10 goals parked, all four services stopped and started in ${restart.toFixed(1)} s, ` +
        `10 still parked after it, ${completed} completed after approval, ${mine.length} refunds\n`,
    );
  });
});
