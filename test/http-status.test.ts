/**
 * One rule for which HTTP answers are worth asking again (src/http-status.ts), and the model endpoint's failure types
 * built on it: every status a model endpoint can answer is typed as before the rule was shared, and retried exactly
 * where the shared rule says (with a conflict counted as transient, since a model call is safe to repeat).
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../src/activities/model/errors.js';
import { ModelInvocationError } from '../src/failures.js';
import { isTransientStatus } from '../src/http-status.js';

const at = { endpoint: 'http://127.0.0.1:1/v1', modelKey: 'models.default', keySource: 'OPENAI_API_KEY' };

function modelFailure(status: number, body: unknown = { message: 'no' }): ApplicationFailure {
  const err = classifyFailure({ kind: 'http', status, body }, at);
  if (!(err instanceof ApplicationFailure)) throw new Error(`not an ApplicationFailure: ${String(err)}`);
  return err;
}

describe('transient HTTP statuses', () => {
  it('are 408, 425, 429 and 5xx for every caller; 409 only where the request is safe to repeat', () => {
    const transient = (opts?: { conflictIsTransient?: boolean }) =>
      Array.from({ length: 500 }, (_, i) => i + 100).filter((s) => isTransientStatus(s, opts));
    const fiveHundreds = Array.from({ length: 100 }, (_, i) => i + 500);
    expect(transient()).toEqual([408, 425, 429, ...fiveHundreds]);
    expect(transient({ conflictIsTransient: true })).toEqual([408, 409, 425, 429, ...fiveHundreds]);
  });

  it('type a model endpoint failure by status, as they always did', () => {
    const typed = (status: number) => {
      const f = modelFailure(status);
      return [status, f.type, f.nonRetryable];
    };
    expect([400, 401, 402, 403, 404, 408, 409, 413, 418, 422, 425, 429, 500, 503].map(typed)).toEqual([
      [400, ModelInvocationError.InvalidRequest, true],
      [401, ModelInvocationError.Auth, true],
      [402, ModelInvocationError.Rejected, true],
      [403, ModelInvocationError.Auth, true],
      [404, ModelInvocationError.InvalidRequest, true],
      [408, ModelInvocationError.Unavailable, false],
      [409, ModelInvocationError.Unavailable, false],
      [413, ModelInvocationError.InvalidRequest, true],
      [418, ModelInvocationError.Rejected, true],
      [422, ModelInvocationError.InvalidRequest, true],
      [425, ModelInvocationError.Unavailable, false],
      [429, ModelInvocationError.RateLimit, false],
      [500, ModelInvocationError.Unavailable, false],
      [503, ModelInvocationError.Unavailable, false],
    ]);
    // What the body says comes before the status: a validation error is not retried, nor an exhausted quota.
    expect(modelFailure(500, 'pydantic validation error').type).toBe(ModelInvocationError.InvalidRequest);
    expect(modelFailure(429, { message: 'pay', code: 'insufficient_quota' }).type).toBe(
      ModelInvocationError.QuotaExhausted,
    );
  });

  it('retry a model call exactly where the shared rule says, conflicts included', () => {
    for (let status = 400; status < 600; status++) {
      const retried = modelFailure(status).nonRetryable !== true;
      expect([status, retried]).toEqual([status, isTransientStatus(status, { conflictIsTransient: true })]);
    }
  });
});
