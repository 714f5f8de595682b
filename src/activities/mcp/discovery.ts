/**
 * MCP discovery: `tools/list` of a source, with the worker's settings, secrets and egress rules, turned into what a
 * goal pins (each selected tool with its input schema, annotations and schema hash). The discovery activity runs it
 * for a goal; `baton validate --connect` runs the same code for an operator, so both see the server alike.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describeMcpServer, selectionFor, type PinnedMcp, type PinnedMcpSource } from '../../blueprint/mcp.js';
import type { McpToolSpec } from '../../blueprint/schema.js';
import { ToolError } from '../../failures.js';
import { durationMs } from '../../workflows/durations.js';
import { allowedHostsFor } from '../egress.js';
import { callerKeys, type SecretResolver } from '../secrets.js';
import { scrubbedFailure } from '../tools.js';
import { egressDenial, type McpConnection, type McpConnections, type McpTarget } from './connections.js';
import { schemaHash, serverSettings } from './server-settings.js';

/** What discovery needs from the worker (or from the CLI that checks a blueprint). */
export interface DiscoveryDeps {
  connections: McpConnections;
  resolver: SecretResolver;
}

/** What the workflow asks discovery for. */
export interface DiscoveryRequest {
  /** The blueprint's name (worker-side lists name sources as `source` or `blueprint/source`). */
  goal: string;
  sources: Record<string, McpToolSpec>;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function failed(
  message: string,
  type: string = ToolError.McpDiscoveryFailed,
  nonRetryable = false,
): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable, message });
}

/**
 * Lists the tools of one source of blueprint `goal` and pins the selected ones. Failures are ApplicationFailures
 * with the source and server named and every secret value read scrubbed: `EgressDenied`, `SecretNotAvailable` and
 * `InvalidToolTemplate` (no retry helps), else `McpDiscoveryFailed`.
 */
export async function discoverSource(
  deps: DiscoveryDeps,
  goal: string,
  source: string,
  spec: McpToolSpec,
  cancelled?: AbortSignal,
): Promise<PinnedMcpSource> {
  const keys = callerKeys(goal, source);
  const secrets = deps.resolver.forCall({ label: `mcp source ${source}`, keys, declared: spec.secrets });
  const owner = `mcp source ${source} (${describeMcpServer(spec)})`;
  try {
    const settings = await serverSettings(
      spec,
      secrets.resolve,
      allowedHostsFor(deps.resolver.access.hosts, keys),
      owner,
    );
    const target: McpTarget = { key: `${goal}/${source}`, settings, maxConcurrency: spec.maxConcurrency };
    const timeout = AbortSignal.timeout(durationMs(spec.timeout));
    const signal = cancelled ? AbortSignal.any([cancelled, timeout]) : timeout;
    const conn = await deps.connections.connection(target);
    let listed: Tool[];
    try {
      listed = await conn.tools(signal);
    } catch (err) {
      await deps.connections.discard(conn);
      throw err instanceof ApplicationFailure ? err : failed(`${owner}: tools/list failed: ${describeError(err)}`);
    }
    return pin(spec, listed, conn);
  } catch (err) {
    const denied = egressDenial(err);
    if (denied) throw scrubbedFailure(failed(`${owner}: ${denied.message}`, 'EgressDenied', true), secrets, '');
    if (err instanceof ApplicationFailure) throw scrubbedFailure(err, secrets, ToolError.McpDiscoveryFailed);
    throw scrubbedFailure(failed(`${owner}: ${describeError(err)}`), secrets, '');
  }
}

/** Builds the discovery activity. */
export function createDiscoveryActivity(deps: DiscoveryDeps) {
  return async function discoverMcpTools(req: DiscoveryRequest): Promise<PinnedMcp> {
    const pinned: PinnedMcp = {};
    for (const [source, spec] of Object.entries(req.sources)) {
      pinned[source] = await discoverSource(deps, req.goal, source, spec, Context.current().cancellationSignal);
    }
    return pinned;
  };
}

function pin(spec: McpToolSpec, listed: Tool[], conn: McpConnection): PinnedMcpSource {
  const selected = listed.filter((t) => selectionFor(spec, t.name) !== undefined);
  const info = conn.client.getServerVersion();
  return {
    server: describeMcpServer(spec),
    ...(info ? { serverInfo: { name: info.name, version: info.version } } : {}),
    tools: selected.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      inputSchema: t.inputSchema,
      ...(t.annotations ? { annotations: { ...t.annotations } } : {}),
      schemaHash: schemaHash(t.inputSchema),
    })),
    unselected: listed.filter((t) => !selected.includes(t)).map((t) => t.name),
    unmatched: Object.keys(spec.tools).filter(
      (sel) => !selected.some((t) => selectionFor(spec, t.name) === spec.tools[sel]),
    ),
    discoveredAt: new Date().toISOString(),
  };
}
