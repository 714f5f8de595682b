/**
 * MCP tool sources, as the workflow sees them: which of a server's discovered tools a blueprint selects, how each is
 * governed (its side-effect class from the blueprint or else from the server's annotations), and the name the model
 * calls it by. Pure (no I/O, no Node built-ins), so the workflow may import it; discovery itself is an activity.
 */
import type { ApprovalPolicy, Blueprint, McpToolSettings, McpToolSpec, SideEffect } from './schema.js';

/** Annotations an MCP server gives a tool (hints: the blueprint decides, these only set defaults). */
export interface McpAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** One discovered tool as pinned for a goal: what `tools/list` said when the goal started. */
export interface PinnedMcpTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: McpAnnotations;
  /** sha256 (hex) of the canonical JSON of `inputSchema`: a call checks the server still has this schema. */
  schemaHash: string;
}

/** One source's discovery, recorded in history and carried across continue-as-new. */
export interface PinnedMcpSource {
  /** The server, for people: `stdio npx -y @modelcontextprotocol/server-everything` or the URL template. */
  server: string;
  /** The server's own name and version (`initialize`). */
  serverInfo?: { name: string; version: string };
  /** Tools the blueprint selects, as listed. */
  tools: PinnedMcpTool[];
  /** Names the server listed that the blueprint does not select: never offered, refused when called. */
  unselected: string[];
  /** Selectors that matched no listed tool. */
  unmatched: string[];
  discoveredAt: string;
}

/** Every MCP source of a goal, by source key. */
export type PinnedMcp = Record<string, PinnedMcpSource>;

/** What the tool activity receives for an MCP call: the source's connection settings and the pinned target. */
export type McpCallSpec = McpToolSpec & {
  type: 'mcp';
  call: {
    source: string;
    tool: string;
    schemaHash: string;
    inputSchema: Record<string, unknown>;
    sideEffect: SideEffect;
    timeout: string;
  };
};

/** A selected MCP tool, ready to offer and run. */
export interface McpBinding {
  /** The function name the model calls: prefix + tool name, with characters OpenAI refuses replaced by `_`. */
  modelName: string;
  source: string;
  tool: string;
  description: string;
  inputSchema: Record<string, unknown>;
  schemaHash: string;
  sideEffect: SideEffect;
  /** Where sideEffect came from: the blueprint, or the server's annotations. */
  sideEffectFrom: 'blueprint' | 'annotations';
  approval?: ApprovalPolicy;
  timeout: string;
  retry?: McpToolSettings['retry'];
}

/** A selected tool that cannot be offered under its model-facing name, and why. */
export interface McpBindingProblem {
  source: string;
  tool: string;
  message: string;
}

/** The MCP sources of a blueprint, by key. */
export function mcpSources(bp: Blueprint): Record<string, McpToolSpec> {
  // Blueprints pinned before the mcp field existed have none.
  return bp.mcp ?? {};
}

/** True when `name` matches `selector`: equal, or `*` in the selector stands for any run of characters. */
export function matchesSelector(selector: string, name: string): boolean {
  if (!selector.includes('*')) return selector === name;
  const parts = selector.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(name);
}

/** The selector that governs `name` in a source: an exact entry, else the most specific (longest) matching pattern. */
export function selectorFor(spec: McpToolSpec, name: string): string | undefined {
  if (spec.tools[name]) return name;
  return Object.keys(spec.tools)
    .filter((s) => s.includes('*') && matchesSelector(s, name))
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))[0];
}

/** The settings that govern `name` in a source (see selectorFor). */
export function selectionFor(spec: McpToolSpec, name: string): McpToolSettings | undefined {
  const selector = selectorFor(spec, name);
  return selector === undefined ? undefined : spec.tools[selector];
}

/**
 * The side-effect class a server's hints imply: only a read-only or a non-destructive idempotent tool is retried;
 * contradictory hints (read-only and destructive) count as destructive.
 */
export function sideEffectFromAnnotations(a: McpAnnotations | undefined): SideEffect {
  if (a?.readOnlyHint === true && a.destructiveHint !== true) return 'none';
  if (a?.idempotentHint === true && a.destructiveHint === false) return 'idempotent';
  return 'unsafe';
}

/** The model-facing name of a tool of a source. */
export function mcpModelName(sourceKey: string, spec: McpToolSpec, tool: string): string {
  return `${spec.prefix ?? `${sourceKey}_`}${tool}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A one-line description of the server, for the audit and messages (templates, never resolved values). */
export function describeMcpServer(spec: McpToolSpec): string {
  return spec.url !== undefined ? spec.url : ['stdio', spec.command ?? '', ...spec.args].join(' ');
}

/**
 * Binds the pinned tools of every source: each selected tool under its model name, governed by the blueprint where
 * it says so and by the server's annotations otherwise. Names that collide or are too long are not offered; the
 * problems say which and why.
 */
export function mcpBindings(
  bp: Blueprint,
  pinned: PinnedMcp,
): { bindings: Map<string, McpBinding>; problems: McpBindingProblem[] } {
  const bindings = new Map<string, McpBinding>();
  const problems: McpBindingProblem[] = [];
  for (const [source, spec] of Object.entries(mcpSources(bp))) {
    for (const tool of pinned[source]?.tools ?? []) {
      const settings = selectionFor(spec, tool.name);
      if (!settings) continue;
      const modelName = mcpModelName(source, spec, tool.name);
      if (modelName.length > 64) {
        problems.push({
          source,
          tool: tool.name,
          message: `tool ${tool.name} is not offered: its name ${modelName} is over 64 characters; set a shorter prefix`,
        });
        continue;
      }
      if (bindings.has(modelName) || bp.tools[modelName]) {
        problems.push({
          source,
          tool: tool.name,
          message: `tool ${tool.name} is not offered: the name ${modelName} is taken; set a prefix`,
        });
        continue;
      }
      bindings.set(modelName, {
        modelName,
        source,
        tool: tool.name,
        description: settings.description ?? tool.description ?? tool.annotations?.title ?? `MCP tool ${tool.name}`,
        inputSchema: tool.inputSchema,
        schemaHash: tool.schemaHash,
        sideEffect: settings.sideEffect ?? sideEffectFromAnnotations(tool.annotations),
        sideEffectFrom: settings.sideEffect ? 'blueprint' : 'annotations',
        ...(settings.approval ? { approval: settings.approval } : {}),
        timeout: settings.timeout ?? spec.timeout,
        ...(settings.retry ? { retry: settings.retry } : {}),
      });
    }
  }
  return { bindings, problems };
}

/** The spec the tool activity gets for a call of `binding`. */
export function mcpCallSpec(bp: Blueprint, binding: McpBinding): McpCallSpec {
  const spec = mcpSources(bp)[binding.source];
  if (!spec) throw new Error(`${binding.source} is not an mcp source`);
  return {
    ...spec,
    type: 'mcp',
    call: {
      source: binding.source,
      tool: binding.tool,
      schemaHash: binding.schemaHash,
      inputSchema: binding.inputSchema,
      sideEffect: binding.sideEffect,
      timeout: binding.timeout,
    },
  };
}

/** Names the model might use for tools a source's server lists but the blueprint does not select. */
export function unselectedModelNames(bp: Blueprint, pinned: PinnedMcp): Map<string, { source: string; tool: string }> {
  const out = new Map<string, { source: string; tool: string }>();
  for (const [source, spec] of Object.entries(mcpSources(bp))) {
    for (const tool of pinned[source]?.unselected ?? []) {
      out.set(mcpModelName(source, spec, tool), { source, tool });
    }
  }
  return out;
}
