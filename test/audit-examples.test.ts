/**
 * `baton audit` of every example goal against `temporal workflow show --output json` of the same goal, record by
 * record: each model call and tool activity, each fact the workflow recorded (a refused or engine tool call, a
 * question or approval opened, a question timed out), each human message (approval decisions and `reply` answers,
 * attributed to the person who answered, not the client), and the end. The security alert runs through its validator
 * (a rejection, then the accepted answer) and its `ask_human` question, answered through `baton reply`.
 */
import { signedDecide, signedReply } from './helpers/identity.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../src/audit/chain.js';
import { loadBlueprint, type LoadedBlueprint } from '../src/blueprint/load.js';
import { goalState } from '../src/client/goals.js';
import { loadScript } from '../src/scripted-model/script.js';
import type { ModelReply } from '../src/activities/index.js';
import { FACT_MEMO_KEY, type AuditFact } from '../src/workflows/facts.js';
import { baton, temporal } from './helpers/cli.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';

let env: TestWorkflowEnvironment;
let h: Harness;
let vars: Record<string, string>;
const goals: Record<string, LoadedBlueprint> = {};
const NAMES = ['refund-request', 'support-triage', 'security-alert', 'infra-provisioning'];

interface ShownEvent {
  eventId: string;
  eventTime: string;
  [attributes: string]: unknown;
}

type Payload = { data?: string } | undefined;

function decode(payload: Payload): unknown {
  return payload?.data ? (JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as unknown) : undefined;
}

async function show(goalId: string): Promise<ShownEvent[]> {
  const shown = await temporal(['workflow', 'show', '-w', goalId, '--address', env.address, '--output', 'json']);
  expect(shown.code, shown.stderr).toBe(0);
  return (JSON.parse(shown.stdout) as { events: ShownEvent[] }).events;
}

async function audit(goalId: string): Promise<AuditRecord[]> {
  const r = await baton(['audit', goalId, '--format', 'jsonl'], vars);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord);
}

function waitFor(goalId: string, status: string) {
  return eventually(async () => {
    const s = await goalState(env.client, goalId);
    return s.status === status ? s : undefined;
  }, `goal ${goalId} to be ${status}`);
}

/**
 * Every event of the history that the trail must report, and the record that reports it. Returns how many events
 * were checked per kind, so a test can say it saw what it expected to check.
 */
function matchRecordByRecord(events: ShownEvent[], records: AuditRecord[]): Record<string, number> {
  const checked: Record<string, number> = {};
  const count = (k: string) => (checked[k] = (checked[k] ?? 0) + 1);
  const at = (kind: string, eventId: number) => records.filter((r) => r.kind === kind && r.eventId === eventId);
  const calls = new Set<string>();
  for (const e of events) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes as
      { activityType: { name: string }; input: { payloads: Payload[] } } | undefined;
    if (scheduled && ['callModel', 'runTool'].includes(scheduled.activityType.name)) {
      const input = decode(scheduled.input.payloads[0]) as { agent: string; tool?: string };
      const kind = scheduled.activityType.name === 'callModel' ? 'model.call' : 'tool.call';
      const found = at(kind, id);
      expect(found, `${kind} for event ${id}`).toHaveLength(1);
      expect(found[0]).toMatchObject({ at: e.eventTime, actor: `agent:${input.agent}` });
      if (input.tool) expect(found[0]!.data).toMatchObject({ tool: input.tool, ranActivity: true });
      count(kind);
    }
    const completed = e.activityTaskCompletedEventAttributes as { result?: { payloads: Payload[] } } | undefined;
    if (completed?.result) {
      const reply = decode(completed.result.payloads[0]) as Partial<ModelReply> | undefined;
      for (const c of reply?.toolCalls ?? []) calls.add(c.id);
    }
    const memo = (
      e.workflowPropertiesModifiedEventAttributes as { upsertedMemo?: { fields?: Record<string, Payload> } } | undefined
    )?.upsertedMemo?.fields?.[FACT_MEMO_KEY];
    if (memo) {
      const fact = decode(memo) as AuditFact;
      if (fact.fact === 'tool') {
        const found = at('tool.call', id);
        expect(found, `the tool call fact at event ${id}: ${JSON.stringify(fact)}`).toHaveLength(1);
        expect(found[0]).toMatchObject({ at: e.eventTime, actor: `agent:${fact.agent}` });
        expect(found[0]!.data).toMatchObject({ tool: fact.tool, callId: fact.callId, outcome: fact.outcome });
        count(`tool:${fact.outcome}`);
      } else if (fact.fact === 'question.asked') {
        expect(at('question.asked', id)[0]?.data).toMatchObject({ questionId: fact.questionId, agent: fact.agent });
        count(fact.fact);
      } else if (fact.fact === 'approval.opened') {
        expect(at('approval.requested', id)[0]?.data).toMatchObject({
          approvalId: fact.approvalId,
          tool: fact.tool,
          eligible: fact.eligible,
        });
        count(fact.fact);
      } else if (fact.fact === 'question.settled' && fact.status === 'timed_out') {
        expect(at('question.timeout', id)).toHaveLength(1);
        count('question.timeout');
      }
    }
    const signal = e.workflowExecutionSignaledEventAttributes as
      { signalName: string; input: { payloads: Payload[] } } | undefined;
    const update = e.workflowExecutionUpdateAcceptedEventAttributes as
      { acceptedRequest: { input: { name: string; args: { payloads: Payload[] } } } } | undefined;
    const message = signal
      ? { name: signal.signalName, payload: decode(signal.input.payloads[0]) }
      : update
        ? { name: update.acceptedRequest.input.name, payload: decode(update.acceptedRequest.input.args.payloads[0]) }
        : undefined;
    if (message && (message.name === 'approval' || message.name === 'decide' || message.name === 'reply')) {
      const kind = message.name === 'reply' ? 'question.reply' : 'approval.decision';
      const found = at(kind, id);
      expect(found, `${kind} for event ${id}`).toHaveLength(1);
      expect(found[0]).toMatchObject({ at: e.eventTime, actor: `user:${(message.payload as { by: string }).by}` });
      count(kind);
    }
    if (e.workflowExecutionCompletedEventAttributes) {
      expect(at('goal.finished', id)).toHaveLength(1);
      count('goal.finished');
    }
  }
  // Every tool call a model asked for has exactly one record, run or not.
  const recorded = records.filter((r) => r.kind === 'tool.call').map((r) => r.data.callId);
  expect([...recorded].sort()).toEqual([...calls].sort());
  // Nothing is inferred where the workflow recorded the fact.
  expect(records.filter((r) => r.data.source === 'inferred from BatonStatus')).toEqual([]);
  expect(records.filter((r) => r.kind === 'tool.call' && r.data.outcome === 'pending')).toEqual([]);
  return checked;
}

beforeAll(async () => {
  env = await startDevServer();
  const scripts = await Promise.all(NAMES.map((n) => loadScript(`goals/scripts/${n}.script.yaml`)));
  h = await createHarness(env, { scripts });
  for (const n of NAMES) goals[n] = await loadBlueprint(`goals/${n}.yaml`);
  vars = { TEMPORAL_ADDRESS: env.address, BATON_TASK_QUEUE: h.taskQueue };
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

describe('baton audit of every example, against temporal workflow show', () => {
  it('security-alert: the validator, the question and the answer are what happened, by whom', async () => {
    const handle = await h.start(goals['security-alert']!, { alertId: 'A-7' });
    await waitFor(handle.workflowId, 'awaiting_reply');
    // sam answers with a signed assertion, as `baton reply` sends it through the gateway.
    await signedReply(env.client, handle.workflowId, {
      questionId: 'q-1',
      answer: 'Not expected: treat it as an intrusion',
      by: 'sam',
    });
    await handle.result();
    const records = await audit(handle.workflowId);
    const checked = matchRecordByRecord(await show(handle.workflowId), records);
    expect(checked).toMatchObject({ 'question.asked': 1, 'question.reply': 1, 'tool:handled': 6 });

    expect(records.filter((r) => r.kind.startsWith('approval.'))).toEqual([]);
    const asked = records.find((r) => r.kind === 'question.asked')!;
    expect(asked).toMatchObject({ actor: 'agent:analyst-desk', data: { questionId: 'q-1', eligible: ['sam'] } });
    const reply = records.find((r) => r.kind === 'question.reply')!;
    expect(reply).toMatchObject({ actor: 'user:sam', data: { via: 'update', outcome: 'accepted', by: 'sam' } });
    // The client identity Temporal records is the sender's own claim (here the test's client), never who answered.
    expect(String(reply.data.clientIdentity)).toMatch(/\S/);
    const verdicts = records.filter((r) => r.kind === 'tool.call' && r.actor === 'agent:reviewer');
    expect(
      verdicts.map((r) => [r.data.tool, r.data.outcome, (r.data.detail as { verdict?: string })?.verdict]),
    ).toEqual([
      ['reject_answer', 'handled', 'rejected'],
      ['handoff_to_analyst-desk', 'handled', undefined],
      ['accept_answer', 'handled', 'accepted'],
    ]);
    const askHuman = records.find((r) => r.kind === 'tool.call' && r.data.tool === 'ask_human')!;
    expect(askHuman.data).toMatchObject({
      outcome: 'handled',
      detail: { questionId: 'q-1', status: 'answered', by: 'sam' },
    });
    expect(asked.seq).toBeLessThan(reply.seq);
    expect(reply.seq).toBeLessThan(askHuman.seq);

    // The question's timer says what it waits for in the Web UI.
    const events = await show(handle.workflowId);
    const timer = events.find((e) => e.timerStartedEventAttributes) as
      { userMetadata?: { summary?: Payload } } | undefined;
    expect(decode(timer?.userMetadata?.summary)).toBe('q-1: answer from sam due in 4h');
    // Model calls name the model that serves them: the scripted one here, once it has answered.
    const summaries = events
      .filter(
        (e) =>
          (e.activityTaskScheduledEventAttributes as { activityType?: { name: string } } | undefined)?.activityType
            ?.name === 'callModel',
      )
      .map((e) => decode((e as { userMetadata?: { summary?: Payload } }).userMetadata?.summary));
    expect(summaries[0]).toBe('researcher: model gpt-4o-mini (requested)');
    expect(summaries.slice(1)).toContain('analyst-desk: model scripted:gpt-4o-mini');
    expect(summaries.filter((s) => s === 'researcher: model gpt-4o-mini')).toEqual([]);
  });

  it('refund-request and support-triage: the approval opened for the call it names, decided by the person', async () => {
    const refund = await h.start(goals['refund-request']!, { customerId: 'c-42', amount: 120, reason: 'damaged' });
    const triage = await h.start(goals['support-triage']!, { ticketId: 'T-1001' });
    for (const [handle, by] of [
      [refund, 'alice'],
      [triage, 'carol'],
    ] as const) {
      await waitFor(handle.workflowId, 'awaiting_approval');
      await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by });
      await handle.result();
      const records = await audit(handle.workflowId);
      const checked = matchRecordByRecord(await show(handle.workflowId), records);
      expect(checked).toMatchObject({ 'approval.opened': 1, 'approval.decision': 1, 'goal.finished': 1 });
      const requested = records.find((r) => r.kind === 'approval.requested')!;
      const ran = records.find((r) => r.kind === 'tool.call' && r.data.approvalId === 'apr-1')!;
      expect(ran.data).toMatchObject({ tool: requested.data.tool, ranActivity: true, callId: requested.data.callId });
    }
  });

  it('infra-provisioning: plan, delegation and a quorum of two, every record against history', async () => {
    const handle = await h.start(goals['infra-provisioning']!, { environment: 'staging' });
    await waitFor(handle.workflowId, 'awaiting_approval');
    for (const by of ['alice', 'bob']) {
      await signedDecide(env.client, handle.workflowId, { approvalId: 'apr-1', decision: 'approve', by });
    }
    await handle.result();
    const records = await audit(handle.workflowId);
    const checked = matchRecordByRecord(await show(handle.workflowId), records);
    expect(checked).toMatchObject({ 'approval.opened': 1, 'approval.decision': 2 });
    expect(records.filter((r) => r.kind === 'tool.call' && r.data.tool === 'delegate')[0]?.data).toMatchObject({
      outcome: 'handled',
      detail: { agents: ['executor', 'executor'] },
    });
  });
});
