/**
 * The goal workflow's public surface: its argument, state, signals, queries and updates. Defined once here and
 * imported by the workflow and by the CLI, so the two can never disagree on a name or a payload.
 *
 * Over 300 lines on purpose: it is the one contract file (DESIGN §2.1, §6 "defined once, beside the workflow"),
 * nearly all of it type declarations with their documentation, read top to bottom as the goal's data model. The
 * audit's facts live beside it in facts.ts; behaviour never goes here.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PinnedMcp } from '../blueprint/mcp.js';
import type { Blueprint } from '../blueprint/schema.js';

/** The single argument of `goalWorkflow` (DESIGN §2.1). */
export interface GoalArgs {
  blueprint: Blueprint;
  input: unknown;
  blueprintHash: string;
  /** A display hint; the verified starter comes from `startAssertion` (see `GoalState.starter`). */
  startedBy: string;
  /** The gateway's signed start assertion (DESIGN §2.1); a delegated task carries its root goal's. */
  startAssertion?: string;
  /** Carried by continue-as-new; absent on a goal's first run. */
  carried?: CarriedState;
  /** Present when this goal is a sub-task a parent goal delegated to one of its agents. */
  task?: DelegatedTask;
}

/** What a parent goal gives a child goal it delegates a sub-task to. */
export interface DelegatedTask {
  parentId: string;
  /** `t-1`, `t-2`... in the parent. */
  taskId: string;
  /** The agent that works on the task (the child's entry agent). */
  agent: string;
  /** The agent that delegated it. */
  from: string;
  task: string;
  /** The child's share of the parent's remaining budget. */
  budget: BudgetLimits;
  /** The parent's shared memory when the task started. */
  memory: MemoryEntry[];
  /** The parent's pinned MCP tools: a sub-task uses the same definitions, not a new discovery. */
  mcp?: PinnedMcp;
}

/** A goal's status, as `BatonStatus` shows it: `awaiting_reply` when only a question (ask_human) waits. */
export type GoalStatus = 'running' | 'awaiting_approval' | 'awaiting_reply' | 'completed' | 'failed' | 'cancelled';

/** A human decision, as sent through the `approval` signal or the `decide` update. */
export interface ApprovalDecision {
  approvalId: string;
  decision: 'approve' | 'reject';
  /** A display hint only; who decides comes from `assertion`. Goals recorded before verified identity read it. */
  by?: string;
  comment?: string;
  /** The signed assertion (a compact JWS from the approval gateway). */
  assertion?: string;
}

/** What a verified act keeps of its assertion: enough to find and re-verify the raw one in the history. */
export interface VoteIdentity {
  verified: true;
  issuer: string;
  keyId: string;
  assertionId: string;
  /** Baton groups the operator's mapping granted. */
  groups: string[];
}

/** Who started a goal: verified from the start assertion, or a claim labelled unverified (ad hoc starts only). */
export type StarterRecord = { subject: string; blueprint?: string } & (
  VoteIdentity | { verified: false; reason?: string }
);

export interface Vote {
  /** The verified subject (goals recorded before verified identity: the name the decision gave). */
  by: string;
  /** How `by` was verified; absent on goals recorded before verified identity. */
  identity?: VoteIdentity;
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
  /** The policy's condition (CEL) that made the call need approval; absent when it always needs one. */
  condition?: string;
  /** `allow` when the policy lets the goal's starter approve; absent: forbidden (goals with verified identity). */
  selfApproval?: 'forbid' | 'allow';
  votes: Vote[];
  status: ApprovalStatus;
  openedAt: string;
  deadline?: string;
  decidedAt?: string;
  /**
   * What happened while it waited: reminders, escalations, the timeout, notifications that could not be sent. Of the
   * reminders only the latest few are listed (`reminders` counts them all), so a long wait keeps a small record.
   */
  events: ApprovalEvent[];
  /** Reminders sent so far (absent on approvals recorded before reminders were counted). */
  reminders?: number;
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
  /** The name the payload gave: a claim, never verified. */
  by: string;
  decision: string;
  reason: string;
  /** Why, as a code (`missing`, `bad_signature`, `self_approval`, ...); absent on goals recorded before it. */
  code?: string;
  at: string;
  via: 'signal' | 'update';
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Input tokens the providers served from their prompt caches (part of inputTokens, priced at the cached rate). */
  cachedInputTokens?: number;
  /** Tokens of calls whose endpoint sent no usage, counted with a tokenizer (part of the totals). */
  estimatedTokens?: number;
}

/** Budget limits in force; approved extensions raise them. */
export interface BudgetLimits {
  maxSteps: number;
  maxTokens?: number;
  maxCostUsd?: number;
  /** Working time in milliseconds (time waiting on humans is not counted). */
  maxDurationMs?: number;
}

/** The budget as the goal counts it: limits, what is used, and each extension humans approved. */
export interface BudgetState {
  limits: BudgetLimits;
  used: { steps: number; tokens: number; costUsd: number; durationMs: number };
  /** Steps used by delegated tasks (already included in used.steps). */
  delegatedSteps: number;
  extensions: { approvalId: string; exceeded: string[]; limits: BudgetLimits; at: string }[];
}

/** One shared-memory entry: the latest value of a key, who wrote it and when. */
export interface MemoryEntry {
  key: string;
  value: unknown;
  agent: string;
  step: number;
  at: string;
  /** Set when a delegated task wrote it: that task's id in this goal. */
  task?: string;
}

/** The plan a planner agent recorded with the `plan` tool. */
export interface PlanRecord {
  agent: string;
  step: number;
  at: string;
  revision: number;
  steps: { task: string; agent?: string; status: 'pending' | 'in_progress' | 'done' }[];
}

/** A handoff between agents, with the note the model wrote for the next one. */
export interface HandoffRecord {
  from: string;
  to: string;
  note: string;
  step: number;
  at: string;
}

/** A tool call the engine refused or could not run: back to the model as the tool's result, and kept here. */
export interface RefusalRecord {
  agent: string;
  step: number;
  tool: string;
  kind:
    | 'not_permitted'
    | 'unknown_tool'
    | 'invalid_arguments'
    | 'empty_reply'
    | 'not_run'
    | 'truncated_reply'
    | 'refused_reply'
    | 'outcome_unknown';
  reason: string;
  at: string;
}

/** A question an agent asked a human with `ask_human`, or the engine asked about its model's refusal. */
export interface QuestionRecord {
  id: string;
  agent: string;
  step: number;
  question: string;
  /** Set when the engine asked: `refusal`, the agent's model refused (onRefusal: ask). */
  about?: 'refusal';
  /** Who may answer (user names, group:NAME, *). */
  to: string[];
  /** The same with groups resolved to user names. */
  eligible: string[];
  status: 'pending' | 'answered' | 'timed_out';
  askedAt: string;
  deadline?: string;
  answer?: string;
  by?: string;
  /** How `by` was verified; absent on goals recorded before verified identity. */
  identity?: VoteIdentity;
  answeredAt?: string;
  via?: 'signal' | 'update';
}

/** A human's answer to a question, as sent through the `reply` signal or the `reply` update. */
export interface HumanReply {
  questionId: string;
  answer: string;
  /** A display hint only; who answers comes from `assertion`. */
  by?: string;
  /** The signed assertion (a compact JWS from the approval gateway). */
  assertion?: string;
}

/** A reply that changed nothing, kept as evidence. */
export interface RefusedReply {
  questionId: string;
  /** The name the payload gave: a claim, never verified. */
  by: string;
  reason: string;
  code?: string;
  at: string;
  via: 'signal' | 'update';
}

/** What the validator agent has said about proposed final answers. */
export interface ValidationState {
  /** The answer waiting for the validator's verdict. */
  candidate?: { answer: string; by: string; step: number };
  /** Times the validator sent an answer back. */
  rejections: number;
  verdicts: {
    verdict: 'accepted' | 'rejected';
    by: string;
    answerBy: string;
    feedback: string;
    step: number;
    at: string;
  }[];
}

/** A sub-task delegated to a child goal, as the parent sees it. */
export interface TaskRecord {
  id: string;
  workflowId: string;
  agent: string;
  task: string;
  status: GoalStatus | 'starting';
  budget: BudgetLimits;
  startedAtStep: number;
  answer?: string;
  reason?: string;
  usage?: Usage;
  steps?: number;
}

/** What a delegated task tells its parent when its status changes while it runs (signal `taskStatus`). */
export interface TaskStatusReport {
  workflowId: string;
  status: GoalStatus;
}

/** How a goal ended. */
export interface GoalResult {
  status: 'completed' | 'failed' | 'cancelled';
  answer?: string;
  reason?: string;
  approvals: { id: string; tool: string; status: ApprovalStatus; by: string[]; comments: string[] }[];
  usage: Usage;
  steps: number;
  /** The agent that gave the answer, and the validator that accepted it. */
  answeredBy?: string;
  validatedBy?: string;
  /** Shared-memory entries a delegated task wrote, for its parent to merge. */
  memoryWrites?: MemoryEntry[];
  /** Time the goal (and its own tasks) spent waiting on humans, which its parent does not count as working time. */
  humanWaitMs?: number;
}

/**
 * Everything a goal knows, in one serialisable record. The `state` query's view and the continue-as-new input are
 * both derived from it (src/workflows/goal-record.ts): a field added here is shown and carried without more edits.
 */
export interface GoalRecord {
  status: GoalStatus;
  result?: GoalResult;
  agent: string;
  step: number;
  usage: Usage;
  approvals: ApprovalRecord[];
  /** The latest refused decisions (at most 20, fields cut to 200 characters); `refusedDecisionCount` counts all. */
  refusedDecisions: RefusedDecision[];
  refusedDecisionCount?: number;
  /** Who started the goal (goals with verified identity). */
  starter?: StarterRecord;
  /** The transcript; continue-as-new carries its window (`limits.contextMessages`). */
  messages: ChatMessage[];
  /** Which run of the goal this is: 1, then +1 at each continue-as-new. */
  run: number;
  budget: BudgetState;
  /** Workflow time the goal started, and time spent waiting on humans, for the duration budget. */
  startedAt: number;
  humanWaitMs: number;
  /** Unusable replies in a row. */
  repairs: number;
  plan?: PlanRecord;
  memory: MemoryEntry[];
  handoffs: HandoffRecord[];
  refusals: RefusalRecord[];
  questions: QuestionRecord[];
  /** The latest refused replies (at most 20); `refusedReplyCount` counts all. */
  refusedReplies: RefusedReply[];
  refusedReplyCount?: number;
  validation: ValidationState;
  /** Sub-tasks delegated to child goals, with each one's status. */
  tasks: TaskRecord[];
  builtinSchemas: Record<string, Record<string, unknown> | null>;
  /** The MCP tools discovered when the goal started, pinned for all its runs. */
  mcp?: PinnedMcp;
  /** The name each requested model was served under, as its endpoint reported it (`scripted:gpt-4o-mini`). */
  servedBy?: Record<string, string>;
  /** Set by a run that continued as new during a human wait: where the next run takes the turn up (wait-runs.ts). */
  resume?: ResumePoint;
  /**
   * The transcript the last model call stored (its window), and how many of `messages` it covers: the next call
   * names it and sends only the messages after them, so a call's input does not grow with the goal.
   */
  context?: { ref: ContextRef; upTo: number };
  /**
   * The blueprint tools this goal let run (approved or needing no approval), by tool: how many calls, and the sums of
   * their numeric arguments. Approval conditions read it as `prior` (a per-goal cumulative limit). Absent in goals
   * recorded before it existed, and until a tool runs.
   */
  toolsRan?: Record<string, ToolTally>;
}

/** One tool's calls that ran in a goal: how many, and each numeric top-level argument summed over them. */
export interface ToolTally {
  count: number;
  sum: Record<string, number>;
}

/** Where a run stopped when it continued as new during a human wait: the next run resumes the turn there. */
export type ResumePoint =
  /** Before or during a model call (a budget extension or a paused model waited): the call is made again. */
  | { kind: 'model'; step: number }
  /** During the tool calls of a reply: the call at `next` is dispatched again (and finds its wait pending). */
  | {
      kind: 'tools';
      step: number;
      actor: string;
      content: string | null;
      toolCalls: ToolCallRequest[];
      next: number;
      /** The repair problem of an earlier call of the same reply, if any. */
      problem?: string;
      /** Messages due once the reply's tool results are in (handoff notes, validator feedback). */
      notes: ChatMessage[];
    };

/** Bookkeeping the `state` query does not show. */
export type InternalField =
  'messages' | 'startedAt' | 'humanWaitMs' | 'repairs' | 'builtinSchemas' | 'mcp' | 'servedBy' | 'resume' | 'context';

/** What the `state` query returns (DESIGN §2.1): the record without its bookkeeping, and what follows from it. */
export type GoalState = Omit<GoalRecord, InternalField> & {
  goal: string;
  startedBy: string;
  pendingApprovals: ApprovalRecord[];
  pendingQuestions: QuestionRecord[];
  /** Set when this goal is a delegated sub-task. */
  parent?: { goalId: string; taskId: string; from: string };
};

/** What continue-as-new carries into the next run: the record, which runs on from `running`. */
export type CarriedState = Omit<GoalRecord, 'status' | 'result'>;

/** A tool call the model asked for. `arguments` is the model's raw JSON text. */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

/**
 * A message text kept in the conversation store (issue 14) by the activity that produced it: stored once under the
 * sha256 of its encoded (and encrypted) bytes, with its size and its token count (o200k tokenizer). The workflow
 * keeps this and a short preview; the model activity reads the text back, checked against its hash.
 */
export interface StoredText {
  sha256: string;
  /** Characters of the text. */
  chars: number;
  tokens: number;
}

/** A stored text as one request quotes it: after `prefix`, cut to `clip` characters (beginning and end). */
export type StoredQuote = StoredText & { prefix?: string; clip?: number };

/** A transcript the model activity stored (its messages, stored texts by reference): what the next call continues. */
export interface ContextRef {
  sha256: string;
  /** Messages in it. */
  messages: number;
}

/**
 * The transcript the workflow keeps, independent of any SDK's types. A message with `stored` has its text in the
 * conversation store; its `content` is then a preview, and the model is sent the stored text.
 */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string; stored?: StoredQuote }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCallRequest[] }
  | { role: 'tool'; toolCallId: string; content: string; stored?: StoredQuote };

/** Signal `approval`: decides an approval; an invalid one is recorded as refused and changes nothing. */
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');
/** Update `decide`: decides an approval; its validator refuses invalid decisions with the reason. */
export const decideUpdate = defineUpdate<ApprovalRecord, [ApprovalDecision]>('decide');
/** Signal `reply`: answers an `ask_human` question; an invalid one is recorded as refused and changes nothing. */
export const replySignal = defineSignal<[HumanReply]>('reply');
/** Update `reply`: answers an `ask_human` question; its validator refuses invalid replies with the reason. */
export const replyUpdate = defineUpdate<QuestionRecord, [HumanReply]>('reply');
/** Signal `taskStatus`: a delegated sub-task tells its parent goal that its status changed (internal). */
export const taskStatusSignal = defineSignal<[TaskStatusReport]>('taskStatus');
/** Query `state`: the goal's current state. */
export const stateQuery = defineQuery<GoalState>('state');
