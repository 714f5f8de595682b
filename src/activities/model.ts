/** The model call activity: one chat completion through the openai SDK, with failures classified for Temporal. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import type { ModelSettings } from '../blueprint/schema.js';
import { ModelInvocationError } from '../failures.js';
import type { ChatMessage, ToolCallRequest } from '../workflows/definitions.js';

/** A tool as the model sees it. */
export interface ToolDescriptor {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  goal: string;
  agent: string;
  settings: ModelSettings;
  messages: ChatMessage[];
  tools: ToolDescriptor[];
}

export interface ModelReply {
  content: string | null;
  toolCalls: ToolCallRequest[];
  usage: { inputTokens: number; outputTokens: number };
  model: string;
  /** Why the reply ended, as the endpoint said: the loop acts on it (src/workflows/reply.ts). */
  finishReason: FinishReason;
}

/** The finish reasons of an OpenAI-compatible chat completion; `unknown` when the endpoint gave none. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | 'unknown';

/** Failure types a model call can end with (defined in src/failures.ts, re-exported for the activity's users). */
export { ModelInvocationError };

const RETRYABLE = new Set([408, 409, 429]);

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const s = headers?.get('retry-after');
  if (!s) return undefined;
  if (Number.isFinite(Number(s))) return Number(s) * 1000;
  const date = Date.parse(s);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Maps an openai SDK error to a Temporal failure: transient ones retry (honouring retry-after), the rest do not. */
export function classifyModelError(err: unknown, endpoint: string): ApplicationFailure {
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    // The endpoint's own message, without the SDK's status prefix.
    const body = err.error as { message?: unknown } | undefined;
    const detail = (typeof body?.message === 'string' ? body.message : err.message).split('\n')[0] ?? '';
    if (RETRYABLE.has(status) || status >= 500) {
      const type = status === 429 ? ModelInvocationError.RateLimit : ModelInvocationError.Unavailable;
      return ApplicationFailure.create({
        type,
        message: `model endpoint ${endpoint} answered ${status}: ${detail}`,
        nextRetryDelay: retryAfterMs(err.headers as Headers | undefined),
      });
    }
    if (status === 401 || status === 403) {
      return ApplicationFailure.create({
        type: ModelInvocationError.Auth,
        nonRetryable: true,
        message: `model endpoint ${endpoint} refused the credentials (${status}): set a valid OPENAI_API_KEY for the worker`,
      });
    }
    return ApplicationFailure.create({
      type: ModelInvocationError.Rejected,
      nonRetryable: true,
      message: `model endpoint ${endpoint} rejected the request (${status}): ${detail}`,
    });
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return ApplicationFailure.create({
      type: ModelInvocationError.Unavailable,
      message: `cannot reach model endpoint ${endpoint}: ${err.message}; check OPENAI_BASE_URL`,
    });
  }
  return ApplicationFailure.create({
    type: ModelInvocationError.Unavailable,
    message: `model call failed: ${err instanceof Error ? err.message : String(err)}`,
  });
}

function toOpenAiMessages(messages: ChatMessage[]): OpenAI.Chat.ChatCompletionMessageParam[] {
  return messages.map((m): OpenAI.Chat.ChatCompletionMessageParam => {
    switch (m.role) {
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content,
          ...(m.toolCalls?.length
            ? {
                tool_calls: m.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function' as const,
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        };
      default:
        return { role: m.role, content: m.content };
    }
  });
}

/** Builds the `callModel` activity around an openai client. */
export function createModelActivity(openai: OpenAI) {
  const endpoint = openai.baseURL;
  return async function callModel(req: ModelRequest): Promise<ModelReply> {
    const ctx = Context.current();
    // Heartbeat while the model thinks, so a dead worker is noticed within the heartbeat timeout, not the call's.
    const beat = setInterval(() => ctx.heartbeat(), 5_000);
    try {
      let completion: OpenAI.Chat.ChatCompletion;
      try {
        completion = await openai.chat.completions.create(
          {
            model: req.settings.model,
            messages: toOpenAiMessages(req.messages),
            ...(req.settings.temperature === undefined ? {} : { temperature: req.settings.temperature }),
            ...(req.settings.maxTokens === undefined ? {} : { max_tokens: req.settings.maxTokens }),
            ...(req.tools.length
              ? {
                  tools: req.tools.map((t) => ({
                    type: 'function' as const,
                    function: { name: t.name, description: t.description, parameters: t.parameters },
                  })),
                }
              : {}),
          },
          { signal: ctx.cancellationSignal, headers: { 'x-baton-goal': req.goal, 'x-baton-agent': req.agent } },
        );
      } catch (err) {
        throw classifyModelError(err, endpoint);
      }
      const choice = completion.choices?.[0];
      if (!choice?.message) {
        throw ApplicationFailure.create({
          type: ModelInvocationError.Malformed,
          message: `model endpoint ${endpoint} returned no choices`,
        });
      }
      const toolCalls: ToolCallRequest[] = [];
      for (const call of choice.message.tool_calls ?? []) {
        if (call.type === 'function') {
          toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
        }
      }
      return {
        content: choice.message.content ?? null,
        toolCalls,
        usage: {
          inputTokens: completion.usage?.prompt_tokens ?? 0,
          outputTokens: completion.usage?.completion_tokens ?? 0,
        },
        model: completion.model ?? req.settings.model,
        finishReason: choice.finish_reason ?? 'unknown',
      };
    } finally {
      clearInterval(beat);
    }
  };
}
