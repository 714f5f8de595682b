/**
 * The model side of a turn: the `callModel` activity with the agent's transcript window, the reply's usage priced
 * into the record, and the descriptors and parsers of the tools the agent is offered.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import type { ModelReply, ToolDescriptor } from '../activities/index.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import { ModelInvocationError } from '../failures.js';
import { callModel } from './activity-profiles.js';
import { parserForJsonSchema } from './arguments.js';
import type { GoalRecord } from './definitions.js';
import type { EngineContext } from './engine-context.js';
import { jsonSchemaOf, type ToolOffer } from './engine-tools.js';
import { contextWindow } from './transcript.js';

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
          messages: [{ role: 'system', content: system }, ...contextWindow(ctx.r.messages, ctx.limits.contextMessages)],
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
