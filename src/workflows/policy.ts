/** Approval conditions: CEL expressions evaluated deterministically in the workflow over the call and the input. */
import { evaluate } from '@marcbachmann/cel-js';
import type { ApprovalPolicy } from '../blueprint/schema.js';

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
): { required: boolean; note?: string } {
  if (!policy) return { required: false };
  if (policy.when === undefined) return { required: true };
  try {
    const value: unknown = evaluate(policy.when, { args, input });
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
