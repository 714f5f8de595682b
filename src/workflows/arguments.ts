/**
 * Checking a model's tool arguments in the workflow, before anything runs or any human is asked: JSON first, then
 * the tool's schema. Failures go back to the model as the tool's result, for it to repair.
 */
import type { z } from 'zod';
import { describeIssues } from './engine-tools.js';

/** Parses the model's raw arguments text; empty text is an empty object. */
export function parseJsonArguments(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      ok: false,
      error: `error: the arguments are not valid JSON (${(err as Error).message}); send one JSON object`,
    };
  }
}

/** Validates arguments; returns the parsed value (defaults filled) or the message for the model. */
export function checkArguments(
  tool: string,
  parser: z.ZodType | undefined,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!parser) return { ok: true, value };
  const parsed = parser.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `error: arguments for ${tool} do not match its schema: ${describeIssues(parsed.error)}` };
}
