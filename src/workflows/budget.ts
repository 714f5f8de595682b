/**
 * Budgets as pure functions over the goal's counters: steps, tokens, cost and working time, counted in the
 * workflow from recorded activity results and workflow time, so replay counts the same.
 */
import type { ModelUsage } from '../activities/index.js';
import type { BudgetSpec } from '../blueprint/schema.js';
import type { BudgetLimits, BudgetState, Usage } from './definitions.js';
import { durationMs } from './durations.js';
import { formatSeconds } from '../text.js';

/** A budget dimension the goal can run out of. */
export type BudgetDimension = 'steps' | 'tokens' | 'cost' | 'duration';

/** The limits a blueprint's budget sets. */
export function limitsOf(spec: BudgetSpec): BudgetLimits {
  return {
    maxSteps: spec.maxSteps,
    ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
    ...(spec.maxCostUsd === undefined ? {} : { maxCostUsd: spec.maxCostUsd }),
    ...(spec.maxDuration === undefined ? {} : { maxDurationMs: durationMs(spec.maxDuration) }),
  };
}

/** A fresh budget with nothing used. */
export function newBudget(limits: BudgetLimits): BudgetState {
  return {
    limits,
    used: { steps: 0, tokens: 0, costUsd: 0, durationMs: 0 },
    delegatedSteps: 0,
    extensions: [],
  };
}

/** The budget with its `used` counters as of now; pure, so a query may call it. `workingMs` excludes human waits. */
export function usedBudget(b: BudgetState, step: number, usage: Usage, workingMs: number): BudgetState {
  return {
    ...b,
    used: {
      steps: step + b.delegatedSteps,
      tokens: usage.inputTokens + usage.outputTokens,
      costUsd: usage.costUsd,
      durationMs: Math.max(0, workingMs),
    },
  };
}

/** The dimensions used up, in a fixed order. */
export function exceeded(b: BudgetState): BudgetDimension[] {
  const over: BudgetDimension[] = [];
  if (b.used.steps >= b.limits.maxSteps) over.push('steps');
  if (b.limits.maxTokens !== undefined && b.used.tokens >= b.limits.maxTokens) over.push('tokens');
  if (b.limits.maxCostUsd !== undefined && b.used.costUsd >= b.limits.maxCostUsd) over.push('cost');
  if (b.limits.maxDurationMs !== undefined && b.used.durationMs >= b.limits.maxDurationMs) over.push('duration');
  return over;
}

/** `step budget of 10 used up (10 steps)`, one clause per dimension. */
export function describeExceeded(b: BudgetState, over: readonly BudgetDimension[]): string {
  return over
    .map((d) => {
      switch (d) {
        case 'steps':
          return `step budget of ${b.limits.maxSteps} used up (${b.used.steps} steps)`;
        case 'tokens':
          return `token budget of ${b.limits.maxTokens} used up (${b.used.tokens} tokens)`;
        case 'cost':
          return `cost budget of $${b.limits.maxCostUsd} used up ($${b.used.costUsd.toFixed(4)})`;
        case 'duration':
          return `time budget of ${formatSeconds(b.limits.maxDurationMs ?? 0)} used up (${formatSeconds(b.used.durationMs)} working)`;
      }
    })
    .join(', ');
}

/** The limits after an approved extension: each exceeded dimension grows by its original limit. */
export function extendLimits(
  current: BudgetLimits,
  original: BudgetLimits,
  over: readonly BudgetDimension[],
): BudgetLimits {
  const next = { ...current };
  for (const d of over) {
    if (d === 'steps') next.maxSteps = current.maxSteps + original.maxSteps;
    if (d === 'tokens' && current.maxTokens !== undefined)
      next.maxTokens = current.maxTokens + (original.maxTokens ?? 0);
    if (d === 'cost' && current.maxCostUsd !== undefined)
      next.maxCostUsd = current.maxCostUsd + (original.maxCostUsd ?? 0);
    if (d === 'duration' && current.maxDurationMs !== undefined) {
      next.maxDurationMs = current.maxDurationMs + (original.maxDurationMs ?? 0);
    }
  }
  return next;
}

/** Fewest steps a delegated task can do anything useful with: one model call and one tool call. */
export const MIN_TASK_STEPS = 2;

/**
 * Each of `n` parallel tasks' share of what is left: steps, tokens and cost are split evenly between the tasks and
 * the delegating agent (n + 1 parts); working time is not split, since the tasks run at the same time.
 * Returns a reason instead when the shares would be too small.
 */
export function taskShare(b: BudgetState, n: number): BudgetLimits | string {
  const parts = n + 1;
  const steps = Math.floor((b.limits.maxSteps - b.used.steps) / parts);
  if (steps < MIN_TASK_STEPS) {
    return `not enough budget to delegate ${n} task(s): ${b.limits.maxSteps - b.used.steps} steps left, each task needs at least ${MIN_TASK_STEPS}; delegate fewer tasks or do the work yourself`;
  }
  const share: BudgetLimits = { maxSteps: steps };
  if (b.limits.maxTokens !== undefined)
    share.maxTokens = Math.max(1, Math.floor((b.limits.maxTokens - b.used.tokens) / parts));
  if (b.limits.maxCostUsd !== undefined) share.maxCostUsd = Math.max(0, (b.limits.maxCostUsd - b.used.costUsd) / parts);
  if (b.limits.maxDurationMs !== undefined)
    share.maxDurationMs = Math.max(1, b.limits.maxDurationMs - b.used.durationMs);
  return share;
}

/** Adds the parts of a usage figure noted beside its totals: input served from cache, tokens counted not reported. */
export function addUsageNotes(total: Usage, part: Pick<Usage, 'cachedInputTokens' | 'estimatedTokens'>): void {
  if (part.cachedInputTokens) total.cachedInputTokens = (total.cachedInputTokens ?? 0) + part.cachedInputTokens;
  if (part.estimatedTokens) total.estimatedTokens = (total.estimatedTokens ?? 0) + part.estimatedTokens;
}

/** The notes of one model call's usage: its cached input, and all its tokens when they were counted, not reported. */
export function replyUsageNotes(u: ModelUsage): Pick<Usage, 'cachedInputTokens' | 'estimatedTokens'> {
  return {
    ...(u.cachedInputTokens ? { cachedInputTokens: u.cachedInputTokens } : {}),
    ...(u.estimated ? { estimatedTokens: u.inputTokens + u.outputTokens } : {}),
  };
}
