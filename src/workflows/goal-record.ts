/**
 * The goal record's life: a new goal's first record, the record a continued run resumes, the `state` query's view
 * and the continue-as-new input. Pure functions of the record, so the query view never writes it.
 */
import { limitsOf, newBudget, usedBudget } from './budget.js';
import type { BudgetState, CarriedState, GoalArgs, GoalRecord, GoalState, InternalField } from './definitions.js';
import { contextWindow } from './transcript.js';

/** The record a goal starts with, or resumes from what the previous run carried. */
export function openRecord(args: GoalArgs, startTime: number): GoalRecord {
  const c = args.carried;
  if (c) return { ...c, status: 'running', run: c.run + 1 };
  return {
    status: 'running',
    agent: args.task?.agent ?? args.blueprint.entry,
    step: 0,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    approvals: [],
    refusedDecisions: [],
    messages: [],
    run: 1,
    budget: newBudget(args.task?.budget ?? limitsOf(args.blueprint.budget)),
    startedAt: startTime,
    humanWaitMs: 0,
    repairs: 0,
    memory: [...(args.task?.memory ?? [])],
    handoffs: [],
    refusals: [],
    questions: [],
    refusedReplies: [],
    validation: { rejections: 0, verdicts: [] },
    tasks: [],
    builtinSchemas: {},
  };
}

const INTERNAL: Record<InternalField, true> = {
  messages: true,
  startedAt: true,
  humanWaitMs: true,
  repairs: true,
  builtinSchemas: true,
  mcp: true,
  servedBy: true,
  resume: true,
  context: true,
};

/** The budget with its `used` counters at workflow time `nowMs` (human waits excluded), computed, never written. */
export function budgetAt(r: GoalRecord, nowMs: number): BudgetState {
  return usedBudget(r.budget, r.step, r.usage, nowMs - r.startedAt - r.humanWaitMs);
}

/**
 * The `state` query's answer at workflow time `nowMs`. A query must never change the goal: this reads the record and
 * writes nothing, so the budget it shows is computed here, not refreshed in the record (issue 11, defect 7).
 */
export function queryState(r: GoalRecord, args: GoalArgs, nowMs: number): GoalState {
  return stateView(r, args, budgetAt(r, nowMs));
}

/** The `state` query's view: the record without its bookkeeping, with the budget as used now. */
export function stateView(r: GoalRecord, args: GoalArgs, budget: BudgetState): GoalState {
  const shown = Object.fromEntries(Object.entries(r).filter(([k]) => !(k in INTERNAL))) as Omit<
    GoalRecord,
    InternalField
  >;
  const task = args.task;
  return {
    goal: args.blueprint.name,
    ...shown,
    budget,
    startedBy: r.starter?.subject ?? args.startedBy,
    pendingApprovals: r.approvals.filter((a) => a.status === 'pending'),
    pendingQuestions: r.questions.filter((q) => q.status === 'pending'),
    ...(task ? { parent: { goalId: task.parentId, taskId: task.taskId, from: task.from } } : {}),
  };
}

/**
 * What continue-as-new carries: the record as it is, the transcript cut to its window (or whole, for a model with a
 * `contextWindow`, whose transcript compaction keeps within it: `contextMessages` undefined).
 */
export function carriedState(r: GoalRecord, contextMessages: number | undefined, budget: BudgetState): CarriedState {
  const messages = contextMessages === undefined ? r.messages : contextWindow(r.messages, contextMessages);
  const carried: Partial<GoalRecord> = { ...r, budget, messages };
  delete carried.status;
  delete carried.result;
  // The stored context covers messages by position, and the window above moved them: the next run starts afresh.
  delete carried.context;
  return carried as CarriedState;
}
