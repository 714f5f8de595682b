/** The worker's activities, built from their dependencies so tests and the worker assemble them the same way. */
import type OpenAI from 'openai';
import type { ConversationStore } from '../codec/conversation-store.js';
import { emptyTrust, type TrustSnapshot } from '../identity/trust.js';
import { describeBuiltins } from './builtin-tool.js';
import { createModelActivity } from './model.js';
import { createNotifyActivity, type Notifier } from './notify.js';
import { noAccess, SecretResolver, type ToolAccess } from './secrets.js';
import { createToolActivity, localToolActivity, type BuiltinTool, type ToolRunner } from './tools.js';
import { McpConnections } from './mcp/connections.js';
import { createDiscoveryActivity, createMcpRunner } from './mcp/index.js';
import { directoryBlobStore, type BlobStore } from './mcp/blobs.js';

export interface ActivityDeps {
  openai: OpenAI;
  /** What tools and webhooks may read and reach (the operator's map); default: nothing. */
  access?: ToolAccess;
  /** Where secret sources `{ env: VAR }` are read; default process.env. */
  environment?: Readonly<Record<string, string | undefined>>;
  builtins?: Readonly<Record<string, BuiltinTool>>;
  /** The operator's trust (src/trust/): keys, group mapping, registered blueprints. Absent: nobody is trusted. */
  trust?: () => TrustSnapshot;
  /** Tool runners by kind, added to or replacing http and builtin. */
  runners?: Partial<Record<string, ToolRunner>>;
  /** Notifiers by channel, added to or replacing webhook. */
  notifiers?: Partial<Record<string, Notifier>>;
  /** The worker's MCP connections; default: a pool of these activities' own. */
  mcp?: McpConnections;
  /** Where binary content of MCP results is kept; default: .baton/blobs, with the default retention. */
  blobs?: BlobStore;
  /** Where long tool outputs and model transcripts are kept (the payload store); absent: everything inline. */
  conversation?: ConversationStore;
}

/** Creates every activity Baton's workflows call. */
export function createActivities(deps: ActivityDeps) {
  const builtins = deps.builtins ?? {};
  const schemas = describeBuiltins(builtins);
  const resolver = new SecretResolver(deps.access ?? noAccess, deps.environment ?? process.env);
  const mcp = {
    connections: deps.mcp ?? new McpConnections(),
    blobs: deps.blobs ?? directoryBlobStore('.baton/blobs'),
    resolver,
  };
  const runTool = createToolActivity({
    resolver,
    builtins,
    runners: { mcp: createMcpRunner(mcp), ...deps.runners },
    ...(deps.conversation ? { conversation: deps.conversation } : {}),
  });
  return {
    callModel: createModelActivity({
      openai: deps.openai,
      resolver,
      environment: deps.environment ?? process.env,
      builtinSchemas: schemas,
      ...(deps.trust ? { trust: deps.trust } : {}),
      ...(deps.conversation ? { conversation: deps.conversation } : {}),
    }),
    runTool,
    /**
     * The same tool call run as a local activity (builtins without side effects and with a short timeout): its
     * result carries the request, because a local activity's history marker records no input, and the audit reads
     * the call from it as it reads a `runTool` activity's input.
     */
    runLocalTool: localToolActivity(runTool),
    /** `tools/list` of the goal's MCP sources, once per goal: the result is pinned in history. */
    discoverMcpTools: createDiscoveryActivity(mcp),
    notify: createNotifyActivity(resolver, deps.notifiers),
    /**
     * The operator's trust as it stands now, for workflows to record (an activity at start, at each wake and before each signed decision),
     * so a replay sees the trust the original run saw and a rotation or revocation reaches waiting goals.
     */
    loadTrust(): Promise<TrustSnapshot> {
      return Promise.resolve(deps.trust ? deps.trust() : emptyTrust());
    },
    /**
     * JSON Schemas of builtin functions. Goals started before the schemas came with the first model call
     * (`ToolDescriptor.builtin`) asked for them with this activity, and replay it.
     */
    describeBuiltins(names: string[]): Promise<Record<string, Record<string, unknown> | null>> {
      return Promise.resolve(Object.fromEntries(names.map((n) => [n, schemas[n] ?? null])));
    },
  };
}

/** The activities' type, for workflows (`import type` only). */
export type Activities = ReturnType<typeof createActivities>;
export type { BuiltinTool, LocalToolResult, ToolContext, ToolRequest, ToolResult, ToolRunner } from './tools.js';
export type {
  FinishReason,
  ModelOutcome,
  ModelProgress,
  ModelReply,
  ModelRequest,
  ModelUsage,
  ToolDescriptor,
} from './model.js';
export type {
  ApprovalNotification,
  ApprovalReference,
  NotificationReceipt,
  NotificationRequest,
  Notifier,
} from './notify.js';
export type { SecretEntry, SecretSource, ToolAccess } from './secrets.js';
export type { DiscoveryRequest } from './mcp/index.js';
export type { Attachment } from './mcp/results.js';
export { accessFromValues, mergeAccess, noAccess } from './secrets.js';
