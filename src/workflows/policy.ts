/** Approval conditions: CEL expressions evaluated deterministically in the workflow over the call and the input. */
import { evaluate } from '@marcbachmann/cel-js';
import type { ApprovalPolicy } from '../blueprint/schema.js';

/** Whether a call needs approval. An expression that cannot be evaluated asks for approval: policy fails closed. */
export function needsApproval(
  policy: ApprovalPolicy | undefined,
  args: unknown,
  input: unknown,
): { required: boolean; note?: string } {
  if (!policy) return { required: false };
  if (policy.when === undefined) return { required: true };
  try {
    return { required: evaluate(policy.when, { args, input }) === true };
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return { required: true, note: `approval condition could not be evaluated (${first}), so approval is required` };
  }
}
