/**
 * The model call activity: one chat completion through the model's client (src/activities/model/), streamed with
 * progress in heartbeats, its reply classified into an outcome the goal loop routes, its usage settled (counted
 * when the endpoint sends none) and priced, and its failures typed for Temporal.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import { GoalFailure } from '../failures.js';
import { checkOpening } from '../identity/opening.js';
import { emptyTrust, type TrustSnapshot } from '../identity/trust.js';
import { durationMs } from '../workflows/durations.js';
import type { ConversationStore } from '../codec/conversation-store.js';
import { withStableIds, outcomeOf } from './model/classify.js';
import { assembleContext } from './model/context.js';
import { modelClients } from './model/clients.js';
import { classifyFailure } from './model/errors.js';
import {
  ProviderError,
  type ModelProgress,
  type ModelReply,
  type ModelRequest,
  type ToolDescriptor,
} from './model/types.js';
import { settleUsage } from './model/usage.js';
import type { SecretResolver } from './secrets.js';

type Env = Readonly<Record<string, string | undefined>>;

export { ModelInvocationError } from './model/errors.js';
export type {
  FinishReason,
  ModelOutcome,
  ModelProgress,
  ModelReply,
  ModelRequest,
  ModelUsage,
  ToolDescriptor,
} from './model/types.js';

/** A model call's timeout when neither the model nor BATON_MODEL_TIMEOUT sets one, and the worker's client none. */
export const DEFAULT_MODEL_TIMEOUT_MS = 240_000;
/** How often a call heartbeats while it waits for a first token (progress heartbeats come as tokens arrive). */
const HEARTBEAT_MS = 5_000;

/** Reads BATON_MODEL_TIMEOUT: a duration (`90s`, `5m`) or a number of seconds. */
export function modelTimeoutFromEnv(env: Env): number | undefined {
  const raw = env.BATON_MODEL_TIMEOUT?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  if (/^\d+(ms|s|m|h)$/.test(raw)) return durationMs(raw);
  throw ApplicationFailure.create({
    type: 'ConfigurationError',
    nonRetryable: true,
    message: `BATON_MODEL_TIMEOUT=${raw} is not a duration: use seconds (120) or a duration such as 90s or 5m`,
  });
}

/** Dependencies of the model activity. */
export interface ModelActivityDeps {
  /** The worker's default endpoint (OPENAI_BASE_URL / OPENAI_API_KEY); its timeout is the last default. */
  openai: OpenAI;
  /** Reads a model's `apiKey: ${secret:NAME}` and `baseUrl: ${env:NAME}` through the operator's map. */
  resolver: SecretResolver;
  /** The worker's environment, where BATON_MODEL_TIMEOUT is read. */
  environment: Env;
  /** JSON Schemas of the worker's builtin functions, sent for the tools that name one (`ToolDescriptor.builtin`). */
  builtinSchemas?: Readonly<Record<string, Record<string, unknown>>>;
  /** Where stored message texts and transcripts are read and written (absent: everything inline). */
  conversation?: ConversationStore;
  /** The operator's trust as it stands now: a goal's opening is checked against it before its first model call. */
  trust?: () => TrustSnapshot;
}

/**
 * The trust a goal's first call checks its opening against. A failing opening (an unregistered blueprint, an
 * unauthenticated start) ends the call before the model is called, with the reason the workflow fails the goal with.
 */
function openingTrust(
  req: ModelRequest,
  trust: (() => TrustSnapshot) | undefined,
): Pick<ModelReply, 'trust' | 'opening'> {
  if (!req.opening) return {};
  const snapshot = trust ? trust() : emptyTrust();
  const verdict = checkOpening(snapshot, req.opening);
  if (!verdict.ok) {
    throw ApplicationFailure.create({ type: GoalFailure.Blueprint, nonRetryable: true, message: verdict.reason });
  }
  return { trust: snapshot, opening: verdict };
}

/** The tools as sent to the model, with the registered schema of each builtin the workflow named. */
function withBuiltinSchemas(
  tools: ToolDescriptor[],
  registered: Readonly<Record<string, Record<string, unknown>>>,
): { tools: ToolDescriptor[]; schemas: Record<string, Record<string, unknown> | null> | undefined } {
  let schemas: Record<string, Record<string, unknown> | null> | undefined;
  const filled = tools.map((t) => {
    if (t.builtin === undefined) return t;
    const schema = registered[t.builtin] ?? null;
    (schemas ??= {})[t.builtin] = schema;
    return { ...t, parameters: schema ?? t.parameters };
  });
  return { tools: filled, schemas };
}

/** Builds the `callModel` activity. */
export function createModelActivity(deps: ModelActivityDeps) {
  const clientFor = modelClients(deps.openai, deps.resolver);
  return async function callModel(req: ModelRequest & { modelKey?: string }): Promise<ModelReply> {
    const ctx = Context.current();
    const opening = openingTrust(req, deps.trust);
    const { tools, schemas } = withBuiltinSchemas(req.tools, deps.builtinSchemas ?? {});
    const { messages, context } = await assembleContext(req, deps.conversation);
    const sent: ModelRequest = { goal: req.goal, agent: req.agent, settings: req.settings, messages, tools };
    const modelKey = `models.${req.modelKey ?? req.settings.model}`;
    const { client, keySource } = clientFor(req.settings, req.modelKey ?? req.settings.model, req.goal);
    const timeoutMs = req.settings.timeout
      ? durationMs(req.settings.timeout)
      : (modelTimeoutFromEnv(deps.environment) ?? deps.openai.timeout ?? DEFAULT_MODEL_TIMEOUT_MS);
    let progress: ModelProgress = { tokens: 0, preview: '' };
    let lastBeat = 0;
    const beat = (): void => {
      lastBeat = Date.now();
      ctx.heartbeat(progress);
    };
    // Heartbeat while the model thinks, so a dead worker is noticed within the heartbeat timeout, not the call's.
    const timer = setInterval(beat, HEARTBEAT_MS);
    try {
      let raw;
      try {
        raw = await client.complete(sent, {
          signal: ctx.cancellationSignal,
          timeoutMs,
          onProgress: (p) => {
            progress = p;
            if (Date.now() - lastBeat >= 1000) beat();
          },
        });
      } catch (err) {
        if (err instanceof ProviderError) {
          throw classifyFailure(err.failure, { endpoint: client.endpoint, modelKey, keySource });
        }
        throw err;
      }
      const transcriptIds = new Set(
        messages.flatMap((m) => (m.role === 'assistant' ? (m.toolCalls ?? []).map((c) => c.id) : [])),
      );
      const { toolCalls, reassignedIds } = withStableIds(raw, transcriptIds, `baton_${ctx.info.activityId}`);
      const outcome = outcomeOf(raw);
      return {
        content: raw.content,
        toolCalls,
        usage: await settleUsage(raw, sent),
        model: raw.model ?? req.settings.model,
        finishReason: raw.finishReason ?? 'unknown',
        outcome,
        ...(raw.refusal ? { refusal: raw.refusal } : {}),
        ...(reassignedIds.length ? { reassignedIds } : {}),
        ...(schemas ? { builtinSchemas: schemas } : {}),
        ...(context ? { context } : {}),
        ...opening,
      };
    } finally {
      clearInterval(timer);
    }
  };
}
