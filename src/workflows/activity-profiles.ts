/**
 * The retry profiles of the goal's activities, each a named options object, and their proxies (DESIGN §6: one
 * `proxyActivities` per profile). Model calls retry transient endpoint failures; tool calls retry by the tool's
 * side-effect class.
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ToolSpec } from '../blueprint/schema.js';
import { ModelInvocationError, ToolError } from '../failures.js';
import { durationMs } from './durations.js';

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
/** Tool calls run inside the workflow task (see {@link runsLocally}); each call sets the tool's own options. */
export const { runLocalTool } = proxyLocalActivities<Activities>(toolCall);

/** The longest timeout a tool may have to run as a local activity: the workflow task waits for it. */
export const LOCAL_TOOL_MAX_TIMEOUT_MS = 10_000;

/**
 * Whether a tool call runs as a local activity, inside the workflow task that asked for it, instead of a scheduled
 * one: a builtin (worker code) without side effects and with a short timeout. One cycle through the server per step
 * instead of two; its retries stay those of the tool (docs/performance.md).
 */
export function runsLocally(spec: ToolSpec): boolean {
  return spec.type === 'builtin' && spec.sideEffect === 'none' && durationMs(spec.timeout) <= LOCAL_TOOL_MAX_TIMEOUT_MS;
}

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
