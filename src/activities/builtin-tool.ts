/** The `builtin` tool runner: a TypeScript function registered in the worker, with its own timeout and output cap. */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { BuiltinToolSpec } from '../blueprint/schema.js';
import { durationMs } from '../workflows/durations.js';
import { invalidArguments } from './tool-arguments.js';
import type { BuiltinTool, ToolCall, ToolResult } from './tools.js';

/** Runs one builtin tool call. */
export async function runBuiltin(
  call: ToolCall<BuiltinToolSpec>,
  builtins: Readonly<Record<string, BuiltinTool>>,
): Promise<ToolResult> {
  const { req, spec, idempotencyKey } = call;
  const name = spec.function ?? req.tool;
  const fn = Object.hasOwn(builtins, name) ? builtins[name] : undefined;
  if (!fn) {
    throw ApplicationFailure.create({
      type: 'UnknownBuiltin',
      nonRetryable: true,
      message: `no builtin function "${name}" is registered in this worker; register it in createActivities({ builtins })`,
    });
  }
  const parsed = fn.schema.safeParse(req.args);
  if (!parsed.success) throw invalidArguments(req.tool, parsed.error);
  const timeoutMs = durationMs(spec.timeout);
  const signal = AbortSignal.any([call.cancelled, AbortSignal.timeout(timeoutMs)]);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          ApplicationFailure.create({
            type: 'ToolFailed',
            message: `${req.tool}: no result within ${spec.timeout} (the tool's timeout)`,
          }),
        ),
      timeoutMs,
    );
  });
  let value: unknown;
  try {
    const secret = (n: string): string => call.secrets.secret(n);
    value = await Promise.race([fn.run(parsed.data, { idempotencyKey, secret, signal }), expired]);
  } finally {
    clearTimeout(timer);
  }
  const { text, truncated } = capText(
    typeof value === 'string' ? value : (JSON.stringify(value) ?? ''),
    spec.maxResponseBytes,
  );
  const output = truncated ? `${text}\n(truncated to ${spec.maxResponseBytes} bytes)` : text;
  return { output, truncated, idempotencyKey };
}

/** Cuts text to at most `cap` bytes of UTF-8, never inside a character. */
function capText(text: string, cap: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength <= cap) return { text, truncated: false };
  return {
    text: new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, cap)).replace(/\uFFFD$/, ''),
    truncated: true,
  };
}

/** JSON Schemas of the registered builtins, for the model. */
export function describeBuiltins(
  builtins: Readonly<Record<string, BuiltinTool>>,
): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(builtins).map(([name, fn]) => [
      name,
      z.toJSONSchema(fn.schema, { io: 'input' }) as Record<string, unknown>,
    ]),
  );
}
