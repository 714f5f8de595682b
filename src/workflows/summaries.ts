/**
 * One-line renderings of values for the Web UI's summaries (`billing: issue_refund {customerId: c-42, amount: 120}`):
 * read at a glance, without JSON's quotes. Pure, so the workflow and the client share it.
 */

function render(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return /^[\w.@:/+-]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${render(v)}`)
      .join(', ')}}`;
  }
  return typeof value === 'bigint' ? value.toString() : typeof value;
}

/** A value as one readable line, cut at `max` characters. */
export function inlineValue(value: unknown, max = 80): string {
  const text = render(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
