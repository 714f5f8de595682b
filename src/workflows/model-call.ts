/**
 * The model side of a turn: the `callModel` activity with the agent's transcript window, the reply's usage priced
 * into the record, and the descriptors and parsers of the tools the agent is offered.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, patched, TimeoutFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import type { ModelReply, ToolDescriptor } from '../activities/index.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import { ModelInvocationError } from '../failures.js';
import { callModel } from './activity-profiles.js';
import { parserForJsonSchema } from './arguments.js';
import type { GoalRecord } from './definitions.js';
import type { EngineContext } from './engine-context.js';
import { jsonSchemaOf, type ToolOffer } from './engine-tools.js';
import { DEFAULT_MODEL_RETRY_FOR, modelCallOptions } from './model-options.js';
import { Patch } from './patches.js';
import { addUsageNotes, replyUsageNotes } from './budget.js';
import { contextWindow } from './transcript.js';

/**
 * The Web UI's summary of a model call: the model that serves it, as its endpoint named it on an earlier reply
 * (`scripted:gpt-4o-mini` when the scripted model answers); before any reply, the model asked for, said so.
 */
function modelSummary(ctx: EngineContext, model: string): string {
  if (!patched(Patch.modelCallSummary)) return `${ctx.r.agent}: model ${model}`;
  const served = ctx.r.servedBy?.[model];
  return served ? `${ctx.r.agent}: model ${served}` : `${ctx.r.agent}: model ${model} (requested)`;
}

/**
 * One model call. When Temporal gives up on it, the goal fails with the agent, step and cause named; an exhausted
 * quota, or an outage that outlasts the model's `retryFor`, first pauses the goal for the budget's approvers (the
 * people who answer for spending), who resume it once the endpoint works again.
 */
export async function askModel(
  ctx: EngineContext,
  settings: Blueprint['models'][string],
  modelKey: string,
  tools: ToolDescriptor[],
  system: string,
): Promise<ModelReply> {
  const fromSettings = patched(Patch.modelSettings);
  for (let resumed = 0; ; resumed++) {
    try {
      const reply = await callModel.executeWithOptions(
        {
          activityId: resumed ? `model-${ctx.r.step}-${resumed + 1}` : `model-${ctx.r.step}`,
          summary: modelSummary(ctx, settings.model),
          ...(fromSettings ? modelCallOptions(settings) : {}),
        },
        [
          {
            goal: ctx.bp.name,
            agent: ctx.r.agent,
            settings,
            ...(fromSettings ? { modelKey } : {}),
            messages: [
              { role: 'system', content: system },
              ...contextWindow(ctx.r.messages, ctx.limits.contextMessages),
            ],
            tools,
          },
        ],
      );
      if (reply.model && reply.model !== settings.model)
        ctx.r.servedBy = { ...ctx.r.servedBy, [settings.model]: reply.model };
      return reply;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const where = `model call for agent ${ctx.r.agent} at step ${ctx.r.step}`;
      if (!fromSettings) {
        if (err.cause instanceof ApplicationFailure) {
          ctx.fail(`${where} failed: ${err.cause.message}`, err.cause.type ?? ModelInvocationError.Unclassified);
        }
        throw err;
      }
      const stop = modelStoppage(err, settings);
      if (!stop) throw err;
      const policy = ctx.bp.budget.approval;
      if (stop.pausable && policy && !ctx.args.task) {
        const record = await ctx.waitingOnHumans(() =>
          ctx.desk.request({
            tool: 'model',
            args: { model: settings.model, failure: stop.type },
            reason: `${where} stopped: ${stop.message}. Approve to try again once the endpoint works (credit added, outage over); reject to fail the goal`,
            requestedBy: ctx.r.agent,
            policy,
          }),
        );
        if (record.status === 'approved') continue;
        ctx.fail(`${where} stopped (${stop.message}) and ${record.id} was not approved`, stop.type);
      }
      ctx.fail(`${where} failed: ${stop.message}`, stop.type);
    }
  }
}

/** Why Temporal gave up on a model call, and whether a human can fix it and resume the goal. */
function modelStoppage(
  err: ActivityFailure,
  settings: Blueprint['models'][string],
): { message: string; type: string; pausable: boolean } | undefined {
  const cause = err.cause;
  const retryFor = settings.retryFor ?? DEFAULT_MODEL_RETRY_FOR;
  // Temporal stops retrying at the schedule-to-close, or earlier when the next retry would pass it.
  if (cause instanceof ApplicationFailure && !cause.nonRetryable && err.retryState === RetryState.TIMEOUT) {
    return {
      message: `retried for ${retryFor} without success (the model's retryFor); the last attempt: ${cause.message}`,
      type: cause.type ?? ModelInvocationError.Unavailable,
      pausable: true,
    };
  }
  if (cause instanceof ApplicationFailure) {
    return {
      message: cause.message,
      type: cause.type ?? ModelInvocationError.Unclassified,
      pausable: cause.type === ModelInvocationError.QuotaExhausted,
    };
  }
  if (cause instanceof TimeoutFailure) {
    const last = cause.cause instanceof Error ? `; the last attempt: ${cause.cause.message}` : '';
    return {
      message: `retried for ${retryFor} without success (the model's retryFor)${last}`,
      type: ModelInvocationError.Unavailable,
      pausable: true,
    };
  }
  return undefined;
}

/** Adds a reply's tokens to the goal's usage, priced from the blueprint. */
export function addUsage(ctx: EngineContext, reply: ModelReply, agent: AgentSpec): void {
  const price = ctx.bp.models[agent.model]?.price;
  ctx.r.usage.inputTokens += reply.usage.inputTokens;
  ctx.r.usage.outputTokens += reply.usage.outputTokens;
  addUsageNotes(ctx.r.usage, replyUsageNotes(reply.usage));
  // The activity prices what it read (cached input at its own price); replies recorded before it did are priced here.
  if (reply.usage.costUsd !== undefined) ctx.r.usage.costUsd += reply.usage.costUsd;
  else if (price) {
    ctx.r.usage.costUsd += (reply.usage.inputTokens * price.input + reply.usage.outputTokens * price.output) / 1e6;
  }
}

/** The tools' argument schemas: engine tools bring their own; blueprint tools have JSON Schema (builtins asked once). */
export class ToolSchemas {
  private readonly parsers = new Map<string, z.ZodType | undefined>();

  constructor(
    private readonly bp: Blueprint,
    private readonly r: GoalRecord,
    /** The pinned input schemas of MCP tools, by the name the model calls them. */
    private readonly mcpParameters: (name: string) => Record<string, unknown> | undefined = () => undefined,
  ) {}

  private blueprintParameters(name: string): Record<string, unknown> | undefined {
    const spec = this.bp.tools[name];
    if (!spec) return this.mcpParameters(name);
    return spec.type === 'http' ? spec.parameters : (this.r.builtinSchemas[spec.function ?? name] ?? undefined);
  }

  descriptors(offers: Map<string, ToolOffer>): ToolDescriptor[] {
    return [...offers].map(([name, offer]): ToolDescriptor => {
      const spec = this.bp.tools[name];
      const fn = spec?.type === 'builtin' ? (spec.function ?? name) : undefined;
      if (!offer.schema && fn !== undefined && !(fn in this.r.builtinSchemas)) {
        // Not known yet: the model-call activity sends the worker's schema and returns it with the reply.
        return { name, description: offer.description, parameters: { type: 'object' }, builtin: fn };
      }
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
