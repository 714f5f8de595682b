/**
 * The gateway's work against Temporal: what waits on a person across goals (from `BatonApprovers` and each goal's
 * `state` query; a goal whose query fails is named and skipped), and decisions, answers and starts delivered with
 * an assertion the gateway signs for the signed-in person.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { LoadedBlueprint } from '../blueprint/load.js';
import { approvalRequestHash, questionRequestHash, startRequestHash } from '../identity/assertion.js';
import { batonGroups, type TrustSnapshot } from '../identity/trust.js';
import {
  decideUpdate,
  replyUpdate,
  stateQuery,
  type ApprovalRecord,
  type GoalArgs,
  type GoalState,
  type QuestionRecord,
} from '../workflows/definitions.js';
import { startSearchAttributes } from '../workflows/search-attributes.js';
import { inlineValue } from '../workflows/summaries.js';
import { goalDetails } from '../client/goal-details.js';
import { checkInput } from '../client/input.js';
import type { Person } from './sessions.js';
import type { AssertionSigner } from './signer.js';

/** A refusal to show the person: the workflow's reason or the gateway's. */
export class DeskError extends Error {
  override readonly name = 'DeskError';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One pending approval, as the inbox shows it. */
export interface InboxApproval extends ApprovalRecord {
  goalId: string;
  goal: string;
  startedBy: string;
}

/** One pending question, as the inbox shows it. */
export interface InboxQuestion extends QuestionRecord {
  goalId: string;
  goal: string;
}

/** What waits on a person, and the goals that could not be read. */
export interface Inbox {
  approvals: InboxApproval[];
  questions: InboxQuestion[];
  failures: { goalId: string; error: string }[];
}

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie/i;

/** Argument values whose names suggest a secret, replaced before they are shown. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return '…';
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '••••••' : maskSecrets(v, depth + 1)]),
    );
  }
  return value;
}

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** True when an approver list (`alice`, `group:finance`, `*`) with its resolved names names the person. */
function names(
  refs: readonly string[],
  eligible: readonly string[],
  subject: string,
  groups: readonly string[],
): boolean {
  return (
    eligible.includes(subject) ||
    eligible.includes('*') ||
    refs.some((r) => r === '*' || r === subject || (r.startsWith('group:') && groups.includes(r.slice(6))))
  );
}

/** The gateway's Temporal side. */
export class Desk {
  constructor(
    private readonly client: Client,
    private readonly signer: AssertionSigner,
    private readonly trust: () => TrustSnapshot,
    private readonly taskQueue: string,
  ) {}

  /** The Baton groups a person holds under the operator's mapping. */
  groupsOf(person: Person): string[] {
    return batonGroups(this.trust(), person.idpGroups);
  }

  /** What waits on a person across running goals, or in one goal. */
  async inbox(person: Person, goalId?: string): Promise<Inbox> {
    const groups = this.groupsOf(person);
    const ids: string[] = [];
    if (goalId) ids.push(goalId);
    else {
      const refs = [person.subject, '*', ...groups.map((g) => `group:${g}`)].map((r) => `'${escapeQuery(r)}'`);
      const query =
        "WorkflowType = 'goalWorkflow' AND ExecutionStatus = 'Running' AND " +
        `BatonStatus IN ('awaiting_approval', 'awaiting_reply') AND BatonApprovers IN (${refs.join(', ')})`;
      for await (const wf of this.client.workflow.list({ query })) ids.push(wf.workflowId);
    }
    const inbox: Inbox = { approvals: [], questions: [], failures: [] };
    for (const id of ids) {
      let state: GoalState;
      try {
        state = await this.client.workflow.getHandle(id).query(stateQuery);
      } catch (err) {
        inbox.failures.push({ goalId: id, error: (err as Error).message.split('\n')[0] ?? 'query failed' });
        continue;
      }
      for (const a of state.pendingApprovals ?? []) {
        if (a.status !== 'pending' || a.votes.some((v) => v.by === person.subject)) continue;
        if (!names(a.approvers, a.eligible, person.subject, groups)) continue;
        inbox.approvals.push({
          ...a,
          args: maskSecrets(a.args),
          goalId: id,
          goal: state.goal,
          startedBy: state.startedBy,
        });
      }
      for (const q of state.pendingQuestions ?? []) {
        if (q.status === 'pending' && names(q.to, q.eligible, person.subject, groups)) {
          inbox.questions.push({ ...q, goalId: id, goal: state.goal });
        }
      }
    }
    inbox.approvals.sort((a, b) => a.openedAt.localeCompare(b.openedAt));
    inbox.questions.sort((a, b) => a.askedAt.localeCompare(b.askedAt));
    return inbox;
  }

  /** The running goal's state and first run id, which assertions are bound to. */
  private async target(goalId: string): Promise<{ state: GoalState; run: string }> {
    const handle = this.client.workflow.getHandle(goalId);
    let desc;
    try {
      desc = await handle.describe();
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError') {
        throw new DeskError(`no goal with id ${goalId}; \`baton list\` shows the goals`, 404);
      }
      throw err;
    }
    if (desc.status.name !== 'RUNNING') {
      throw new DeskError(
        `goal ${goalId} has already finished (${desc.status.name.toLowerCase()}); nothing to decide`,
        409,
      );
    }
    const run = desc.raw.workflowExecutionInfo?.firstRunId || desc.runId;
    return { state: await handle.query(stateQuery), run };
  }

  private async update<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new DeskError(err.cause?.message ?? err.message, 403);
      throw err;
    }
  }

  /** Signs and delivers a person's vote through the `decide` update; the workflow verifies it and may refuse. */
  async decide(
    person: Person,
    goalId: string,
    approvalId: string,
    decision: 'approve' | 'reject',
    comment?: string,
  ): Promise<ApprovalRecord> {
    const { state, run } = await this.target(goalId);
    const record = state.pendingApprovals.find((a) => a.id === approvalId);
    if (!record) {
      const open = state.pendingApprovals.map((a) => a.id).join(', ') || 'none';
      throw new DeskError(`goal ${goalId} has no pending approval ${approvalId}; pending: ${open}`, 404);
    }
    const { assertion } = this.signer.sign(person, {
      kind: 'decision',
      goal: goalId,
      run,
      target: approvalId,
      request: approvalRequestHash(record),
      decision,
      ...(comment ? { comment } : {}),
    });
    const payload = { approvalId, decision, by: person.subject, assertion, ...(comment ? { comment } : {}) };
    return this.update(() => this.client.workflow.getHandle(goalId).executeUpdate(decideUpdate, { args: [payload] }));
  }

  /** Signs and delivers a person's answer through the `reply` update. */
  async reply(person: Person, goalId: string, questionId: string, answer: string): Promise<QuestionRecord> {
    const { state, run } = await this.target(goalId);
    const q = state.pendingQuestions.find((x) => x.id === questionId);
    if (!q) throw new DeskError(`goal ${goalId} has no pending question ${questionId}`, 404);
    const { assertion } = this.signer.sign(person, {
      kind: 'reply',
      goal: goalId,
      run,
      target: questionId,
      request: questionRequestHash(q),
      answer,
    });
    const payload = { questionId, answer, by: person.subject, assertion };
    return this.update(() => this.client.workflow.getHandle(goalId).executeUpdate(replyUpdate, { args: [payload] }));
  }

  /**
   * Starts a goal for a person, with a signed start assertion naming them as the starter. The blueprint is a
   * registered one (by name, and version when several are registered), or an ad hoc one where the operator allows.
   */
  async start(
    person: Person,
    blueprint: { registered: { loaded: LoadedBlueprint; name: string; version: string } } | { adHoc: LoadedBlueprint },
    input: unknown,
    id?: string,
  ): Promise<{ goalId: string; runId: string }> {
    const loaded = 'registered' in blueprint ? blueprint.registered.loaded : blueprint.adHoc;
    const bp = loaded.blueprint;
    let checked: unknown;
    try {
      checked = checkInput(loaded, input);
    } catch (err) {
      throw new DeskError((err as Error).message);
    }
    const goalId = id ?? `${bp.name}-${randomBytes(4).toString('hex')}`;
    const target = 'registered' in blueprint ? `${bp.name}@${blueprint.registered.version}` : `${bp.name}@adhoc`;
    const { assertion } = this.signer.sign(person, {
      kind: 'start',
      goal: goalId,
      run: '',
      target,
      request: startRequestHash({ blueprintHash: loaded.hash, input: checked }),
    });
    const args: GoalArgs & { startAssertion: string } = {
      blueprint: bp,
      input: checked,
      blueprintHash: loaded.hash,
      startedBy: person.subject,
      startAssertion: assertion,
    };
    try {
      const handle = await this.client.workflow.start('goalWorkflow', {
        workflowId: goalId,
        taskQueue: this.taskQueue,
        args: [args],
        staticSummary: `${bp.name}: ${inlineValue(checked ?? {}, 100)}`,
        staticDetails: goalDetails(bp, loaded.hash, person.subject, goalId),
        typedSearchAttributes: startSearchAttributes(bp.name),
      });
      return { goalId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') {
        throw new DeskError(`a goal with id ${goalId} already exists; choose another id`, 409);
      }
      throw err;
    }
  }
}
