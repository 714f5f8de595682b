/**
 * Which HTTP answers are worth asking again: one rule for every caller (model endpoints, HTTP tools, webhooks).
 * 408 (request timeout), 425 (too early: the server declined to process the request yet), 429 (rate limit) and 5xx
 * are transient. 409 (conflict) is transient only where the request is safe to repeat whatever happened (a model
 * call); a tool or webhook that answers 409 has decided.
 */

/** True when an HTTP status says the same request may succeed later. */
export function isTransientStatus(status: number, opts: { conflictIsTransient?: boolean } = {}): boolean {
  return (
    status >= 500 ||
    status === 408 ||
    status === 425 ||
    status === 429 ||
    (status === 409 && opts.conflictIsTransient === true)
  );
}
