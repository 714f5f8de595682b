/**
 * Tools the engine itself provides: shared memory, asking a human, handoffs, planning, delegation and the
 * validator's verdicts. They run in the workflow (no activity), and each has one zod schema that gives both the
 * JSON Schema the model sees and the parser of its arguments.
 */
import { z } from 'zod';
import { HANDOFF_PREFIX, type AgentSpec, type Blueprint } from '../blueprint/schema.js';

const MemoryKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:/-]{1,100}$/, { message: 'a key is 1-100 letters, digits or _ . : / -' });

export const memoryWriteArgs = z.strictObject({
  key: MemoryKey.describe('Name of the fact, e.g. customer.tier'),
  value: z.unknown().describe('The fact: text or any JSON value'),
});
export const memoryReadArgs = z.strictObject({
  key: MemoryKey.optional().describe('Read this key only'),
  prefix: z.string().max(100).optional().describe('Read every key that starts with this'),
});
export const askHumanArgs = z.strictObject({
  question: z.string().min(1).max(2000).describe('What you need a human to tell you, answerable in a few words'),
});
export const handoffArgs = z.strictObject({
  note: z.string().min(1).max(4000).describe('What the next agent needs to know to continue'),
});
export const planArgs = z.strictObject({
  steps: z
    .array(
      z.strictObject({
        task: z.string().min(1).max(500),
        agent: z.string().optional().describe('The agent expected to do it'),
        status: z.enum(['pending', 'in_progress', 'done']).default('pending'),
      }),
    )
    .min(1)
    .max(50)
    .describe('The whole plan, in order; each call replaces the previous plan'),
});
export const acceptArgs = z.strictObject({
  note: z.string().max(2000).optional().describe('Why the answer is right'),
});
export const rejectArgs = z.strictObject({
  feedback: z.string().min(1).max(4000).describe('What is wrong or missing, for the agent that wrote the answer'),
});

/** The delegate tool's arguments for an agent that may delegate to `agents`, at most `max` tasks at once. */
export function delegateArgs(agents: readonly string[], max: number) {
  return z.strictObject({
    tasks: z
      .array(
        z.strictObject({
          agent: z.enum(agents as [string, ...string[]]).describe('Who works on the sub-task'),
          task: z.string().min(1).max(4000).describe('The sub-task, self-contained: the agent sees only this'),
        }),
      )
      .min(1)
      .max(max)
      .describe('Independent sub-tasks; they run at the same time'),
  });
}

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

function agentLine(bp: Blueprint, name: string): string {
  const a = bp.agents[name];
  return a?.description ? `${name} (${a.description})` : name;
}

/** Every tool the agent may call now, by name. Anything else it calls is refused. */
export function offeredTools(bp: Blueprint, agent: AgentSpec, ctx: OfferContext): Map<string, ToolOffer> {
  const offers = new Map<string, ToolOffer>();
  for (const name of agent.tools) {
    switch (name) {
      case 'memory_read':
        offers.set(name, {
          tool: { kind: name },
          description: 'Read shared memory: facts any agent of this goal saved. No arguments reads everything.',
          schema: memoryReadArgs,
        });
        break;
      case 'memory_write':
        offers.set(name, {
          tool: { kind: name },
          description: 'Save a fact in shared memory for every agent of this goal; writing a key again replaces it.',
          schema: memoryWriteArgs,
        });
        break;
      case 'ask_human':
        offers.set(name, {
          tool: { kind: name },
          description: 'Ask a human a question and wait for the answer. Use it when you are unsure and must not guess.',
          schema: askHumanArgs,
        });
        break;
      default: {
        const spec = bp.tools[name];
        if (spec)
          offers.set(name, { tool: { kind: 'blueprint', name }, description: spec.description ?? `Tool ${name}` });
      }
    }
  }
  for (const to of agent.handoffs) {
    offers.set(`${HANDOFF_PREFIX}${to}`, {
      tool: { kind: 'handoff', to },
      description: `Hand the goal to ${agentLine(bp, to)}. You stop working on it; write what they need in the note.`,
      schema: handoffArgs,
    });
  }
  if (agent.delegates.length && !ctx.isTask) {
    offers.set('delegate', {
      tool: { kind: 'delegate', agents: [...agent.delegates] },
      description: `Give independent sub-tasks to ${agent.delegates.map((a) => agentLine(bp, a)).join(', ')}. They run at the same time, each with a share of the budget; you get all their results.`,
      schema: delegateArgs(agent.delegates, ctx.parallelTasks),
    });
  }
  if (agent.role === 'planner') {
    offers.set('plan', {
      tool: { kind: 'plan' },
      description: 'Record your plan (the whole list of steps) in the goal state; call it again to update statuses.',
      schema: planArgs,
    });
  }
  if (ctx.validating) {
    offers.set('accept_answer', {
      tool: { kind: 'accept_answer' },
      description: 'Accept the proposed final answer: the goal completes with it.',
      schema: acceptArgs,
    });
    offers.set('reject_answer', {
      tool: { kind: 'reject_answer' },
      description: 'Send the proposed answer back to the agent that wrote it, with feedback to act on.',
      schema: rejectArgs,
    });
  }
  return offers;
}

/** True when `name` is a tool some agent of the blueprint could be offered: calling it is then a refusal, not a typo. */
export function isKnownTool(bp: Blueprint, name: string): boolean {
  if (bp.tools[name]) return true;
  if (['memory_read', 'memory_write', 'ask_human', 'plan', 'delegate', 'accept_answer', 'reject_answer'].includes(name))
    return true;
  return name.startsWith(HANDOFF_PREFIX) && bp.agents[name.slice(HANDOFF_PREFIX.length)] !== undefined;
}

/** The JSON Schema the model sees for an engine tool's arguments. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** Readable zod issues: `tasks.0.agent: Invalid option...; note: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
}
