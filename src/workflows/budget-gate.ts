/**
 * The budget gate, passed before every step: when a budget is used up the goal fails, or (onExceeded: ask) asks
 * the budget's approvers to extend it and goes on when they approve.
 */
import { describeExceeded, exceeded, extendLimits, limitsOf } from './budget.js';
import type { ApprovalRecord } from './definitions.js';
import type { EngineContext } from './engine-context.js';
import { GoalFailure } from '../failures.js';

/**
 * The gate before a step: undefined while the budget lasts (`lean` goals, leanSteps in patches.ts), else the wait of
 * {@link ensureBudget}. Older goals always get the wait, as they ran.
 */
export function budgetGate(ctx: EngineContext, lean: boolean): Promise<void> | undefined {
  if (lean) {
    ctx.r.budget.used = ctx.currentBudget().used;
    if (exceeded(ctx.r.budget).length === 0) return undefined;
  }
  return ensureBudget(ctx);
}

/** Stops the goal for good if a budget is used up and no human extends it. */
async function ensureBudget(ctx: EngineContext): Promise<void> {
  for (;;) {
    ctx.r.budget.used = ctx.currentBudget().used;
    const over = exceeded(ctx.r.budget);
    if (over.length === 0) return;
    const what = `${describeExceeded(ctx.r.budget, over)} at step ${ctx.r.step} (agent ${ctx.r.agent})`;
    const policy = ctx.bp.budget.approval;
    if (ctx.args.task || ctx.bp.budget.onExceeded === 'fail' || !policy) {
      ctx.fail(`${what}; raise the budget in the blueprint`, GoalFailure.BudgetExceeded);
    }
    const original = limitsOf(ctx.bp.budget);
    const extendTo = extendLimits(ctx.r.budget.limits, original, over);
    const record = await ctx.waitingOnHumans(() =>
      ctx.desk.request({
        tool: 'budget',
        args: { exceeded: over, used: ctx.r.budget.used, limits: ctx.r.budget.limits, extendTo },
        reason: `${what}; approve to extend the budget`,
        requestedBy: ctx.r.agent,
        policy,
      }),
    );
    if (record.status === 'approved') {
      ctx.r.budget.limits = extendTo;
      ctx.r.budget.extensions.push({
        approvalId: record.id,
        exceeded: over,
        limits: extendTo,
        at: new Date().toISOString(),
      });
      continue;
    }
    ctx.fail(`${what}; the extension ${record.id} was ${approvalOutcome(record)}`, GoalFailure.BudgetExceeded);
  }
}

function approvalOutcome(record: ApprovalRecord): string {
  if (record.status === 'timed_out') return 'not decided before the deadline';
  const last = record.votes.at(-1);
  return `rejected by ${last?.by ?? 'an approver'}${last?.comment ? `: ${last.comment}` : ''}`;
}
