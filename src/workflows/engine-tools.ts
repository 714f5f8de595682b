/**
 * Tools the engine itself provides: shared memory, asking a human, handoffs, planning, delegation and the
 * validator's verdicts. They run in the workflow (no activity), and each has one zod schema that gives both the
 * JSON Schema the model sees and the parser of its arguments.
 */
import { z } from 'zod';
import { deepFreeze } from '../blueprint/derived-cache.js';
import {
  DERIVED_ENGINE_TOOLS,
  HANDOFF_PREFIX,
  LISTED_ENGINE_TOOLS,
  type EngineToolKind,
} from '../blueprint/engine-tool-names.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import { formatIssues } from '../text.js';
import { ENGINE_TOOLS } from './engine-tool-registry.js';

/** How the engine handles a tool an agent was offered. */
export type OfferedTool =
  | { kind: 'blueprint'; name: string }
  | { kind: 'memory_read' | 'memory_write' | 'ask_human' | 'plan' | 'accept_answer' | 'reject_answer' }
  | { kind: 'handoff'; to: string }
  | { kind: 'delegate'; agents: string[] };

/** A tool as offered to the model: its handling, description and argument schema. */
export interface ToolOffer {
  tool: OfferedTool;
  description: string;
  /** The parser of the arguments, for engine tools; blueprint tools are checked against their JSON Schema. */
  schema?: z.ZodType;
}

/** What the goal's situation adds to an agent's tools. */
export interface OfferContext {
  /** The agent is the blueprint's validator and an answer waits for its verdict. */
  validating: boolean;
  /** The goal is a delegated sub-task (it does not delegate further). */
  isTask: boolean;
  parallelTasks: number;
}

function offer(
  bp: Blueprint,
  agent: AgentSpec,
  tool: Exclude<OfferedTool, { kind: 'blueprint' }>,
  ctx: OfferContext,
): ToolOffer {
  const t = ENGINE_TOOLS[tool.kind];
  const to = tool.kind === 'handoff' ? tool.to : undefined;
  return { tool, description: t.description(bp, agent, to), schema: t.schema(agent, ctx.parallelTasks) };
}

/** Every tool the agent may call now, by name. Anything else it calls is refused. */
export function offeredTools(bp: Blueprint, agent: AgentSpec, ctx: OfferContext): Map<string, ToolOffer> {
  const offers = new Map<string, ToolOffer>();
  for (const name of agent.tools) {
    if (name === 'memory_read' || name === 'memory_write' || name === 'ask_human') {
      offers.set(name, offer(bp, agent, { kind: name }, ctx));
      continue;
    }
    const spec = bp.tools[name];
    if (spec) offers.set(name, { tool: { kind: 'blueprint', name }, description: spec.description ?? `Tool ${name}` });
  }
  for (const to of agent.handoffs) offers.set(`${HANDOFF_PREFIX}${to}`, offer(bp, agent, { kind: 'handoff', to }, ctx));
  if (agent.delegates.length && !ctx.isTask) {
    offers.set('delegate', offer(bp, agent, { kind: 'delegate', agents: [...agent.delegates] }, ctx));
  }
  if (agent.role === 'planner') offers.set('plan', offer(bp, agent, { kind: 'plan' }, ctx));
  if (ctx.validating) {
    offers.set('accept_answer', offer(bp, agent, { kind: 'accept_answer' }, ctx));
    offers.set('reject_answer', offer(bp, agent, { kind: 'reject_answer' }, ctx));
  }
  return offers;
}

/** True when `name` is a tool some agent of the blueprint could be offered: calling it is then a refusal, not a typo. */
export function isKnownTool(bp: Blueprint, name: string): boolean {
  if (bp.tools[name]) return true;
  if ([...LISTED_ENGINE_TOOLS, ...DERIVED_ENGINE_TOOLS].includes(name as EngineToolKind)) return true;
  return name.startsWith(HANDOFF_PREFIX) && bp.agents[name.slice(HANDOFF_PREFIX.length)] !== undefined;
}

/** The JSON Schema the model sees for an engine tool's arguments. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  // Asked for on every model call; the schemas are fixed, so each is converted once per goal.
  let json = jsonSchemas.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, { io: 'input' });
    delete json.$schema;
    jsonSchemas.set(schema, deepFreeze(json));
  }
  return json;
}

const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();

/** Readable zod issues: `tasks.0.agent: Invalid option...; note: Required`. */
export function describeIssues(error: z.ZodError): string {
  return formatIssues(error.issues);
}
