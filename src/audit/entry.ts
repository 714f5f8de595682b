/** What an audit trail is made of: its record kinds, the entry shape, and the small helpers that word them. */
import type { Blueprint } from '../blueprint/schema.js';
import { clip as clipText, oneLine } from '../text.js';
import type { GoalArgs } from '../workflows/definitions.js';
import { text, type HistoryEvent } from './history.js';

export { canonicalJson, compact } from '../text.js';

/** Kinds of audit records, in the order a goal usually produces them. */
export const AuditKind = {
  GoalStarted: 'goal.started',
  ModelCall: 'model.call',
  ToolCall: 'tool.call',
  ApprovalRequested: 'approval.requested',
  ApprovalDecision: 'approval.decision',
  ApprovalReminder: 'approval.reminder',
  ApprovalEscalation: 'approval.escalation',
  ApprovalTimeout: 'approval.timeout',
  QuestionAsked: 'question.asked',
  QuestionReply: 'question.reply',
  QuestionTimeout: 'question.timeout',
  BudgetExceeded: 'budget.exceeded',
  Activity: 'activity',
  Signal: 'signal',
  Update: 'update',
  Timer: 'timer',
  ChildStarted: 'child.started',
  ChildFinished: 'child.finished',
  CancelRequested: 'goal.cancel_requested',
  RunContinued: 'run.continued',
  GoalFinished: 'goal.finished',
  Sealed: 'audit.sealed',
} as const;
export type AuditKindName = (typeof AuditKind)[keyof typeof AuditKind];

/** One fact of the trail, tied to the history event that records it. */
export interface AuditEntry {
  kind: AuditKindName;
  /** Time of the anchoring history event, exactly as Temporal recorded it. */
  at: string;
  /** Who: `user:NAME` (a person, as they named themselves), `agent:NAME`, `baton` (the goal's rules), or a client identity. */
  actor: string;
  /** One readable line. */
  summary: string;
  /** 1-based position of the run in the goal's continue-as-new chain. */
  run: number;
  runId: string;
  /** The anchoring event's id in that run. */
  eventId: number;
  /** Every event of that run this record draws on. */
  events: number[];
  data: Record<string, unknown>;
}

/** A history event in its place: which run of the chain, and its position across all runs. */
export interface Located {
  run: number;
  runId: string;
  ev: HistoryEvent;
  pos: number;
}

/** Appends an entry anchored at `loc`. */
export type Emit = (
  loc: Located,
  kind: AuditKindName,
  actor: string,
  summary: string,
  data: Record<string, unknown>,
  events?: number[],
) => void;

/** What the trail's readers know of the goal while they read its history. */
export interface TrailGoal {
  /** The blueprint pinned in the goal's first event. */
  readonly bp: Blueprint | undefined;
  /** The goal's arguments, from its first event. */
  readonly args: GoalArgs | undefined;
  /** The history records facts (src/workflows/facts.ts): read them instead of inferring from status and wording. */
  readonly withFacts: boolean;
  /** Set while the last run's close event is handled: outcomes still missing will never come. */
  readonly closing: boolean;
}

/** Text on one line, cut at `max` characters. */
export function clipLine(value: string, max: number): string {
  return clipText(oneLine(value), max);
}

/** A failure as the audit reports it. */
export interface FailureInfo {
  message: string;
  type?: string;
  nonRetryable?: boolean;
}

/** A Temporal failure (and its causes) as message and type; the innermost application failure names the cause. */
export function failureInfo(failure: unknown): FailureInfo | undefined {
  if (!failure || typeof failure !== 'object') return undefined;
  let f = failure as Record<string, unknown> | undefined;
  let best: FailureInfo | undefined;
  while (f) {
    const app = f.applicationFailureInfo as { type?: string; nonRetryable?: boolean } | undefined;
    const info: FailureInfo = {
      message: text(f.message),
      ...(app?.type ? { type: app.type } : {}),
      ...(app?.nonRetryable ? { nonRetryable: true } : {}),
    };
    if (!best || app) best = info;
    f = f.cause as Record<string, unknown> | undefined;
  }
  return best;
}

/** What the trail says about the goal as a whole. */
export interface TrailFacts {
  goalId: string;
  goal: string;
  blueprintHash: string;
  runs: string[];
  /** `running` until the last run closes. */
  status: string;
  /** True once the goal has ended. */
  closed: boolean;
  /** Latest BatonStatus / BatonApprovers / BatonCostUsd the goal published. */
  published: { status?: string; approvers?: string[]; costUsd?: number };
}
