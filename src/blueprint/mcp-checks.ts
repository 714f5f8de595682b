/**
 * What `baton validate` says about a blueprint's MCP tools. Without the servers (`mcpWarnings`) it can only see the
 * blueprint: a selection with neither `sideEffect` nor `approval` is left to annotations it cannot read. With the
 * servers' tool lists (`mcpToolFindings`, from `baton validate --connect`) it sees each tool the blueprint selects and
 * what its server marks it: destructive or unmarked tools without an approval policy, a `sideEffect` that contradicts
 * the server, selections that match nothing, and names that cannot be offered. Pure: the listing is done elsewhere.
 */
import { mcpBindings, mcpModelName, mcpSources, selectorFor, type McpAnnotations, type PinnedMcp } from './mcp.js';
import type { Blueprint, McpToolSpec } from './schema.js';

/** One finding, at a blueprint path. */
export interface McpFinding {
  path: (string | number)[];
  message: string;
}

function agentsOf(bp: Blueprint, source: string): string[] {
  return Object.entries(bp.agents)
    .filter(([, a]) => a.tools.includes(source))
    .map(([n]) => n);
}

/**
 * Warnings from the blueprint alone: a selected tool whose side effect is left to the server's annotations and that
 * has no approval policy runs, if the server marks nothing, once and without anyone approving it.
 */
export function mcpWarnings(bp: Blueprint): McpFinding[] {
  const out: McpFinding[] = [];
  for (const [source, spec] of Object.entries(mcpSources(bp))) {
    const agents = agentsOf(bp, source);
    if (!agents.length) continue;
    for (const [selector, settings] of Object.entries(spec.tools)) {
      if (settings.sideEffect === undefined && !settings.approval) {
        out.push({
          path: ['mcp', source, 'tools', selector],
          message: `agent ${agents.join(', ')} gets MCP tool${selector.includes('*') ? 's' : ''} ${selector} with no sideEffect and no approval: an unmarked or destructive tool runs once, unapproved; set sideEffect or add an approval policy (baton validate --connect reads what the server marks each tool)`,
        });
      }
    }
  }
  return out;
}

/** True when the server marks the tool destructive: `destructiveHint: true`, whatever else it says. */
function markedDestructive(a: McpAnnotations | undefined): boolean {
  return a?.destructiveHint === true;
}

/** True when the server says neither that the tool only reads nor whether it destroys. */
function unmarked(a: McpAnnotations | undefined): boolean {
  return a?.readOnlyHint === undefined && a?.destructiveHint === undefined;
}

/** Where the fix goes: the exact entry, or a new exact entry when a pattern selected the tool. */
function entryFor(source: string, selector: string, tool: string): string {
  return selector === tool
    ? `to mcp.${source}.tools.${tool}`
    : `under a new entry mcp.${source}.tools.${tool} (the pattern ${selector} selects it)`;
}

/**
 * Findings from the servers' tool lists, as discovery pins them (`pinned`, by source; a source missing from it was
 * not reached and gets none). Errors are names that cannot be offered; the rest are warnings.
 */
export function mcpToolFindings(bp: Blueprint, pinned: PinnedMcp): { errors: McpFinding[]; warnings: McpFinding[] } {
  const errors: McpFinding[] = [];
  const warnings: McpFinding[] = [];
  const sources = Object.entries(mcpSources(bp)).filter(([source]) => pinned[source]);
  const only: Blueprint = { ...bp, mcp: Object.fromEntries(sources) };
  for (const problem of mcpBindings(only, pinned).problems) {
    const selector = selectorFor(only.mcp![problem.source]!, problem.tool);
    errors.push({ path: ['mcp', problem.source, 'tools', selector ?? problem.tool], message: problem.message });
  }
  for (const [source, spec] of sources) {
    const listed = pinned[source]!;
    const agents = agentsOf(bp, source);
    for (const selector of listed.unmatched) {
      const names = [...listed.tools.map((t) => t.name), ...listed.unselected].sort();
      warnings.push({
        path: ['mcp', source, 'tools', selector],
        message: `selects ${selector}, but the server lists no tool ${selector.includes('*') ? 'matching it' : 'by that name'}; it lists ${names.length ? names.slice(0, 30).join(', ') : 'no tools'}${names.length > 30 ? ', …' : ''}`,
      });
    }
    if (!agents.length) continue;
    for (const tool of listed.tools) {
      const selector = selectorFor(spec, tool.name);
      if (selector === undefined) continue;
      warnings.push(...toolWarnings(source, spec, selector, tool.name, tool.annotations, agents));
    }
  }
  return { errors, warnings };
}

function toolWarnings(
  source: string,
  spec: McpToolSpec,
  selector: string,
  tool: string,
  annotations: McpAnnotations | undefined,
  agents: string[],
): McpFinding[] {
  const settings = spec.tools[selector]!;
  const path = ['mcp', source, 'tools', selector];
  const who = `agent ${agents.join(', ')} gets ${mcpModelName(source, spec, tool)}`;
  const fix = entryFor(source, selector, tool);
  const out: McpFinding[] = [];
  if (markedDestructive(annotations) && (settings.sideEffect === 'none' || settings.sideEffect === 'idempotent')) {
    out.push({
      path,
      message: `the blueprint declares sideEffect ${settings.sideEffect} for ${tool}, which the server marks destructive (destructiveHint): it is retried after a failure; remove sideEffect (unsafe: one attempt) unless a retry cannot do harm`,
    });
  }
  if (settings.approval) return out;
  if (markedDestructive(annotations)) {
    out.push({
      path,
      message: `${who}, which the server marks destructive (destructiveHint), with no approval policy: it runs without anyone approving it; add approval: { approvers: [...] } ${fix}`,
    });
  } else if (unmarked(annotations) && settings.sideEffect !== 'none') {
    out.push({
      path,
      message: `${who}, which the server does not mark read-only or destructive (no readOnlyHint, no destructiveHint), with no approval policy: it runs ${settings.sideEffect === undefined || settings.sideEffect === 'unsafe' ? 'once, ' : ''}unapproved; add approval: { approvers: [...] } ${fix}, or sideEffect: none if it only reads`,
    });
  }
  return out;
}
