/**
 * The goal workflow's public surface: its argument, state, signals, queries and updates. Defined once here and
 * imported by the workflow and by the CLI, so the two can never disagree on a name or a payload.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Blueprint } from '../blueprint/schema.js';

/** The single argument of `goalWorkflow` (DESIGN §2.1). */
export interface GoalArgs {
  blueprint: Blueprint;
  input: unknown;
  blueprintHash: string;
  startedBy: string;
  /** Carried by continue-as-new; absent on a goal's first run. */
  carried?: CarriedState;
}

export type GoalStatus = 'running' | 'awaiting_approval' | 'completed' | 'failed' | 'cancelled';

/** A human decision, as sent through the `approval` signal or the `decide` update. */
export interface ApprovalDecision {
  approvalId: string;
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
}

export interface Vote {
  by: string;
  decision: 'approve' | 'reject';
  comment?: string;
  at: string;
  via: 'signal' | 'update';
}

/** `cancelled`: the goal was cancelled while the approval waited. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'timed_out' | 'cancelled';

/** One approval: what is asked, of whom, and what became of it. */
export interface ApprovalRecord {
  id: string;
  /** The tool the agent wants to run, or `budget` for a budget extension. */
  tool: string;
  args: unknown;
  /** What the agent said when it asked. */
  reason: string;
  /** The agent that asked. */
  requestedBy: string;
  /** Approver references (users, group:NAME, *) who may act now, escalations included. */
  approvers: string[];
  /** The same, with groups resolved to user names: what `BatonApprovers` holds. */
  eligible: string[];
  quorum: number;
  votes: Vote[];
  status: ApprovalStatus;
  openedAt: string;
  deadline?: string;
  decidedAt?: string;
  /** What happened while it waited: reminders, escalations, the timeout, notifications that could not be sent. */
  events: ApprovalEvent[];
}

/** One entry of an approval's own log. `to` names who a reminder or escalation was for. */
export interface ApprovalEvent {
  kind: 'reminder' | 'escalation' | 'timeout' | 'notification_failed';
  at: string;
  to?: string[];
  /** For a timeout, what the policy did; for a failed notification, which one and why. */
  detail?: string;
}

/** A decision that changed nothing, kept as evidence. */
export interface RefusedDecision {
  approvalId: string;
  by: string;
  decision: string;
  reason: string;
  at: string;
  via: 'signal' | 'update';
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** How a goal ended. */
export interface GoalResult {
  status: 'completed' | 'failed' | 'cancelled';
  answer?: string;
  reason?: string;
  approvals: { id: string; tool: string; status: ApprovalStatus; by: string[]; comments: string[] }[];
  usage: Usage;
  steps: number;
}

/** What the `state` query returns (DESIGN §2.1). */
export interface GoalState {
  goal: string;
  status: GoalStatus;
  agent: string;
  step: number;
  pendingApprovals: ApprovalRecord[];
  approvals: ApprovalRecord[];
  refusedDecisions: RefusedDecision[];
  usage: Usage;
  startedBy: string;
  result?: GoalResult;
}

/** What continue-as-new carries into the next run. */
export interface CarriedState {
  agent: string;
  step: number;
  usage: Usage;
  approvals: ApprovalRecord[];
  refusedDecisions: RefusedDecision[];
  messages: ChatMessage[];
}

/** A tool call the model asked for. `arguments` is the model's raw JSON text. */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

/** The transcript the workflow keeps, independent of any SDK's types. */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCallRequest[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** Signal `approval`: decides an approval; an invalid one is recorded as refused and changes nothing. */
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');
/** Update `decide`: decides an approval; its validator refuses invalid decisions with the reason. */
export const decideUpdate = defineUpdate<ApprovalRecord, [ApprovalDecision]>('decide');
/** Query `state`: the goal's current state. */
export const stateQuery = defineQuery<GoalState>('state');
