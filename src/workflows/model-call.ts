/**
 * The model side of a turn: the `callModel` activity with the agent's transcript window, the reply's usage priced
 * into the record, and the descriptors and parsers of the tools the agent is offered.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import type { ModelReply, ModelRequest, ToolDescriptor } from '../activities/index.js';
import type { AgentSpec, Blueprint } from '../blueprint/schema.js';
import { GoalFailure, ModelInvocationError } from '../failures.js';
import { callModel } from './activity-profiles.js';
import { parserForJsonSchema } from '../blueprint/json-schema-parser.js';
import type { ChatMessage, GoalRecord } from './definitions.js';
import type { EngineContext } from './engine-context.js';
import { jsonSchemaOf, type ToolOffer } from './engine-tools.js';
import { DEFAULT_MODEL_RETRY_FOR, modelCallOptions } from './model-options.js';
import { changed, Patch } from './patches.js';
import {
  compactionSplit,
  promptBudget,
  requestTokens,
  SUMMARY_HEADING,
  summaryMessages,
  visibleMessages,
} from './context-budget.js';
import { addUsageNotes, replyUsageNotes } from './budget.js';

/**
 * The Web UI's summary of a model call: the model that serves it, as its endpoint named it on an earlier reply
 * (`scripted:gpt-4o-mini` when the scripted model answers); before any reply, the model asked for, said so.
 */
function modelSummary(ctx: EngineContext, model: string): string {
  if (!changed(Patch.modelCallSummary)) return `${ctx.r.agent}: model ${model}`;
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
  const fromSettings = changed(Patch.modelSettings);
  const transcript = transcriptOf(ctx, settings, system);
  for (let resumed = 0; ; resumed++) {
    const opening = ctx.desk.gate.opening;
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
            ...transcript.fields,
            tools,
            ...(opening ? { opening } : {}),
          },
        ],
      );
      // The call checked the goal's opening before it called the model; the goal records the trust it read and the
      // verdict (or reaches it again, for a reply without one). A reply without the trust (a worker that predates the
      // check) gets a read of its own.
      if (opening && reply.trust) ctx.desk.gate.accept(reply.trust, reply.opening);
      else if (opening) await ctx.desk.gate.ensureOpen();
      if (reply.model && reply.model !== settings.model)
        ctx.r.servedBy = { ...ctx.r.servedBy, [settings.model]: reply.model };
      if (transcript.upTo !== undefined) {
        if (reply.context) ctx.r.context = { ref: reply.context, upTo: transcript.upTo };
        else delete ctx.r.context;
      }
      return reply;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // The call refused the goal's opening (an unregistered blueprint, an unauthenticated start): the model was not
      // called, and the goal fails as it would have on a trust read of its own.
      if (opening && err.cause instanceof ApplicationFailure && err.cause.type === GoalFailure.Blueprint) {
        throw ApplicationFailure.nonRetryable(err.cause.message, GoalFailure.Blueprint);
      }
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

/**
 * The transcript part of a model request. By reference (issue 14): the transcript the previous call stored, the
 * messages added since, and the window for the activity to apply, so the input stays the same size however long the
 * goal runs; `upTo` is how many of the goal's messages the stored transcript then covers. Goals started before it
 * send the window inline.
 */
function transcriptOf(
  ctx: EngineContext,
  settings: Blueprint['models'][string],
  system: string,
): { fields: Pick<ModelRequest, 'messages' | 'base' | 'window' | 'keepContext'>; upTo?: number } {
  const head: ChatMessage = { role: 'system', content: system };
  const visible = () => visibleMessages(ctx.r.messages, settings, ctx.limits.contextMessages);
  if (!changed(Patch.contextByReference)) return { fields: { messages: [head, ...visible()] } };
  const base = ctx.r.context;
  const window = settings.contextWindow === undefined ? ctx.limits.contextMessages : undefined;
  return {
    fields: {
      messages: [head, ...(base ? ctx.r.messages.slice(base.upTo) : visible())],
      ...(base ? { base: base.ref } : {}),
      ...(window === undefined ? {} : { window }),
      keepContext: true,
    },
    upTo: ctx.r.messages.length,
  };
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

/** True when the next request fits the model's context (estimated, times `scale`), or the model sets no window. */
export function contextFits(
  ctx: EngineContext,
  settings: Blueprint['models'][string],
  tools: ToolDescriptor[],
  system: string,
  scale: number,
): boolean {
  const budget = promptBudget(settings);
  return budget === undefined || Math.ceil(requestTokens(system, tools, ctx.r.messages) * scale) <= budget;
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
  if (budget === undefined || contextFits(ctx, settings, tools, system, scale)) return;
  if (!changed(Patch.tokenAwareContext)) return;
  const [opening, ...rest] = ctx.r.messages;
  const split = opening ? compactionSplit(rest, budget - requestTokens(system, tools, [opening])) : undefined;
  if (!opening || !split) return;
  const fromSettings = changed(Patch.modelSettings);
  const reply = await callModel.executeWithOptions(
    {
      activityId: `compact-${ctx.r.step}`,
      summary: `${ctx.r.agent}: compact context (${split.older.length} messages)`,
      ...(fromSettings ? modelCallOptions(settings) : {}),
    },
    [
      {
        goal: ctx.bp.name,
        agent: ctx.r.agent,
        settings,
        ...(fromSettings ? { modelKey: agent.model } : {}),
        messages: summaryMessages(split.older, budget),
        tools: [],
      },
    ],
  );
  addUsage(ctx, reply, agent);
  // The stored transcript covered the messages compaction replaces: the next call sends the new ones whole.
  delete ctx.r.context;
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
