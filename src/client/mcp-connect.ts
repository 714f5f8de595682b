/**
 * `baton validate --connect`: the blueprint's MCP servers asked for their tools as a worker would ask them, with the
 * worker's settings from this environment (BATON_TOOL_ENV, BATON_SECRETS, BATON_EGRESS_ALLOW), the same discovery
 * code and the same egress guard, then every server started here stopped again. What each server marks its selected
 * tools (destructive, read-only, unmarked) is then checked against the blueprint's approval policies.
 */
import { ApplicationFailure } from '@temporalio/common';
import { McpConnections } from '../activities/mcp/connections.js';
import { discoverSource } from '../activities/mcp/discovery.js';
import { SecretResolver } from '../activities/secrets.js';
import { mcpToolFindings, mcpWarnings, type McpFinding } from '../blueprint/mcp-checks.js';
import { mcpSources, type PinnedMcp } from '../blueprint/mcp.js';
import type { Blueprint } from '../blueprint/schema.js';
import { loadToolAccess } from '../tool-access-config.js';

/** What connecting found: errors fail validation; warnings are printed. */
export interface McpConnectReport {
  errors: McpFinding[];
  warnings: McpFinding[];
  /** Sources whose servers answered. */
  reached: string[];
}

/** Lists the tools of every MCP source of `bp` and checks them; without --connect, `mcpWarnings` stands alone. */
export async function connectAndCheck(
  bp: Blueprint,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<McpConnectReport> {
  const sources = mcpSources(bp);
  if (!Object.keys(sources).length) return { errors: [], warnings: [], reached: [] };
  const resolver = new SecretResolver(loadToolAccess(env), env);
  const connections = new McpConnections();
  const pinned: PinnedMcp = {};
  const errors: McpFinding[] = [];
  try {
    for (const [source, spec] of Object.entries(sources)) {
      try {
        pinned[source] = await discoverSource({ connections, resolver }, bp.name, source, spec);
      } catch (err) {
        const why = err instanceof ApplicationFailure || err instanceof Error ? err.message : String(err);
        errors.push({
          path: ['mcp', source],
          message: `could not list the server's tools: ${why}. Run --connect where the worker runs, with its BATON_TOOL_ENV, BATON_SECRETS and BATON_EGRESS_ALLOW, or fix the source`,
        });
      }
    }
  } finally {
    await connections.close();
  }
  const found = mcpToolFindings(bp, pinned);
  // A source that was not reached keeps the warning from the blueprint alone.
  const blind = mcpWarnings(bp).filter((w) => !pinned[String(w.path[1])]);
  return {
    errors: [...errors, ...found.errors],
    warnings: [...blind, ...found.warnings],
    reached: Object.keys(pinned),
  };
}
