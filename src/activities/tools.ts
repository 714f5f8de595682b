/**
 * The tool call activity: checks who the caller is, gives it only the secrets it declared and the worker mapped for
 * it, hands the call to the runner of its kind (http, builtin, ...), and scrubs every string that leaves (result and
 * error) of the secret values the call read.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { McpCallSpec } from '../blueprint/mcp.js';
import type { BuiltinToolSpec, HttpToolSpec } from '../blueprint/schema.js';
import type { ConversationStore } from '../codec/conversation-store.js';
import type { StoredText } from '../workflows/definitions.js';
import type { Attachment } from './mcp/results.js';
import { countTokens } from './model/usage.js';

/** What the tool activity runs: an http or builtin tool, or one tool of an mcp source. */
export type RunnableToolSpec = HttpToolSpec | BuiltinToolSpec | McpCallSpec;
import { runBuiltin } from './builtin-tool.js';
import { runHttp } from './http-tool.js';
import { allowedHostsFor } from './egress.js';
import { callerKeys, type CallSecrets, type SecretResolver } from './secrets.js';

/** A TypeScript function registered in the worker and offered to agents as a `builtin` tool. */
export interface BuiltinTool<S extends z.ZodType = z.ZodType> {
  description: string;
  /** One schema: the JSON Schema the model sees and the parser of its arguments. */
  schema: S;
  run(args: z.output<S>, ctx: ToolContext): Promise<unknown>;
}

/** What a builtin tool receives besides its arguments. */
export interface ToolContext {
  /** Stable across retries of the same call: workflow id + activity id. */
  idempotencyKey: string;
  /** A secret the tool declares (`secrets:` in the blueprint) and the worker maps for it; anything else throws. */
  secret(name: string): string;
  signal: AbortSignal;
}

export interface ToolRequest {
  goal: string;
  agent: string;
  tool: string;
  spec: RunnableToolSpec;
  args: unknown;
  /**
   * The call's activity id when it runs as a local activity, whose own id is a sequence number: the idempotency key
   * is made of it, as it is of a scheduled call's activity id.
   */
  activityId?: string;
}

export interface ToolResult {
  /** What the model is shown. */
  output: string;
  status?: number;
  truncated: boolean;
  idempotencyKey: string;
  /** Binary content kept by reference (MCP images, audio, resources): the bytes are not in history. */
  attachments?: Attachment[];
  /** The whole output, kept in the conversation store when it is long; `output` is then its preview. */
  stored?: StoredText;
}

/** Outputs longer than this (characters) go to the conversation store, when the worker has one. */
export const STORED_OUTPUT_CHARS = 2048;
/** Characters of a stored output's preview (what the history, the audit line and the Web UI show). */
export const PREVIEW_CHARS = 240;

/** The preview the workflow keeps of a stored text. */
export function previewOf(text: string, stored: StoredText): string {
  return `${text.slice(0, PREVIEW_CHARS)}… [${stored.chars} characters, ${stored.tokens} tokens, stored as ${stored.sha256.slice(0, 12)}]`;
}

/** The output as the workflow gets it: whole when short, else stored and previewed. */
export async function keptOutput(result: ToolResult, store: ConversationStore | undefined): Promise<ToolResult> {
  if (!store || result.output.length <= STORED_OUTPUT_CHARS) return result;
  const text = result.output;
  const stored: StoredText = { sha256: await store.put(text), chars: text.length, tokens: await countTokens(text) };
  return { ...result, output: previewOf(text, stored), stored };
}

/** Failure types a tool call can end with. */
export const ToolError = {
  InvalidArguments: 'InvalidToolArguments',
  Failed: 'ToolFailed',
  Unknown: 'UnknownBuiltin',
} as const;

/** One call, as a runner sees it. */
export interface ToolCall<S extends RunnableToolSpec = RunnableToolSpec> {
  req: ToolRequest;
  spec: S;
  idempotencyKey: string;
  secrets: CallSecrets;
  /** Non-public hosts this tool may reach (worker configuration). */
  allowedHosts: string[];
  /** Cancellation of the activity. */
  cancelled: AbortSignal;
}

/** Runs the calls of one tool kind. */
export type ToolRunner = (call: ToolCall) => Promise<ToolResult>;

/** Dependencies of the tool activity. */
export interface ToolActivityDeps {
  resolver: SecretResolver;
  builtins: Readonly<Record<string, BuiltinTool>>;
  /** Runners by tool kind; the defaults run `http` and `builtin`. */
  runners?: Partial<Record<string, ToolRunner>>;
  /** Where long outputs are kept (absent: every output inline). */
  conversation?: ConversationStore;
}

/** A failure whose message (and nothing else) is scrubbed; Temporal's cancellation passes through untouched. */
export function scrubbedFailure(err: unknown, secrets: CallSecrets, fallbackType: string): unknown {
  if (err instanceof CancelledFailure) return err;
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      type: err.type ?? fallbackType,
      nonRetryable: err.nonRetryable ?? false,
      message: secrets.scrub(err.message),
    });
  }
  return ApplicationFailure.create({
    type: fallbackType,
    message: secrets.scrub(err instanceof Error ? err.message : String(err)),
  });
}

/** Builds the `runTool` activity. */
export function createToolActivity(deps: ToolActivityDeps) {
  const runners: Partial<Record<string, ToolRunner>> = {
    http: (call) => runHttp(call as ToolCall<HttpToolSpec>),
    builtin: (call) => runBuiltin(call as ToolCall<BuiltinToolSpec>, deps.builtins),
    ...deps.runners,
  };
  return async function runTool(req: ToolRequest): Promise<ToolResult> {
    const context = Context.current();
    const info = context.info;
    const idempotencyKey = `${info.workflowExecution?.workflowId ?? 'standalone'}/${req.activityId ?? info.activityId}`;
    // An MCP tool is known to the operator's lists by its source (`fs`, `blueprint/fs`), not by each tool's name.
    const owner = req.spec.type === 'mcp' ? req.spec.call.source : req.tool;
    const keys = callerKeys(req.goal, owner);
    const secrets = deps.resolver.forCall({
      label: `tool ${owner}`,
      keys,
      declared: req.spec.secrets ?? [],
    });
    const runner = runners[req.spec.type];
    if (!runner) {
      throw ApplicationFailure.create({
        type: ToolError.Unknown,
        nonRetryable: true,
        message: `tool ${req.tool}: this worker has no runner for tools of type ${req.spec.type}`,
      });
    }
    try {
      const result = await runner({
        req,
        spec: req.spec,
        idempotencyKey,
        secrets,
        allowedHosts: allowedHostsFor(deps.resolver.access.hosts, keys),
        cancelled: context.cancellationSignal,
      });
      return await keptOutput({ ...result, output: secrets.scrub(result.output) }, deps.conversation);
    } catch (err) {
      throw scrubbedFailure(err, secrets, ToolError.Failed);
    }
  };
}

/** What `runLocalTool` returns: the tool's result and the request it ran. */
export interface LocalToolResult extends ToolResult {
  request: ToolRequest;
}

/**
 * `runTool` for a local activity, whose history marker records the result but not the input: the result carries
 * the request, and a failure carries it in its details, so the audit reads the call as it reads a `runTool` activity.
 */
export function localToolActivity(runTool: (req: ToolRequest) => Promise<ToolResult>) {
  return async function runLocalTool(req: ToolRequest): Promise<LocalToolResult> {
    try {
      return { ...(await runTool(req)), request: req };
    } catch (err) {
      if (!(err instanceof ApplicationFailure)) throw err;
      throw ApplicationFailure.create({
        type: err.type ?? ToolError.Failed,
        nonRetryable: err.nonRetryable ?? false,
        message: err.message,
        details: [req],
      });
    }
  };
}
