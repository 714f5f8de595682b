/**
 * Typed client helpers behind the CLI: start goals, read their state, find and decide approvals. Just over 300
 * lines: each helper is small, and the CLI commands, the gateway and the tests share them from one place.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
  type WorkflowExecutionDescription,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { LoadedBlueprint } from '../blueprint/load.js';
import { configuredDataConverter, DEV_PAYLOAD_STORE } from '../codec/data-converter.js';
import { GoalCommandError } from './errors.js';
import { goalDetails } from './goal-details.js';
import { checkInput } from './input.js';
import type { BatonConfig } from '../config.js';
import { connectionOptions } from '../connection.js';
import { waitsOn } from '../workflows/approvals.js';
import { clientTracingInterceptors } from '../observability/tracing.js';
import { inlineValue } from '../workflows/summaries.js';
import {
  decideUpdate,
  replyUpdate,
  type HumanReply,
  type QuestionRecord,
  stateQuery,
  type ApprovalDecision,
  type ApprovalRecord,
  type GoalArgs,
  type GoalState,
} from '../workflows/definitions.js';
import type { goalWorkflow } from '../workflows/goal.js';
import { BatonGoal, BatonStatus, startSearchAttributes } from '../workflows/search-attributes.js';

export { GoalCommandError };

/**
 * The identity the CLI gives Temporal: it is recorded in history beside every start, signal, update and
 * cancellation, so the audit shows which client acted as well as whom the decision names.
 */
export function clientIdentity(config: BatonConfig): string {
  return `baton-cli:${config.user}@${hostname()}`;
}

/** Connects a client, turning an unreachable server into a message that says how to get one. */
export async function connectClient(config: BatonConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: '5s' });
    return new Client({
      connection,
      namespace: config.namespace,
      identity: clientIdentity(config),
      dataConverter: configuredDataConverter({
        ...config,
        // `baton dev` keeps large payloads in .baton/payloads; commands run beside it read them without a setting.
        ...(config.payloadStore || !existsSync(DEV_PAYLOAD_STORE) ? {} : { payloadStore: DEV_PAYLOAD_STORE }),
      }),
      interceptors: { workflow: await clientTracingInterceptors() },
    });
  } catch (err) {
    throw new GoalCommandError(
      `cannot reach Temporal at ${config.address} (${(err as Error).message.split('\n')[0]}): start one with \`baton dev\`, or set TEMPORAL_ADDRESS`,
      'unreachable',
    );
  }
}

/** The Web UI page of a goal. */
export function goalUrl(config: BatonConfig, goalId: string): string {
  return `${config.uiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(goalId)}`;
}

/** Which server and namespace a client asks, for messages: `localhost:7233, namespace default`. */
export function serverOf(client: Client): string {
  const address = (client.connection as Partial<Connection>).options?.address ?? '?';
  return `${address}, namespace ${client.options.namespace}`;
}

export interface StartGoalOptions {
  loaded: LoadedBlueprint;
  input: unknown;
  id?: string;
  /**
   * Allow `id` to name a goal that existed and closed (`--reuse-id`). Without it an id is used once: a new goal
   * under an old id would be a different execution that tools could mistake for the old one.
   */
  reuseId?: boolean;
  startedBy: string;
  /** The gateway's signed start assertion (`baton serve` signs one for a signed-in person); none: an ad hoc start. */
  startAssertion?: string;
  taskQueue: string;
}

/** Temporal's default limit for one payload (the server's `limit.blobSize.error`); larger starts are refused. */
export const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

/** Starts a goal workflow; the blueprint is pinned in its first event. */
export async function startGoal(
  client: Client,
  opts: StartGoalOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof goalWorkflow>> {
  const input = checkInput(opts.loaded, opts.input);
  const bp = opts.loaded.blueprint;
  const workflowId = opts.id ?? `${bp.name}-${randomBytes(4).toString('hex')}`;
  const args: GoalArgs = {
    blueprint: bp,
    input,
    blueprintHash: opts.loaded.hash,
    startedBy: opts.startedBy,
    ...(opts.startAssertion ? { startAssertion: opts.startAssertion } : {}),
  };
  const size = Buffer.byteLength(JSON.stringify(args));
  if (size > MAX_PAYLOAD_BYTES) {
    throw new GoalCommandError(
      `the goal's blueprint and input take ${(size / 1048576).toFixed(1)} MB; Temporal refuses payloads over ` +
        `${MAX_PAYLOAD_BYTES / 1048576} MB: pass large data by reference (a URL or object key) in the input`,
    );
  }
  try {
    return await client.workflow.start<typeof goalWorkflow>('goalWorkflow', {
      workflowId,
      taskQueue: opts.taskQueue,
      workflowIdReusePolicy: opts.reuseId ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      args: [args],
      staticSummary: `${bp.name}: ${inlineValue(input ?? {}, 100)}`,
      staticDetails: goalDetails(bp, opts.loaded.hash, opts.startedBy, workflowId),
      typedSearchAttributes: startSearchAttributes(bp.name),
    });
  } catch (err) {
    if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') {
      throw new GoalCommandError(
        opts.reuseId
          ? `a goal with id ${workflowId} is still running; choose another --id`
          : `a goal with id ${workflowId} exists or existed; choose another --id, or pass --reuse-id to start a new goal under a closed goal's id`,
        'exists',
      );
    }
    throw err;
  }
}

async function withGoal<T>(client: Client, goalId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err as Error).name === 'WorkflowNotFoundError') {
      throw new GoalCommandError(
        `no goal with id ${goalId} on ${serverOf(client)}; \`baton list\` shows the goals there ` +
          '(TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE choose the server)',
        'not_found',
      );
    }
    throw err;
  }
}

/** The `state` query of a goal. */
export async function goalState(client: Client, goalId: string): Promise<GoalState> {
  return withGoal(client, goalId, () => client.workflow.getHandle(goalId).query(stateQuery));
}

/** What Temporal says about a goal's execution (its pending activities among it). */
export async function describeGoal(client: Client, goalId: string): Promise<WorkflowExecutionDescription> {
  return withGoal(client, goalId, () => client.workflow.getHandle(goalId).describe());
}

/** One row of `baton list`. */
export interface GoalRow {
  id: string;
  goal: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

/** Goals on the task queue's server, newest first, optionally filtered by status. */
export async function listGoals(client: Client, opts: { status?: string; limit?: number } = {}): Promise<GoalRow[]> {
  const clauses = ["WorkflowType = 'goalWorkflow'"];
  if (opts.status) clauses.push(`BatonStatus = '${escapeQuery(opts.status)}'`);
  const rows: GoalRow[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    rows.push({
      id: wf.workflowId,
      goal: String(wf.typedSearchAttributes.get(BatonGoal) ?? '?'),
      status: String(wf.typedSearchAttributes.get(BatonStatus) ?? wf.status.name.toLowerCase()),
      startTime: wf.startTime.toISOString(),
      ...(wf.closeTime ? { closeTime: wf.closeTime.toISOString() } : {}),
    });
    if (rows.length >= (opts.limit ?? 100)) break;
  }
  return rows;
}

/** A pending approval together with its goal. */
export interface PendingApproval extends ApprovalRecord {
  goalId: string;
  goal: string;
}

/** A pending question together with its goal. */
export interface PendingQuestion extends QuestionRecord {
  goalId: string;
  goal: string;
}

/** What waits on a person: approvals to decide and questions to answer. */
export interface Waiting {
  approvals: PendingApproval[];
  questions: PendingQuestion[];
}

/**
 * Pending approvals and questions that wait on `user` (allowed, not yet voted or answered), in one goal or across
 * goals (via `BatonStatus` and `BatonApprovers`).
 */
export async function waitingOnUser(client: Client, user: string, goalId?: string): Promise<Waiting> {
  const ids: string[] = [];
  if (goalId) {
    ids.push(goalId);
  } else {
    const query =
      "WorkflowType = 'goalWorkflow' AND BatonStatus IN ('awaiting_approval', 'awaiting_reply') AND " +
      `BatonApprovers IN ('${escapeQuery(user)}', '*')`;
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
  }
  const approvals: PendingApproval[] = [];
  const questions: PendingQuestion[] = [];
  for (const id of ids) {
    const state = await goalState(client, id);
    for (const a of state.pendingApprovals) {
      if (waitsOn(a, user)) approvals.push({ ...a, goalId: id, goal: state.goal });
    }
    for (const q of state.pendingQuestions ?? []) {
      if (q.eligible.includes(user) || q.eligible.includes('*')) questions.push({ ...q, goalId: id, goal: state.goal });
    }
  }
  approvals.sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  questions.sort((a, b) => a.askedAt.localeCompare(b.askedAt));
  return { approvals, questions };
}

/** Pending approvals that wait on `user` (allowed, not yet voted), in one goal or across goals. */
export async function pendingApprovals(client: Client, user: string, goalId?: string): Promise<PendingApproval[]> {
  return (await waitingOnUser(client, user, goalId)).approvals;
}

/** Requests cancellation of a running goal; a finished or unknown goal is a clear error. */
export async function cancelGoal(client: Client, goalId: string): Promise<void> {
  const handle = client.workflow.getHandle(goalId);
  await withGoal(client, goalId, async () => {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') {
      throw new GoalCommandError(
        `goal ${goalId} has already finished (${desc.status.name.toLowerCase()}); nothing to cancel`,
        'finished',
      );
    }
    await handle.cancel();
  });
}

/** Decides an approval through the `decide` update; a refusal comes back with the workflow's reason. */
export async function decideApproval(
  client: Client,
  goalId: string,
  decision: ApprovalDecision,
): Promise<ApprovalRecord> {
  return humanUpdate(client, goalId, 'decide', (h) => h.executeUpdate(decideUpdate, { args: [decision] }));
}

/** Answers an agent's `ask_human` question through the `reply` update; a refusal comes back with the reason. */
export async function replyToQuestion(client: Client, goalId: string, reply: HumanReply): Promise<QuestionRecord> {
  return humanUpdate(client, goalId, 'answer', (h) => h.executeUpdate(replyUpdate, { args: [reply] }));
}

/** Runs a person's update on a running goal, naming an unknown or finished goal and the workflow's refusal. */
async function humanUpdate<T>(
  client: Client,
  goalId: string,
  what: string,
  send: (handle: WorkflowHandle) => Promise<T>,
): Promise<T> {
  const handle = client.workflow.getHandle(goalId);
  return withGoal(client, goalId, async () => {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') {
      throw new GoalCommandError(
        `goal ${goalId} has already finished (${desc.status.name.toLowerCase()}); nothing to ${what}`,
        'finished',
      );
    }
    try {
      return await send(handle);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new GoalCommandError(`refused: ${err.cause?.message ?? err.message}`, 'refused');
      }
      throw err;
    }
  });
}
