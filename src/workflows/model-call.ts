/**
 * The model side of a turn: the `callModel` activity with the agent's transcript window, the reply's usage priced
 * into the record, and the descriptors and parsers of the tools the agent is offered.
 */
import { ActivityFailure, ApplicationFailure, patched } from '@temporalio/workflow';
import type { z } from 'zod';
import type { ModelReply, ToolDescriptor } from '../activities/index.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import { ModelInvocationError } from '../failures.js';
import { callModel } from './activity-profiles.js';
import { parserForJsonSchema } from './arguments.js';
import type { GoalRecord } from './definitions.js';
import type { EngineContext } from './engine-context.js';
import { jsonSchemaOf, type ToolOffer } from './engine-tools.js';
import {
  compactionSplit,
  promptBudget,
  requestTokens,
  SUMMARY_HEADING,
  summaryMessages,
  visibleMessages,
} from './context-budget.js';
import { Patch } from './patches.js';

/** One model call; when Temporal has given up on it, the goal fails with the agent, step and cause named. */
export async function askModel(
  ctx: EngineContext,
  settings: Blueprint['models'][string],
  tools: ToolDescriptor[],
  system: string,
): Promise<ModelReply> {
  try {
    return await callModel.executeWithOptions(
      { activityId: `model-${ctx.r.step}`, summary: `${ctx.r.agent}: model ${settings.model}` },
      [
        {
          goal: ctx.bp.name,
          agent: ctx.r.agent,
          settings,
          messages: [
            { role: 'system', content: system },
            ...visibleMessages(ctx.r.messages, settings, ctx.limits.contextMessages),
          ],
          tools,
        },
      ],
    );
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
      ctx.fail(
        `model call for agent ${ctx.r.agent} at step ${ctx.r.step} failed: ${err.cause.message}`,
        err.cause.type ?? ModelInvocationError.Unclassified,
      );
    }
    throw err;
  }
}

/**
 * Before a call to a model with a `contextWindow`: when the request (estimated, times `scale` learnt from the
 * provider's counts) would not fit, the model summarises the older messages (a model call recorded like any other,
 * its usage counted) and the summary replaces them. See src/workflows/context-budget.ts.
 */
export async function fitContext(
  ctx: EngineContext,
  settings: Blueprint['models'][string],
  agent: AgentSpec,
  tools: ToolDescriptor[],
  system: string,
  scale: number,
): Promise<void> {
  const budget = promptBudget(settings);
  if (budget === undefined) return;
  if (Math.ceil(requestTokens(system, tools, ctx.r.messages) * scale) <= budget) return;
  if (!patched(Patch.tokenAwareContext)) return;
  const [opening, ...rest] = ctx.r.messages;
  const split = opening ? compactionSplit(rest, budget - requestTokens(system, tools, [opening])) : undefined;
  if (!opening || !split) return;
  const reply = await callModel.executeWithOptions(
    {
      activityId: `compact-${ctx.r.step}`,
      summary: `${ctx.r.agent}: compact context (${split.older.length} messages)`,
    },
    [{ goal: ctx.bp.name, agent: ctx.r.agent, settings, messages: summaryMessages(split.older, budget), tools: [] }],
  );
  addUsage(ctx, reply, agent);
  ctx.r.messages.splice(
    0,
    ctx.r.messages.length,
    opening,
    {
      role: 'user',
      content: `${SUMMARY_HEADING}\n${reply.content ?? ''}`,
    },
    ...split.kept,
  );
}

/** Adds a reply's tokens to the goal's usage, priced from the blueprint. */
export function addUsage(ctx: EngineContext, reply: ModelReply, agent: AgentSpec): void {
  const price = ctx.bp.models[agent.model]?.price;
  ctx.r.usage.inputTokens += reply.usage.inputTokens;
  ctx.r.usage.outputTokens += reply.usage.outputTokens;
  if (price) {
    ctx.r.usage.costUsd += (reply.usage.inputTokens * price.input + reply.usage.outputTokens * price.output) / 1e6;
  }
}

/** The tools' argument schemas: engine tools bring their own; blueprint tools have JSON Schema (builtins asked once). */
export class ToolSchemas {
  private readonly parsers = new Map<string, z.ZodType | undefined>();

  constructor(
    private readonly bp: Blueprint,
    private readonly r: GoalRecord,
  ) {}

  private blueprintParameters(name: string): Record<string, unknown> | undefined {
    const spec = this.bp.tools[name];
    if (!spec) return undefined;
    return spec.type === 'http' ? spec.parameters : (this.r.builtinSchemas[spec.function ?? name] ?? undefined);
  }

  descriptors(offers: Map<string, ToolOffer>): ToolDescriptor[] {
    return [...offers].map(([name, offer]): ToolDescriptor => {
      const parameters = offer.schema
        ? jsonSchemaOf(offer.schema)
        : (this.blueprintParameters(name) ?? { type: 'object' });
      return { name, description: offer.description, parameters };
    });
  }

  parserFor(name: string): z.ZodType | undefined {
    if (!this.parsers.has(name)) {
      const schema = this.blueprintParameters(name);
      this.parsers.set(name, schema ? parserForJsonSchema(schema) : undefined);
    }
    return this.parsers.get(name);
  }
}
