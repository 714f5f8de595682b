/** The tool call activity: runs one tool (HTTP or a builtin function) with its arguments checked by its schema. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { BuiltinToolSpec, HttpToolSpec, ToolSpec } from '../blueprint/schema.js';
import { durationMs } from '../workflows/durations.js';
import { fillBody, fillPlaceholders, resolveReferences, type Env } from './references.js';

/** A TypeScript function registered in the worker and offered to agents as a `builtin` tool. */
export interface BuiltinTool<S extends z.ZodType = z.ZodType> {
  description: string;
  /** One schema: the JSON Schema the model sees and the parser of its arguments. */
  schema: S;
  run(args: z.output<S>, ctx: ToolContext): Promise<unknown>;
}

/** What a tool receives besides its arguments. */
export interface ToolContext {
  /** Stable across retries of the same call: workflow id + activity id. */
  idempotencyKey: string;
  env: Env;
  signal: AbortSignal;
}

export interface ToolRequest {
  goal: string;
  agent: string;
  tool: string;
  spec: ToolSpec;
  args: unknown;
}

export interface ToolResult {
  /** What the model is shown. */
  output: string;
  status?: number;
  truncated: boolean;
  idempotencyKey: string;
}

/** Failure types a tool call can end with. */
export const ToolError = {
  InvalidArguments: 'InvalidToolArguments',
  Failed: 'ToolFailed',
  Unknown: 'UnknownBuiltin',
} as const;

function invalidArguments(tool: string, error: z.ZodError): ApplicationFailure {
  const details = error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
  return ApplicationFailure.create({
    type: ToolError.InvalidArguments,
    nonRetryable: true,
    message: `arguments for ${tool} do not match its schema: ${details}`,
  });
}

async function readCapped(res: Response, cap: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > cap) {
      chunks.push(value.subarray(0, cap - size));
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

async function runHttp(req: ToolRequest, spec: HttpToolSpec, key: string, env: Env): Promise<ToolResult> {
  const parsed = z.fromJSONSchema(spec.parameters).safeParse(req.args);
  if (!parsed.success) throw invalidArguments(req.tool, parsed.error);
  const url = resolveReferences(fillPlaceholders(spec.url, req.args, true, req.tool), env, req.tool);
  const headers: Record<string, string> = { 'idempotency-key': key, accept: 'application/json, text/plain;q=0.9' };
  for (const [name, value] of Object.entries(spec.headers)) {
    headers[name.toLowerCase()] = resolveReferences(fillPlaceholders(value, req.args, false, req.tool), env, req.tool);
  }
  let body: string | undefined;
  if (spec.body !== undefined && spec.method !== 'GET' && spec.method !== 'HEAD') {
    body = resolveReferences(JSON.stringify(fillBody(spec.body, req.args, req.tool)), env, req.tool);
    headers['content-type'] ??= 'application/json';
  }
  const timeout = AbortSignal.timeout(durationMs(spec.timeout));
  const signal = AbortSignal.any([Context.current().cancellationSignal, timeout]);
  let res: Response;
  let text: string;
  let truncated: boolean;
  try {
    res = await fetch(url, { method: spec.method, headers, body, signal, redirect: 'follow' });
    ({ text, truncated } = await readCapped(res, spec.maxResponseBytes));
  } catch (err) {
    // Never echo the resolved URL: it may carry a secret. The template is safe to show.
    const why = timeout.aborted
      ? `no complete response within ${spec.timeout} (the tool's timeout)`
      : `failed: ${err instanceof Error ? err.message : String(err)}`;
    throw ApplicationFailure.create({
      type: ToolError.Failed,
      message: `${req.tool}: ${spec.method} ${spec.url} ${why}`,
    });
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    throw ApplicationFailure.create({
      type: ToolError.Failed,
      message: `${req.tool}: ${spec.method} ${spec.url} answered ${res.status}`,
    });
  }
  if (res.status >= 400) {
    throw ApplicationFailure.create({
      type: ToolError.Failed,
      nonRetryable: true,
      message: `${req.tool}: ${spec.method} ${spec.url} answered ${res.status}: ${text.slice(0, 500)}`,
    });
  }
  const output = `HTTP ${res.status}${truncated ? ` (truncated to ${spec.maxResponseBytes} bytes)` : ''}\n${text}`;
  return { output, status: res.status, truncated, idempotencyKey: key };
}

async function runBuiltin(
  req: ToolRequest,
  spec: BuiltinToolSpec,
  key: string,
  env: Env,
  builtins: Readonly<Record<string, BuiltinTool>>,
): Promise<ToolResult> {
  const name = spec.function ?? req.tool;
  const fn = builtins[name];
  if (!fn) {
    throw ApplicationFailure.create({
      type: ToolError.Unknown,
      nonRetryable: true,
      message: `no builtin function "${name}" is registered in this worker; register it in createActivities({ builtins })`,
    });
  }
  const parsed = fn.schema.safeParse(req.args);
  if (!parsed.success) throw invalidArguments(req.tool, parsed.error);
  const timeoutMs = durationMs(spec.timeout);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([Context.current().cancellationSignal, timeout]);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          ApplicationFailure.create({
            type: ToolError.Failed,
            message: `${req.tool}: no result within ${spec.timeout} (the tool's timeout)`,
          }),
        ),
      timeoutMs,
    );
  });
  let value: unknown;
  try {
    value = await Promise.race([fn.run(parsed.data, { idempotencyKey: key, env, signal }), expired]);
  } finally {
    clearTimeout(timer);
  }
  const { text, truncated } = capText(
    typeof value === 'string' ? value : (JSON.stringify(value) ?? ''),
    spec.maxResponseBytes,
  );
  const output = truncated ? `${text}\n(truncated to ${spec.maxResponseBytes} bytes)` : text;
  return { output, truncated, idempotencyKey: key };
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

/** Builds the `runTool` activity. */
export function createToolActivity(env: Env, builtins: Readonly<Record<string, BuiltinTool>>) {
  return async function runTool(req: ToolRequest): Promise<ToolResult> {
    const info = Context.current().info;
    const key = `${info.workflowExecution?.workflowId ?? 'standalone'}/${info.activityId}`;
    return req.spec.type === 'http' ? runHttp(req, req.spec, key, env) : runBuiltin(req, req.spec, key, env, builtins);
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
