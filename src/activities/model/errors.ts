/**
 * Model-call failures typed for Temporal: what retries (rate limits, outages, timeouts; `retry-after` honoured), what
 * does not (invalid requests, bad credentials, an exhausted quota), and a message that says what happened, with
 * the endpoint's own error body, whole but capped.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ModelInvocationError } from '../../failures.js';
import { isTransientStatus } from '../../http-status.js';
import type { ProviderFailure } from './types.js';

export { ModelInvocationError };
export type ModelInvocationErrorType = (typeof ModelInvocationError)[keyof typeof ModelInvocationError];

/** How much of an endpoint's error body a failure message carries. */
export const ERROR_BODY_CAP = 4000;

/** Statuses that say the request itself is wrong: the same request fails the same way. */
const INVALID = new Set([400, 404, 413, 422]);

/** Caps text at `cap` characters, saying how much was left out. */
export function capText(text: string, cap = ERROR_BODY_CAP): string {
  return text.length <= cap ? text : `${text.slice(0, cap)}… (${text.length - cap} more characters)`;
}

/** The endpoint's error body as text: its message with type/code/param beside it, or the whole body as JSON. */
export function describeBody(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.message === 'string') {
      const extras = ['type', 'code', 'param']
        .filter((k) => b[k] !== undefined && b[k] !== null && b[k] !== '')
        .map((k) => `${k}: ${typeof b[k] === 'string' ? b[k] : JSON.stringify(b[k])}`);
      const rest = Object.keys(b).filter((k) => !['message', 'type', 'code', 'param'].includes(k));
      const more = rest.length ? ` ${JSON.stringify(Object.fromEntries(rest.map((k) => [k, b[k]])))}` : '';
      return `${b.message}${extras.length ? ` (${extras.join(', ')})` : ''}${more}`;
    }
    return JSON.stringify(body);
  }
  return body === undefined ? '(no body)' : JSON.stringify(body);
}

/** The body's `code` or `type` (`insufficient_quota`, `context_length_exceeded`, `invalid_request_error`). */
function errorField(body: unknown, field: 'code' | 'type'): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** `retry-after-ms` / `retry-after` (seconds or an HTTP date) in milliseconds. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const s = headers?.get('retry-after');
  if (!s) return undefined;
  if (Number.isFinite(Number(s))) return Number(s) * 1000;
  const date = Date.parse(s);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** The key the endpoint was called with, for messages: the blueprint's reference or the worker's default. */
export interface EndpointContext {
  endpoint: string;
  /** `models.NAME`, for telling the reader what to change. */
  modelKey: string;
  /** How the key is configured: `${secret:NAME}` or `OPENAI_API_KEY`. */
  keySource: string;
}

/** Types a provider failure for Temporal. A cancellation is rethrown as Temporal's own. */
export function classifyFailure(f: ProviderFailure, at: EndpointContext): Error {
  const where = `model endpoint ${at.endpoint}`;
  switch (f.kind) {
    case 'cancelled':
      return new CancelledFailure('model call cancelled; the stream was closed');
    case 'timeout':
      return ApplicationFailure.create({
        type: ModelInvocationError.Timeout,
        message: `${where} did not finish the reply within ${seconds(f.afterMs)} (the timeout of ${at.modelKey}; raise its timeout or BATON_MODEL_TIMEOUT); the stream was closed`,
      });
    case 'connection':
      return ApplicationFailure.create({
        type: ModelInvocationError.Unavailable,
        message: `cannot reach ${where}: ${f.message}; check the baseUrl of ${at.modelKey} or OPENAI_BASE_URL`,
      });
    case 'stream':
      return ApplicationFailure.create({
        type: ModelInvocationError.Unavailable,
        message: `${where} broke off the stream: ${capText(f.body === undefined ? f.message : describeBody(f.body))}`,
      });
    case 'malformed':
      return ApplicationFailure.create({
        type: ModelInvocationError.Malformed,
        message: `${where} sent a reply Baton cannot read: ${f.message}`,
      });
    case 'http':
      return classifyHttp(f.status, f.body, f.headers, at);
  }
}

function classifyHttp(status: number, body: unknown, headers: Headers | undefined, at: EndpointContext): Error {
  const where = `model endpoint ${at.endpoint}`;
  const detail = capText(describeBody(body));
  const code = errorField(body, 'code');
  if (code === 'insufficient_quota' || errorField(body, 'type') === 'insufficient_quota') {
    return ApplicationFailure.create({
      type: ModelInvocationError.QuotaExhausted,
      nonRetryable: true,
      message: `${where} says the account's quota is used up (${status} insufficient_quota): ${detail}. Add credit or raise the limit, then resume the goal`,
    });
  }
  if (status === 401 || status === 403) {
    return ApplicationFailure.create({
      type: ModelInvocationError.Auth,
      nonRetryable: true,
      message: `${where} refused the credentials (${status}): set a valid ${at.keySource} for the worker. ${detail}`,
    });
  }
  // llama.cpp's Python server answers 500 to a request its validation rejects; the same request fails the same way.
  const validation = status >= 500 && /validation error/i.test(detail);
  if (INVALID.has(status) || validation) {
    return ApplicationFailure.create({
      type: ModelInvocationError.InvalidRequest,
      nonRetryable: true,
      message: `${where} rejected the request as invalid (${status}${code ? ` ${code}` : ''}), so it is not retried: ${detail}`,
    });
  }
  // A model call is safe to repeat whatever happened, so a conflict is worth asking again too.
  if (isTransientStatus(status, { conflictIsTransient: true })) {
    const delay = retryAfterMs(headers);
    return ApplicationFailure.create({
      type: status === 429 ? ModelInvocationError.RateLimit : ModelInvocationError.Unavailable,
      message: `${where} answered ${status}${delay === undefined ? '' : ` (retry after ${seconds(delay)})`}: ${detail}`,
      ...(delay === undefined ? {} : { nextRetryDelay: delay }),
    });
  }
  return ApplicationFailure.create({
    type: ModelInvocationError.Rejected,
    nonRetryable: true,
    message: `${where} rejected the request (${status}): ${detail}`,
  });
}
