/**
 * The MCP activities: discovery (`tools/list`, recorded in history and pinned for the goal; see discovery.ts) and the
 * `mcp` tool runner (`tools/call` against the pinned definition, with the goal's idempotency key in the request's
 * `_meta`).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpCallSpec } from '../../blueprint/mcp.js';
import { ToolError } from '../../failures.js';
import { durationMs } from '../../workflows/durations.js';
import type { SecretResolver } from '../secrets.js';
import type { ToolCall, ToolResult, ToolRunner } from '../tools.js';
import { egressDenial, notDelivered, type McpConnection, type McpConnections, type McpTarget } from './connections.js';
import type { BlobStore } from './blobs.js';
import { formatResult } from './results.js';
import { schemaHash, serverSettings } from './server-settings.js';

export { createDiscoveryActivity, discoverSource, type DiscoveryRequest } from './discovery.js';

/** The `_meta` key of the idempotency key Baton sends with every `tools/call`. */
export const IDEMPOTENCY_META_KEY = 'dev.baton/idempotency-key';

/** What the MCP activities need from the worker. */
export interface McpDeps {
  connections: McpConnections;
  blobs: BlobStore;
  resolver: SecretResolver;
}

function failed(message: string, nonRetryable = false, type: string = ToolError.Failed): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable, message });
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Heartbeats while `work` runs, so Temporal can deliver a cancellation, which the SDK forwards to the server. */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 1_000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/**
 * Checks the server's current definition of the tool against the pinned one. The same schema passes; a changed
 * schema passes only when these arguments still match it; a tool the server no longer lists never passes.
 */
export async function checkPinned(
  conn: McpConnection,
  spec: McpCallSpec,
  args: unknown,
  owner: string,
  signal: AbortSignal,
): Promise<void> {
  const current = (await conn.tools(signal)).find((t) => t.name === spec.call.tool);
  if (!current) {
    throw failed(
      `${owner}: the server no longer lists tool ${spec.call.tool}, which this goal pinned at discovery; the call was not sent`,
      true,
      ToolError.McpToolChanged,
    );
  }
  const now = schemaHash(current.inputSchema);
  if (now === spec.call.schemaHash) return;
  let parsed: { success: boolean; error?: z.ZodError } = { success: false };
  try {
    parsed = z.fromJSONSchema(current.inputSchema as Record<string, unknown>).safeParse(args);
  } catch {
    // A schema zod cannot read is treated as not matching: the pinned definition is all the goal agreed to.
  }
  if (!parsed.success) {
    const issues = parsed.error?.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
    throw failed(
      `${owner}: tool ${spec.call.tool} changed its input schema since this goal pinned it (pinned sha256 ${spec.call.schemaHash.slice(0, 12)}, now ${now.slice(0, 12)}) and the arguments no longer match${issues ? `: ${issues}` : ''}; the call was not sent`,
      true,
      ToolError.McpToolChanged,
    );
  }
}

/** Builds the runner of `mcp` tool calls. */
export function createMcpRunner(deps: McpDeps): ToolRunner {
  return async (toolCall: ToolCall): Promise<ToolResult> => {
    const call = toolCall as unknown as ToolCall<McpCallSpec>;
    const spec = call.spec;
    if (!spec.call) throw failed(`tool ${call.req.tool}: an mcp source is called through its tools`, true);
    const { source, tool } = spec.call;
    const owner = `mcp ${source} ${tool}`;
    const settings = await serverSettings(spec, call.secrets.resolve, call.allowedHosts, owner);
    const target: McpTarget = { key: `${call.req.goal}/${source}`, settings, maxConcurrency: spec.maxConcurrency };
    const timeoutMs = durationMs(spec.call.timeout);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([call.cancelled, timeout]);
    return withHeartbeat(async () => {
      for (let attempt = 0; ; attempt += 1) {
        let conn: McpConnection;
        try {
          conn = await deps.connections.connection(target);
        } catch (err) {
          const denied = egressDenial(err);
          if (denied) throw failed(`${owner}: ${denied.message}`, true, 'EgressDenied');
          throw failed(`${owner}: ${describeError(err)}`);
        }
        try {
          await checkPinned(conn, spec, call.req.args, owner, signal);
          const result = await conn.bounded(
            () =>
              conn.client.callTool(
                {
                  name: tool,
                  arguments: (call.req.args ?? {}) as Record<string, unknown>,
                  _meta: { [IDEMPOTENCY_META_KEY]: call.idempotencyKey },
                },
                undefined,
                { signal, timeout: timeoutMs },
              ),
            signal,
          );
          const formatted = await formatResult(result as never, spec.maxResponseBytes, deps.blobs);
          return {
            output: formatted.output,
            truncated: formatted.truncated,
            idempotencyKey: call.idempotencyKey,
            ...(formatted.attachments.length ? { attachments: formatted.attachments } : {}),
          };
        } catch (err) {
          if (err instanceof ApplicationFailure) throw err;
          const denied = egressDenial(err);
          // Refused before it was sent: no retry, on this connection or a new one, would be let through.
          if (denied) throw failed(`${owner}: ${denied.message}`, true, 'EgressDenied');
          if (call.cancelled.aborted) throw new CancelledFailure('the tool call was cancelled');
          if (timeout.aborted || (err instanceof McpError && err.code === Number(ErrorCode.RequestTimeout))) {
            throw failed(`${owner}: no answer within ${spec.call.timeout} (the tool's timeout)`);
          }
          const lost = conn.closed || notDelivered(err);
          if (lost) {
            const tail = conn.stderrTail;
            await deps.connections.discard(conn);
            // The request never reached a live session: sending it on a new one cannot run the tool twice.
            if (notDelivered(err) && attempt === 0) continue;
            throw failed(
              `${owner}: the connection to the server was lost during the call (${describeError(err)})${tail ? `; server stderr: ${tail}` : ''}`,
            );
          }
          if (err instanceof McpError) {
            const type = err.code === Number(ErrorCode.InvalidParams) ? ToolError.InvalidArguments : ToolError.Failed;
            throw failed(`${owner}: the server refused the call: ${err.message}`, true, type);
          }
          throw failed(`${owner}: ${describeError(err)}`);
        }
      }
    });
  };
}
