/**
 * `baton audit` against the history it claims to report. One goal, on a dev server that suggests continue-as-new
 * after a few dozen events (so the goal spans several runs), does everything an auditor asks about: a tool that
 * fails once and is retried, a tool the agent is not permitted to use, an approval refused to one person (by
 * signal and by update) and granted to another. Its `--format jsonl` trail is then checked, run by run, against
 * `temporal workflow show --output json`: every model call, tool call and decision, in order, with actor and
 * timestamps. Then the hash chain: any edited, dropped or reordered record is named by `baton audit --verify`.
 */
import { goalState } from '../src/client/goals.js';
import { signedDecide, TEST_ISSUER, TEST_KEY, TEST_KID } from './helpers/identity.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BuiltinTool } from '../src/activities/index.js';
import { recordHash, type AuditRecord } from '../src/audit/chain.js';
import { signTrail } from '../src/audit/signature.js';
import { decodeAssertion, generateSigningKey, signatureValid } from '../src/identity/assertion.js';
import type { ScriptInput } from '../src/scripted-model/script.js';
import { baton, temporal } from './helpers/cli.js';
import { createHarness, eventually, type Harness } from './helpers/harness.js';
import { startDevServer } from './helpers/servers.js';

const BLUEPRINT = `
apiVersion: baton/v1
name: audited-refund
description: A refund that exercises every kind of audit record
input: { type: object, properties: { customerId: { type: string } } }
models:
  default: { model: gpt-4o-mini, price: { input: 0.15, output: 0.6 } }
agents:
  billing:
    role: executor
    instructions: Check the order, then refund it.
    tools: [check_order, issue_refund]
  admin:
    role: executor
    instructions: Manage accounts.
    tools: [delete_customer]
entry: billing
tools:
  check_order:
    type: builtin
    sideEffect: none
    retry: { initialInterval: 100ms, maximumAttempts: 3 }
  delete_customer:
    type: builtin
    sideEffect: unsafe
  issue_refund:
    type: http
    method: POST
    url: '\${env:BATON_DEMO_API}/refunds'
    body: { customerId: '{{customerId}}', amount: '{{amount}}' }
    sideEffect: idempotent
    parameters:
      type: object
      required: [customerId, amount]
      properties: { customerId: { type: string }, amount: { type: number } }
    approval: { when: args.amount > 100, approvers: [group:finance], timeout: 7d }
approvers: { finance: [alice] }
budget: { maxSteps: 20 }
`;

const SCRIPT: ScriptInput = {
  goal: 'audited-refund',
  replies: [
    {
      when: { after: 'user' },
      content: 'First I check the order.',
      toolCalls: [{ name: 'check_order', arguments: { orderId: 'o-9001' } }],
    },
    {
      when: { after: 'tool', tool: 'check_order' },
      content: 'The order arrived damaged. I will close the account and refund 120 USD.',
      toolCalls: [
        { name: 'delete_customer', arguments: { customerId: 'c-42' } },
        { name: 'issue_refund', arguments: { customerId: 'c-42', amount: 120 } },
      ],
    },
    {
      when: { after: 'tool', tool: 'issue_refund' },
      content: 'Refunded 120 USD to c-42; closing the account is not mine to do.',
    },
  ],
};

/** Fails the first attempt of each call (keyed by its idempotency key), as a flaky order service would. */
const attempts = new Map<string, number>();
const builtins: Record<string, BuiltinTool> = {
  check_order: {
    description: 'Look an order up',
    schema: z.object({ orderId: z.string() }),
    run: (args: { orderId: string }, ctx) => {
      const n = (attempts.get(ctx.idempotencyKey) ?? 0) + 1;
      attempts.set(ctx.idempotencyKey, n);
      if (n === 1) return Promise.reject(new Error('order service unavailable (the first attempt fails on purpose)'));
      return Promise.resolve({ orderId: args.orderId, state: 'delivered damaged', amount: 120 });
    },
  },
  delete_customer: {
    description: 'Delete a customer',
    schema: z.object({ customerId: z.string() }),
    run: () => Promise.reject(new Error('delete_customer must never run in this test')),
  },
};

let env: TestWorkflowEnvironment;
let h: Harness;
let vars: Record<string, string>;
let dir: string;
let goalId: string;
let records: AuditRecord[];
let jsonl: string;

interface ShownEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  [attributes: string]: unknown;
}

function decode(payload: { metadata?: { encoding?: string }; data?: string } | undefined): unknown {
  if (!payload?.data) return undefined;
  return JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as unknown;
}

async function show(runId: string): Promise<ShownEvent[]> {
  const shown = await temporal([
    'workflow',
    'show',
    '-w',
    goalId,
    '-r',
    runId,
    '--address',
    env.address,
    '--output',
    'json',
  ]);
  expect(shown.code, shown.stderr).toBe(0);
  return (JSON.parse(shown.stdout) as { events: ShownEvent[] }).events;
}

beforeAll(async () => {
  env = await startDevServer({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 24 } });
  h = await createHarness(env, { scripts: [SCRIPT], builtins });
  dir = mkdtempSync(join(tmpdir(), 'baton-audit-test-'));
  writeFileSync(join(dir, 'audited-refund.yaml'), BLUEPRINT);
  // Unsigned exports here (whatever a local `baton dev` left in .baton/); signing has its own test below.
  vars = {
    TEMPORAL_ADDRESS: env.address,
    BATON_TASK_QUEUE: h.taskQueue,
    BATON_USER: 'carol',
    BATON_AUDIT_SIGNING_KEY_FILE: '',
  };

  const started = await baton(
    ['start', join(dir, 'audited-refund.yaml'), '--input', '{"customerId":"c-42"}', '--json'],
    vars,
  );
  expect(started.code, started.stderr).toBe(0);
  goalId = (JSON.parse(started.stdout) as { goalId: string }).goalId;
  await eventually(
    async () => ((await goalState(env.client, goalId)).pendingApprovals.length ? true : undefined),
    'the refund to wait for approval',
  );

  // Refused twice: mallory is not in finance. The signal is recorded in history; the update never reaches it.
  const signalled = await temporal([
    'workflow',
    'signal',
    '-w',
    goalId,
    '--name',
    'approval',
    '--input',
    JSON.stringify({ approvalId: 'apr-1', decision: 'approve', by: 'mallory' }),
    '--address',
    env.address,
  ]);
  expect(signalled.code, signalled.stderr).toBe(0);
  // mallory's own signed decision, through the update: refused (she is not in finance).
  await expect(
    signedDecide(env.client, goalId, { approvalId: 'apr-1', decision: 'approve', by: 'mallory' }),
  ).rejects.toThrow();

  await signedDecide(env.client, goalId, {
    approvalId: 'apr-1',
    decision: 'approve',
    by: 'alice',
    comment: 'order o-9001 checked',
  });

  const watched = await baton(['watch', goalId], vars);
  expect(watched.code, watched.stderr).toBe(0);
  expect(watched.stdout).toMatch(/completed: Refunded 120 USD to c-42/);

  const audited = await baton(['audit', goalId, '--format', 'jsonl'], vars);
  expect(audited.code, audited.stderr).toBe(0);
  jsonl = audited.stdout;
  records = jsonl
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord);
});

afterAll(async () => {
  await h?.close();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function only(kind: string, where: (r: AuditRecord) => boolean = () => true): AuditRecord {
  const found = records.filter((r) => r.kind === kind && where(r));
  expect(found, `exactly one ${kind} record`).toHaveLength(1);
  return found[0]!;
}

describe('baton audit', () => {
  it('follows the goal across its continue-as-new runs, in history order', () => {
    const seal = records.at(-1)!;
    expect(seal).toMatchObject({ kind: 'audit.sealed', data: { status: 'completed', complete: true } });
    const runs = seal.data.runs as string[];
    expect(runs.length).toBeGreaterThan(1);
    expect(records.filter((r) => r.kind === 'run.continued')).toHaveLength(runs.length - 1);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    for (let i = 1; i < records.length - 1; i++) {
      const [a, b] = [records[i - 1]!, records[i]!];
      expect(b.run > a.run || (b.run === a.run && b.eventId >= a.eventId), `record ${b.seq} after ${a.seq}`).toBe(true);
      expect(runs[b.run - 1]).toBe(b.runId);
    }
  });

  it('matches `temporal workflow show` of every run: each model call, tool call and decision, with actor and times', async () => {
    const runs = records.at(-1)!.data.runs as string[];
    const linked: number[] = [];
    for (const [index, runId] of runs.entries()) {
      const events = await show(runId);
      const byId = new Map(events.map((e) => [Number(e.eventId), e]));
      const mine = records.filter((r) => r.run === index + 1);
      const at = (kind: string, eventId: number): AuditRecord | undefined =>
        mine.find((r) => r.kind === kind && r.eventId === eventId);
      for (const e of events) {
        const id = Number(e.eventId);
        const scheduled = e.activityTaskScheduledEventAttributes as
          { activityType: { name: string }; input: { payloads: { data: string }[] } } | undefined;
        if (scheduled && (scheduled.activityType.name === 'callModel' || scheduled.activityType.name === 'runTool')) {
          const input = decode(scheduled.input.payloads[0]) as { agent: string; tool?: string };
          const record = at(scheduled.activityType.name === 'callModel' ? 'model.call' : 'tool.call', id);
          expect(record, `a record for activity event ${id} of run ${index + 1}`).toBeDefined();
          expect(record!.at).toBe(e.eventTime);
          expect(record!.actor).toBe(`agent:${input.agent}`);
          if (input.tool) expect(record!.data.tool).toBe(input.tool);
          const started = events.find(
            (s) =>
              (s.activityTaskStartedEventAttributes as { scheduledEventId?: string } | undefined)?.scheduledEventId ===
              e.eventId,
          );
          const closed = events.find(
            (c) =>
              (c.activityTaskCompletedEventAttributes as { scheduledEventId?: string } | undefined)
                ?.scheduledEventId === e.eventId,
          );
          expect(record!.data.startedAt).toBe(started?.eventTime);
          expect(record!.data.closedAt).toBe(closed?.eventTime);
          expect(record!.data.attempts).toBe(
            (started?.activityTaskStartedEventAttributes as { attempt: number }).attempt,
          );
          expect(record!.events).toEqual([id, Number(started!.eventId), Number(closed!.eventId)]);
          linked.push(record!.seq);
        }
        const signal = e.workflowExecutionSignaledEventAttributes as
          { signalName: string; identity: string; input: { payloads: { data: string }[] } } | undefined;
        if (signal) {
          const payload = decode(signal.input.payloads[0]) as { by: string; approvalId: string };
          const record = at('approval.decision', id);
          expect(record, `a record for signal event ${id}`).toBeDefined();
          // The only signal is mallory's unsigned one: a name claimed, never verified.
          expect(record!).toMatchObject({ at: e.eventTime, actor: `unverified:${payload.by}` });
          expect(record!.data).toMatchObject({
            via: 'signal',
            approvalId: payload.approvalId,
            claimedBy: payload.by,
            clientIdentity: signal.identity,
          });
          linked.push(record!.seq);
        }
        const update = e.workflowExecutionUpdateAcceptedEventAttributes as
          | { acceptedRequest: { meta: { identity: string }; input: { args: { payloads: { data: string }[] } } } }
          | undefined;
        if (update) {
          const payload = decode(update.acceptedRequest.input.args.payloads[0]) as { by: string; comment?: string };
          const done = events.find(
            (c) =>
              (c.workflowExecutionUpdateCompletedEventAttributes as { acceptedEventId?: string } | undefined)
                ?.acceptedEventId === e.eventId,
          );
          const record = at('approval.decision', id);
          expect(record, `a record for update event ${id}`).toBeDefined();
          expect(record!).toMatchObject({ at: e.eventTime, actor: `user:${payload.by}` });
          expect(record!.data).toMatchObject({
            via: 'update',
            comment: payload.comment,
            completedAt: done?.eventTime,
            clientIdentity: update.acceptedRequest.meta.identity,
          });
          linked.push(record!.seq);
        }
      }
      expect(byId.size).toBe(events.length);
    }
    // Every model call, tool call and decision of the history, and in the history's order.
    expect(linked).toEqual([...linked].sort((a, b) => a - b));
    expect(linked.length).toBe(
      records.filter((r) => r.kind === 'model.call' || r.kind === 'approval.decision' || r.data.ranActivity === true)
        .length,
    );
  });

  it('records the pinned blueprint and its hash, and who started the goal', async () => {
    const validated = await baton(['validate', join(dir, 'audited-refund.yaml'), '--json']);
    const hash = (JSON.parse(validated.stdout) as { hash: string }[])[0]!.hash;
    const started = records[0]!;
    // carol started it from the CLI without signing in: an ad hoc start the test's workers allow, labelled unverified.
    expect(started).toMatchObject({ kind: 'goal.started', actor: 'unverified:carol', eventId: 1, run: 1 });
    expect(started.data.starter).toMatchObject({
      fact: 'starter',
      subject: 'carol',
      verified: false,
      blueprint: 'ad hoc',
    });
    expect(started.data).toMatchObject({
      blueprintHash: hash,
      blueprintHashMatches: true,
      input: { customerId: 'c-42' },
      blueprint: { name: 'audited-refund' },
    });
    expect(String(started.data.identity)).toMatch(/^baton-cli:carol@/);
  });

  it('shows model calls with tokens, cost, the tool calls chosen and the stated reason', () => {
    const calls = records.filter((r) => r.kind === 'model.call');
    expect(calls).toHaveLength(3);
    expect(calls[1]!.data).toMatchObject({
      agent: 'billing',
      model: 'gpt-4o-mini',
      reason: 'The order arrived damaged. I will close the account and refund 120 USD.',
      toolCalls: [
        { name: 'delete_customer', arguments: { customerId: 'c-42' } },
        { name: 'issue_refund', arguments: { customerId: 'c-42', amount: 120 } },
      ],
    });
    for (const c of calls) {
      const tokens = c.data.tokens as { input: number; output: number };
      expect(tokens.input).toBeGreaterThan(0);
      expect(c.data.costUsd).toBeCloseTo((tokens.input * 0.15 + tokens.output * 0.6) / 1e6, 12);
    }
  });

  it('shows the retried tool with its attempts and the failure that was retried', () => {
    const check = only('tool.call', (r) => r.data.tool === 'check_order');
    expect(check.data).toMatchObject({ outcome: 'ran', attempts: 2, ranActivity: true, args: { orderId: 'o-9001' } });
    expect((check.data.lastFailure as { message: string }).message).toContain('first attempt fails on purpose');
    expect((check.data.result as { output: string }).output).toContain('delivered damaged');
    expect(check.data.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('shows the refused tool: chosen by the agent, never run, refused by the rules', () => {
    const refused = only('tool.call', (r) => r.data.tool === 'delete_customer');
    expect(refused).toMatchObject({ actor: 'agent:billing' });
    expect(refused.data).toMatchObject({
      outcome: 'refused',
      ranActivity: false,
      toolDefined: true,
      agentPermitted: false,
      decidedBy: 'baton',
      args: { customerId: 'c-42' },
    });
    expect(String(refused.data.told)).toContain('not permitted to use delete_customer');
    const approval = only('approval.requested');
    expect(refused.seq).toBeLessThan(approval.seq);
  });

  it('shows the approval: who could decide, the refused attempt, the decision and the tool it released', () => {
    const requested = only('approval.requested');
    expect(requested).toMatchObject({ actor: 'agent:billing' });
    expect(requested.data).toMatchObject({
      approvalId: 'apr-1',
      tool: 'issue_refund',
      args: { customerId: 'c-42', amount: 120 },
      eligible: ['alice'],
      reason: 'The order arrived damaged. I will close the account and refund 120 USD.',
    });
    // The unsigned signal names mallory: a claim, labelled so, with the workflow's own verdict on it.
    const bySignal = only('approval.decision', (r) => r.data.via === 'signal');
    expect(bySignal).toMatchObject({ actor: 'unverified:mallory' });
    expect(bySignal.data).toMatchObject({
      outcome: 'refused',
      approvalId: 'apr-1',
      by: null,
      claimedBy: 'mallory',
      assertion: null,
      verification: { status: 'refused' },
      derived: 'the verdict the workflow recorded',
    });
    expect(String(bySignal.data.refusal)).toMatch(/assertion/);
    const byUpdate = only('approval.decision', (r) => r.data.via === 'update');
    expect(byUpdate).toMatchObject({ actor: 'user:alice' });
    expect(byUpdate.data).toMatchObject({
      outcome: 'accepted',
      decision: 'approve',
      by: 'alice',
      comment: 'order o-9001 checked',
      approvalStatus: 'approved',
      verification: { status: 'verified', subject: 'alice', issuer: TEST_ISSUER, keyId: TEST_KID },
    });
    // The raw assertion is kept: it verifies offline with the issuer's public key, and names the same assertion id.
    const verification = byUpdate.data.verification as { assertionId: string };
    const decoded = decodeAssertion(byUpdate.data.assertion);
    if (typeof decoded === 'string') throw new Error(decoded);
    expect(signatureValid(TEST_KEY.publicKey, decoded.signingInput, decoded.signature)).toBe(true);
    expect(decoded.claims).toMatchObject({ sub: 'alice', jti: verification.assertionId, target: 'apr-1' });
    // The client identity Temporal records is the sender's own claim (here the test's client), never who decided.
    expect(String(byUpdate.data.clientIdentity)).toMatch(/\S/);
    expect(String(byUpdate.data.clientIdentityIs)).toMatch(/^client-declared/);
    const refund = only('tool.call', (r) => r.data.tool === 'issue_refund');
    expect(refund.data).toMatchObject({ outcome: 'ran', approvalId: 'apr-1' });
    expect(requested.seq).toBeLessThan(bySignal.seq);
    expect(bySignal.seq).toBeLessThan(byUpdate.seq);
    expect(byUpdate.seq).toBeLessThan(refund.seq);
  });

  it('ends with the result', () => {
    const finished = only('goal.finished');
    expect(finished.data.status).toBe('completed');
    expect(finished.data.answer).toBe('Refunded 120 USD to c-42; closing the account is not mine to do.');
    expect(records.at(-2)).toEqual(finished);
  });

  it('renders the same trail as a table, as Markdown and as a JSON array', async () => {
    const table = await baton(['audit', goalId], vars);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^goal {7}.* \(audited-refund\)$/m);
    expect(table.stdout).toContain('matches the pinned definition');
    expect(table.stdout).toMatch(/unverified:mallory +approval\.decision +mallory tried to approve apr-1 \(signal\)/);
    expect(table.stdout).not.toContain('\u001b['); // not a terminal: no colour
    const md = await baton(['audit', goalId, '--format', 'md'], vars);
    expect(md.stdout).toContain(`# Audit trail of goal \`${goalId}\``);
    expect(md.stdout).toContain(`**Head hash**: \`${records.at(-1)!.hash}\``);
    expect(md.stdout.split('\n').filter((l) => /^\| \d+ \|/.test(l))).toHaveLength(records.length);
    const asJson = await baton(['audit', goalId, '--json'], vars);
    expect(JSON.parse(asJson.stdout)).toEqual(records);
    // `baton watch --json` streams the very records the export holds, seal included once the goal has ended.
    const watched = await baton(['watch', goalId, '--json'], vars);
    expect(watched.stdout).toBe(jsonl);
  });
});

describe('baton audit --verify', () => {
  const write = (name: string, lines: string[]): string => {
    const file = join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };
  const lines = (): string[] => jsonl.trim().split('\n');

  it('accepts the export, alone and against the goal on the server', async () => {
    const file = write('trail.jsonl', lines());
    const alone = await baton(['audit', '--verify', file]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toContain(`${records.length} records of goal ${goalId}, chain intact`);
    expect(alone.stdout).toContain(records.at(-1)!.hash);
    const against = await baton(['audit', goalId, '--verify', file], vars);
    expect(against.code, against.stderr).toBe(0);
    expect(against.stdout).toContain('identical to the history');
    expect(await readFile(file, 'utf8')).toBe(`${jsonl.trim()}\n`);
  });

  it('names an edited record', async () => {
    const edited = lines();
    const n = only('approval.decision', (r) => r.data.via === 'update').seq;
    edited[n - 1] = edited[n - 1]!.replace('"by":"alice"', '"by":"bob"');
    const r = await baton(['audit', '--verify', write('edited.jsonl', edited), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, record: n });
    const human = await baton(['audit', '--verify', join(dir, 'edited.jsonl')]);
    expect(human.stderr).toMatch(new RegExp(`record ${n} \\(approval\\.decision, seq ${n}\\) was edited`));
  });

  it('names where a record was dropped, or records were reordered, or the end was cut off', async () => {
    const dropped = lines();
    dropped.splice(4, 1);
    const d = await baton(['audit', '--verify', write('dropped.jsonl', dropped)]);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('record 5 carries seq 6: records were dropped before it');

    const swapped = lines();
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const s = await baton(['audit', '--verify', write('swapped.jsonl', swapped)]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('record 3 carries seq 4');

    const cut = lines().slice(0, -2);
    const c = await baton(['audit', '--verify', write('cut.jsonl', cut)]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain(`ends at record ${records.length - 2} without its seal`);
  });

  it('catches a rewritten chain when checked against the server', async () => {
    // A forger who edits a record and recomputes every hash after it passes the offline check, not the server's.
    const forged = lines().map((l) => JSON.parse(l) as AuditRecord);
    const n = only('approval.decision', (r) => r.data.via === 'update').seq;
    forged[n - 1]!.data = { ...forged[n - 1]!.data, comment: 'approved without looking' };
    let prev = forged[0]!.prev;
    for (const r of forged) {
      r.prev = prev;
      r.hash = recordHash(r);
      prev = r.hash;
    }
    const file = write(
      'forged.jsonl',
      forged.map((r) => JSON.stringify(r)),
    );
    expect((await baton(['audit', '--verify', file])).code).toBe(0);
    const against = await baton(['audit', goalId, '--verify', file], vars);
    expect(against.code).toBe(1);
    expect(against.stderr).toContain(`record ${n} (approval.decision) differs from the goal's history on the server`);
  });

  it('signs the export, and the signature catches a re-chained file offline', async () => {
    const key = generateSigningKey();
    const keyFile = join(dir, 'audit-key');
    const pubFile = join(dir, 'audit-key.pub');
    writeFileSync(keyFile, `${key.privateKey}\n`, { mode: 0o600 });
    writeFileSync(pubFile, `${key.publicKey}\n`);
    const exported = await baton(['audit', goalId, '--format', 'jsonl'], {
      ...vars,
      BATON_AUDIT_SIGNING_KEY_FILE: keyFile,
      BATON_AUDIT_SIGNING_KEY_ID: 'audit-2026',
    });
    expect(exported.code, exported.stderr).toBe(0);
    const signed = exported.stdout.trim().split('\n');
    expect(signed.slice(0, -1)).toEqual(lines()); // the chain is the unsigned export's, the head unchanged
    expect(JSON.parse(signed.at(-1)!)).toMatchObject({
      kind: 'audit.signature',
      goalId,
      records: records.length,
      head: records.at(-1)!.hash,
      kid: 'audit-2026',
      publicKey: key.publicKey,
    });
    const file = write('signed.jsonl', signed);
    const ok = await baton(['audit', '--verify', file, '--public-key', pubFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('signed by key audit-2026, signature valid');
    const against = await baton(['audit', goalId, '--verify', file, '--public-key', key.publicKey], vars);
    expect(against.code, against.stderr).toBe(0);
    const unchecked = await baton(['audit', '--verify', file], { BATON_AUDIT_PUBLIC_KEY: '' });
    expect(unchecked.stdout).toContain('NOT checked');

    // The forger edits a decision and recomputes every hash: the chain holds, the signature does not.
    const forged = signed.slice(0, -1).map((l) => JSON.parse(l) as AuditRecord);
    const n = only('approval.decision', (r) => r.data.via === 'update').seq;
    forged[n - 1]!.data = { ...forged[n - 1]!.data, comment: 'approved without looking' };
    let prev = forged[0]!.prev;
    for (const r of forged) {
      r.prev = prev;
      r.hash = recordHash(r);
      prev = r.hash;
    }
    const rechained = forged.map((r) => JSON.stringify(r));
    const kept = write('rechained.jsonl', [...rechained, signed.at(-1)!]);
    expect((await baton(['audit', '--verify', kept], { BATON_AUDIT_PUBLIC_KEY: '' })).code).toBe(0);
    const caught = await baton(['audit', '--verify', kept, '--public-key', pubFile]);
    expect(caught.code).toBe(1);
    expect(caught.stderr).toContain('the trail was edited and re-chained after it was signed');

    // Re-signed with the forger's own key: named as signed by another key.
    const mallory = generateSigningKey();
    const resigned = signTrail(goalId, forged.length, forged.at(-1)!.hash, {
      kid: 'audit-2026',
      privateKey: mallory.privateKey,
    });
    const other = await baton([
      'audit',
      '--verify',
      write('resigned.jsonl', [...rechained, JSON.stringify(resigned)]),
      '--public-key',
      pubFile,
    ]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('not by the key given');

    // Asked for a signature, an unsigned file fails.
    const unsigned = await baton(['audit', '--verify', write('unsigned.jsonl', lines()), '--public-key', pubFile]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('the file is not signed');
  });

  it('names a missing file and a goal that does not exist', async () => {
    const missing = await baton(['audit', '--verify', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^baton: cannot read .*nope\.jsonl/);
    const unknown = await baton(['audit', 'no-such-goal'], vars);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('baton: no goal with id no-such-goal; `baton list` shows the goals');
  });
});
