/**
 * The names of the engine's own tools, in one place: the blueprint schema reserves them and the workflow's tool
 * registry (src/workflows/engine-tools.ts) must have a handler for each kind, or it does not compile.
 */

/** How an agent gets an engine tool: it lists it (`tools: [memory_read]`), or the engine derives it. */
export const ENGINE_TOOL_KINDS = {
  memory_read: 'listed',
  memory_write: 'listed',
  ask_human: 'listed',
  plan: 'derived',
  delegate: 'derived',
  accept_answer: 'derived',
  reject_answer: 'derived',
  /** One per agent it may hand off to, named with HANDOFF_PREFIX. */
  handoff: 'derived',
} as const;

/** An engine tool's kind. */
export type EngineToolKind = keyof typeof ENGINE_TOOL_KINDS;

/** Prefix of handoff tools: `handoff_to_billing`. */
export const HANDOFF_PREFIX = 'handoff_to_';

const kinds = Object.keys(ENGINE_TOOL_KINDS) as EngineToolKind[];

/** Engine tools an agent may list under `tools`. */
export const LISTED_ENGINE_TOOLS = kinds.filter((k) => ENGINE_TOOL_KINDS[k] === 'listed');

/** Engine tools the engine derives from the blueprint under their own name (handoffs have a prefix instead). */
export const DERIVED_ENGINE_TOOLS = kinds.filter((k) => ENGINE_TOOL_KINDS[k] === 'derived' && k !== 'handoff');
