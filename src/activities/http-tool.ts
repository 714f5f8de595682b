/**
 * The `http` tool runner: renders the operator's URL, headers and body templates (arguments inserted as data), sends
 * the request through the egress guard, and reports the answer. Messages show the URL template, never the resolved
 * URL; 4xx bodies are cut short (and scrubbed by the activity, like everything else it returns).
 */
import { ApplicationFailure } from '@temporalio/common';
import { parserForJsonSchema } from '../blueprint/json-schema-parser.js';
import type { HttpToolSpec } from '../blueprint/schema.js';
import { durationMs } from '../workflows/durations.js';
import { EgressDenied, guardedFetch, type EgressResponse } from './egress.js';
import { renderBody, renderHeader, renderUrl } from './templates.js';
import { invalidArguments } from './tool-arguments.js';
import type { ToolCall, ToolResult } from './tools.js';
import { isTransientStatus } from '../http-status.js';

/** Runs one http tool call. */
export async function runHttp(call: ToolCall<HttpToolSpec>): Promise<ToolResult> {
  const { req, spec, idempotencyKey, secrets } = call;
  // The parser is built once per schema and worker thread (about 0.2 ms a call otherwise, on the approve -> resume
  // path). A schema zod cannot express has no parser here, as in the workflow's own check of the call.
  const parsed = parserForJsonSchema(spec.parameters)?.safeParse(req.args);
  if (parsed && !parsed.success) throw invalidArguments(req.tool, parsed.error);
  const owner = req.tool;
  const url = renderUrl(spec.url, req.args, secrets.resolve, owner);
  const headers: Record<string, string> = {
    'idempotency-key': idempotencyKey,
    accept: 'application/json, text/plain;q=0.9',
  };
  for (const [name, value] of Object.entries(spec.headers)) {
    headers[name.toLowerCase()] = renderHeader(value, req.args, secrets.resolve, owner);
  }
  let body: string | undefined;
  if (spec.body !== undefined && spec.method !== 'GET' && spec.method !== 'HEAD') {
    body = JSON.stringify(renderBody(spec.body, req.args, secrets.resolve, owner));
    headers['content-type'] ??= 'application/json';
  }
  const timeout = AbortSignal.timeout(durationMs(spec.timeout));
  const signal = AbortSignal.any([call.cancelled, timeout]);
  const what = `${req.tool}: ${spec.method} ${spec.url}`;
  let res: EgressResponse;
  try {
    res = await guardedFetch(
      {
        url,
        method: spec.method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal,
        maxBytes: spec.maxResponseBytes,
      },
      { allowedHosts: call.allowedHosts },
    );
  } catch (err) {
    if (err instanceof EgressDenied) {
      throw ApplicationFailure.create({ type: 'EgressDenied', nonRetryable: true, message: `${what} ${err.message}` });
    }
    const why = timeout.aborted
      ? `no complete response within ${spec.timeout} (the tool's timeout)`
      : `failed: ${err instanceof Error ? err.message : String(err)}`;
    throw ApplicationFailure.create({ type: 'ToolFailed', message: `${what} ${why}` });
  }
  if (isTransientStatus(res.status)) {
    throw ApplicationFailure.create({ type: 'ToolFailed', message: `${what} answered ${res.status}` });
  }
  if (res.status >= 400) {
    throw ApplicationFailure.create({
      type: 'ToolFailed',
      nonRetryable: true,
      message: `${what} answered ${res.status}: ${res.text.slice(0, 500)}`,
    });
  }
  const output = `HTTP ${res.status}${res.truncated ? ` (truncated to ${spec.maxResponseBytes} bytes)` : ''}\n${res.text}`;
  return { output, status: res.status, truncated: res.truncated, idempotencyKey };
}
