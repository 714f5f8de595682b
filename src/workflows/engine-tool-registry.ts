/**
 * The engine's own tools as values, one per kind: what the model is told (the prompt hint), the zod schema that
 * gives both the JSON Schema the model sees and the parser of its arguments, the handler that runs it in the
 * workflow (no activity), and how the audit reads its outcome (the structured fact recorded for each call, facts.ts). The registry is keyed by EngineToolKind (src/blueprint/engine-tool-names.ts), whose
 * names the blueprint schema reserves: a kind without a value here does not compile. Adding an engine tool is one
 * name there, one value here, and its test.
 */
import { z } from 'zod';
import type { EngineToolKind } from '../blueprint/engine-tool-names.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import type { MemoryEntry } from './definitions.js';
import { delegate } from './delegate-tool.js';
import type { CallOutcome, EngineContext } from './engine-context.js';
import { GoalFailure } from '../failures.js';
import { askHuman } from './human-wait.js';
import { readMemory, writeMemory } from './memory.js';
import { judge } from './validation.js';
import { derived } from '../blueprint/derived-cache.js';

/**
 * An argument schema built on its first use and then shared by the goals of the worker thread (derived-cache.ts). A
 * zod schema is a pure value; built at module evaluation, every new goal built all of them before its first task
 * (about a millisecond under load, issue 16). Module-level zod schemas cannot be preloaded instead: the SDK freezes
 * preloaded modules and zod completes a schema's internals on its first parse.
 */
function shared<S>(name: string, build: () => S): () => S {
  return () => derived('engine-tool-args', name, build);
}

const memoryKey = () =>
  z.string().regex(/^[A-Za-z0-9_.:/-]{1,100}$/, { message: 'a key is 1-100 letters, digits or _ . : / -' });

export const memoryWriteArgs = shared('memory_write', () =>
  z.strictObject({
    key: memoryKey().describe('Name of the fact, e.g. customer.tier'),
    value: z.unknown().describe('The fact: text or any JSON value'),
  }),
);
export const memoryReadArgs = shared('memory_read', () =>
  z.strictObject({
    key: memoryKey().optional().describe('Read this key only'),
    prefix: z.string().max(100).optional().describe('Read every key that starts with this'),
  }),
);
export const askHumanArgs = shared('ask_human', () =>
  z.strictObject({
    question: z.string().min(1).max(2000).describe('What you need a human to tell you, answerable in a few words'),
  }),
);
export const handoffArgs = shared('handoff', () =>
  z.strictObject({
    note: z.string().min(1).max(4000).describe('What the next agent needs to know to continue'),
  }),
);
export const planArgs = shared('plan', () =>
  z.strictObject({
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
  }),
);
export const acceptArgs = shared('accept_answer', () =>
  z.strictObject({
    note: z.string().max(2000).optional().describe('Why the answer is right'),
  }),
);
export const rejectArgs = shared('reject_answer', () =>
  z.strictObject({
    feedback: z.string().min(1).max(4000).describe('What is wrong or missing, for the agent that wrote the answer'),
  }),
);

/** The delegate tool's arguments for an agent that may delegate to `agents`, at most `max` tasks at once. */
export function delegateArgs(agents: readonly string[], max: number) {
  return derived('engine-tool-args', `delegate\u0000${max}\u0000${JSON.stringify(agents)}`, () =>
    z.strictObject({
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
    }),
  );
}

/** One call of an engine tool, its arguments checked against the tool's schema. */
export interface EngineCall<A> {
  actor: string;
  /** The goal step the call is (it counts as one), and when it ran. */
  step: number;
  at: string;
  args: A;
  /** The handoff's target, for handoff tools. */
  to?: string;
  /** The model's id for the call, which the audit's facts carry. */
  callId?: string;
}

/** How the audit reads one call of an engine tool: a line, and structured details. */
export interface EngineAudit {
  summary: string;
  detail?: Record<string, unknown>;
}

/** An engine tool: its prompt hint, its argument schema, its handler and how the audit reads its outcome. */
export interface EngineTool<S extends z.ZodType> {
  description(bp: Blueprint, agent: AgentSpec, to?: string): string;
  schema(agent: AgentSpec, parallelTasks: number): S;
  handle(ctx: EngineContext, call: EngineCall<z.output<S>>): CallOutcome | Promise<CallOutcome>;
  /** The audit's reading of a call that was handled (calls the model must repair are recorded as `invalid`). */
  audit(call: EngineCall<z.output<S>>, outcome: CallOutcome): EngineAudit;
}

function tool<S extends z.ZodType>(t: EngineTool<S>): EngineTool<S> {
  return t;
}

function agentLine(bp: Blueprint, name: string): string {
  const a = bp.agents[name];
  return a?.description ? `${name} (${a.description})` : name;
}

function verdict(
  ctx: EngineContext,
  call: EngineCall<unknown>,
  v: { accepted: true; note?: string | undefined } | { accepted: false; feedback: string },
): CallOutcome {
  const j = judge(ctx.r.validation, v, call.actor, call.step, call.at, ctx.limits.validationRounds);
  switch (j.kind) {
    case 'none':
      return { output: 'error: there is no answer waiting for a verdict', repair: true };
    case 'exhausted':
      return ctx.fail(j.reason, GoalFailure.ValidationFailed);
    case 'accepted':
      ctx.complete(j.answer, j.by, call.actor);
      return { output: 'accepted: the goal is complete', repair: false, endsTurn: 'the goal is complete' };
    case 'rejected':
      ctx.r.agent = j.by;
      ctx.notes.push(j.feedback);
      ctx.publish();
      return {
        output: `sent back to ${j.by} with your feedback`,
        repair: false,
        endsTurn: `the answer went back to ${j.by}`,
      };
  }
}

/** Every engine tool, by kind. */
export const ENGINE_TOOLS = {
  memory_read: tool({
    description: () => 'Read shared memory: facts any agent of this goal saved. No arguments reads everything.',
    schema: memoryReadArgs,
    handle: (ctx, call) => ({ output: readMemory(ctx.r.memory, call.args), repair: false }),
    audit: ({ args }) => ({
      summary: args.key ? `read memory ${args.key}` : args.prefix ? `read memory ${args.prefix}*` : 'read all memory',
      detail: { key: args.key ?? null, prefix: args.prefix ?? null },
    }),
  }),
  memory_write: tool({
    description: () => 'Save a fact in shared memory for every agent of this goal; writing a key again replaces it.',
    schema: memoryWriteArgs,
    handle(ctx, { actor, step, at, args }) {
      const entry: MemoryEntry = { key: args.key, value: args.value, agent: actor, step, at };
      if (ctx.args.task) entry.task = ctx.args.task.taskId;
      return { output: writeMemory(ctx.r.memory, entry, ctx.limits.memoryEntries).output, repair: false };
    },
    audit: ({ args }) => ({ summary: `wrote memory ${args.key}`, detail: { key: args.key } }),
  }),
  ask_human: tool({
    description: () => 'Ask a human a question and wait for the answer. Use it when you are unsure and must not guess.',
    schema: askHumanArgs,
    handle: (ctx, call) => askHuman(ctx, call.actor, call.args.question, call.callId),
    audit: (_call, outcome) => {
      const d = outcome.detail as { questionId?: string; status?: string; by?: string | null } | undefined;
      const id = d?.questionId ?? 'the question';
      return {
        summary: d?.status === 'answered' ? `${id} answered by ${d.by ?? 'a human'}` : `${id} went unanswered`,
        ...(outcome.detail ? { detail: outcome.detail } : {}),
      };
    },
  }),
  plan: tool({
    description: () =>
      'Record your plan (the whole list of steps) in the goal state; call it again to update statuses.',
    schema: planArgs,
    handle(ctx, { actor, step, at, args }) {
      const revision = (ctx.r.plan?.revision ?? 0) + 1;
      ctx.r.plan = { agent: actor, step, at, revision, steps: args.steps };
      ctx.publish();
      return { output: `plan recorded (revision ${revision}, ${args.steps.length} steps)`, repair: false };
    },
    audit: ({ args }) => ({ summary: `plan recorded (${args.steps.length} steps)`, detail: { steps: args.steps } }),
  }),
  handoff: tool({
    description: (bp, _agent, to = '') =>
      `Hand the goal to ${agentLine(bp, to)}. You stop working on it; write what they need in the note.`,
    schema: handoffArgs,
    handle(ctx, { actor, step, at, args, to = '' }) {
      ctx.r.handoffs.push({ from: actor, to, note: args.note, step, at });
      ctx.r.agent = to;
      ctx.notes.push({ role: 'user', content: `[handoff from ${actor} to ${to}] ${args.note}` });
      ctx.publish();
      return { output: `handed off to ${to}`, repair: false, endsTurn: `the goal was handed off to ${to}` };
    },
    audit: ({ to = '', args }) => ({ summary: `handed off to ${to}`, detail: { to, note: args.note } }),
  }),
  delegate: tool({
    description: (bp, agent) =>
      `Give independent sub-tasks to ${agent.delegates.map((a) => agentLine(bp, a)).join(', ')}. They run at the same time, each with a share of the budget; you get all their results.`,
    schema: (agent, parallelTasks) => delegateArgs(agent.delegates, parallelTasks),
    handle: (ctx, call) => delegate(ctx, call.actor, call.args.tasks),
    audit: ({ args }) => ({
      summary: `delegated ${args.tasks.length} task${args.tasks.length === 1 ? '' : 's'} to ${args.tasks.map((t) => t.agent).join(', ')}`,
      detail: { agents: args.tasks.map((t) => t.agent) },
    }),
  }),
  accept_answer: tool({
    description: () => 'Accept the proposed final answer: the goal completes with it.',
    schema: acceptArgs,
    handle: (ctx, call) => verdict(ctx, call, { accepted: true, ...call.args }),
    audit: ({ args }) => ({ summary: 'accepted the answer', detail: { verdict: 'accepted', note: args.note ?? null } }),
  }),
  reject_answer: tool({
    description: () => 'Send the proposed answer back to the agent that wrote it, with feedback to act on.',
    schema: rejectArgs,
    handle: (ctx, call) => verdict(ctx, call, { accepted: false, ...call.args }),
    audit: ({ args }, outcome) => ({
      summary: outcome.output,
      detail: { verdict: 'rejected', feedback: args.feedback },
    }),
  }),
} satisfies { [K in EngineToolKind]: EngineTool<z.ZodType> };
