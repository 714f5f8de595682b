/**
 * The retry profile of one model call, from its model's settings: each attempt bounded by the model's timeout (the
 * activity enforces it and closes the stream; Temporal's start-to-close is a backstop a minute later), and the call
 * retried (rate limits after `retry-after`, timeouts, outages) for as long as the model's `retryFor` allows: hours,
 * not two minutes. What never succeeds on a retry is not retried.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { ModelSettings } from '../blueprint/schema.js';
import { ModelInvocationError } from '../failures.js';
import { durationMs } from './durations.js';

/** How long a model call is retried when its model sets no `retryFor`. */
export const DEFAULT_MODEL_RETRY_FOR = '1h';

/** Failure types of a model call that the same request would meet again. */
export const MODEL_NON_RETRYABLE = [
  ModelInvocationError.Rejected,
  ModelInvocationError.Auth,
  ModelInvocationError.InvalidRequest,
  ModelInvocationError.QuotaExhausted,
];

/** The activity options of a call to this model. */
export function modelCallOptions(settings: ModelSettings): ActivityOptions {
  const timeoutMs = settings.timeout === undefined ? undefined : durationMs(settings.timeout);
  return {
    // Unset, the worker's BATON_MODEL_TIMEOUT applies, which the workflow cannot see: a generous backstop.
    startToCloseTimeout: timeoutMs === undefined ? '30m' : timeoutMs + 60_000,
    scheduleToCloseTimeout: settings.retryFor ?? DEFAULT_MODEL_RETRY_FOR,
    heartbeatTimeout: '30s',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '5m',
      // Unlimited attempts (overriding the default profile's 8): the schedule-to-close (retryFor) bounds the retries.
      maximumAttempts: Number.POSITIVE_INFINITY,
      nonRetryableErrorTypes: MODEL_NON_RETRYABLE,
    },
  };
}
