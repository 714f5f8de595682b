/**
 * The retry profiles of the goal's activities, each a named options object, and their proxies (DESIGN §6: one
 * `proxyActivities` per profile). Model calls retry transient endpoint failures; tool calls retry by the tool's
 * side-effect class.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ToolSpec } from '../blueprint/schema.js';
import { ModelInvocationError, ToolError } from '../failures.js';

/** Retry profile of model calls: transient endpoint failures retry with backoff; bad requests do not. */
export const modelCall = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [ModelInvocationError.Rejected, ModelInvocationError.Auth],
  },
} as const satisfies ActivityOptions;

/** Retry profile of tool calls; each call narrows it by the tool's side-effect class and timeout. */
export const toolCall = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
} as const satisfies ActivityOptions;

/** The activities, one proxy per retry profile. */
export const { callModel } = proxyActivities<Activities>(modelCall);
export const { runTool, describeBuiltins } = proxyActivities<Activities>(toolCall);

/** A tool's retry profile: unsafe tools run once; the rest retry as the blueprint says, never on bad input. */
export function toolRetry(spec: ToolSpec): ActivityOptions['retry'] {
  const attempts = spec.sideEffect === 'unsafe' ? 1 : (spec.retry?.maximumAttempts ?? toolCall.retry.maximumAttempts);
  return {
    ...toolCall.retry,
    ...(spec.retry ?? {}),
    maximumAttempts: attempts,
    nonRetryableErrorTypes: [ToolError.InvalidArguments, ToolError.MissingSecret, ToolError.Unknown],
  };
}
