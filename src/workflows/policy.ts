/**
 * Approval conditions: CEL expressions evaluated deterministically in the workflow over the call (`args`), the goal's
 * input (`input`) and the tool's earlier calls in the goal (`prior`: how many ran, and their numeric arguments summed),
 * so a limit can hold for a whole goal (`args.amount + prior.sum.amount > input.amount`), not one call at a time.
 */
import { evaluate } from '@marcbachmann/cel-js';
import type { ApprovalPolicy } from '../blueprint/schema.js';
import type { ToolTally } from './definitions.js';

/**
 * Whether a call needs approval. Only `false` skips it: an expression that cannot be evaluated, or that gives
 * anything but a boolean, asks for approval (policy fails closed). `baton validate` type-checks conditions, so
 * these notes are for what only run time shows (an optional argument left out).
 */
export function needsApproval(
  policy: ApprovalPolicy | undefined,
  args: unknown,
  input: unknown,
  /** Whether a non-boolean result fails closed; the workflow answers through `patched()` (goals from before). */
  nonBooleanFailsClosed: () => boolean = () => true,
  /** The tool's earlier calls in the goal ({@link priorCalls}); without it, a condition that reads `prior` asks. */
  prior?: ToolTally,
): { required: boolean; note?: string } {
  if (!policy) return { required: false };
  if (policy.when === undefined) return { required: true };
  try {
    const value: unknown = evaluate(policy.when, { args, input, ...(prior ? { prior } : {}) });
    if (typeof value !== 'boolean' && nonBooleanFailsClosed()) {
      return {
        required: true,
        note: `approval condition gave ${typeof value === 'bigint' ? 'a number' : `a ${typeof value}`}, not true or false, so approval is required`,
      };
    }
    return { required: value === true };
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return { required: true, note: `approval condition could not be evaluated (${first}), so approval is required` };
  }
}

/**
 * `prior` for a tool: its tally in the goal, with every numeric property its parameters schema lists present (0 before
 * the first call), so `prior.sum.amount` reads 0 on the first refund instead of failing the condition.
 */
export function priorCalls(
  ran: Readonly<Record<string, ToolTally>> | undefined,
  tool: string,
  parameters: unknown,
): ToolTally {
  const tally = ran?.[tool];
  const sum: Record<string, number> = {};
  const props = (parameters as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties;
  for (const [name, schema] of Object.entries(props ?? {})) {
    if (schema?.type === 'number' || schema?.type === 'integer') sum[name] = 0;
  }
  return { count: tally?.count ?? 0, sum: { ...sum, ...tally?.sum } };
}

/** Counts a call that was let run: one more, and each finite numeric top-level argument added to its sum. */
export function tallyRun(ran: Record<string, ToolTally>, tool: string, args: unknown): void {
  const tally = (ran[tool] ??= { count: 0, sum: {} });
  tally.count += 1;
  if (!args || typeof args !== 'object' || Array.isArray(args)) return;
  for (const [name, value] of Object.entries(args)) {
    if (typeof value === 'number' && Number.isFinite(value)) tally.sum[name] = (tally.sum[name] ?? 0) + value;
  }
}
