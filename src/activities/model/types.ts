/**
 * The model-client seam: what the model activity asks of a provider and what it gets back, independent of any SDK.
 * A provider (OpenAI-compatible chat completions today) implements {@link ModelClient}; classification, usage,
 * pricing and failure typing are shared and live beside it, so adding a provider touches one module.
 */
import type { ModelSettings } from '../../blueprint/schema.js';
import type { ChatMessage, ContextRef, ToolCallRequest } from '../../workflows/definitions.js';
import type { Opening, OpeningCheck } from '../../identity/opening.js';
import type { TrustSnapshot } from '../../identity/trust.js';

/** A tool as the model sees it. */
export interface ToolDescriptor {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  /**
   * The builtin function behind the tool, when the workflow does not know its schema yet: the activity sends the
   * model the schema the worker registered for it (`parameters` otherwise) and returns it in the reply, so a goal
   * learns its builtins' schemas with its first model call instead of a round trip of its own.
   */
  builtin?: string;
}

/** One model call as the workflow asks for it. */
export interface ModelRequest {
  goal: string;
  agent: string;
  settings: ModelSettings;
  messages: ChatMessage[];
  tools: ToolDescriptor[];
  /**
   * The transcript an earlier call stored, which this call continues: `messages` then holds the system prompt and
   * only the messages added since (src/activities/model/context.ts).
   */
  base?: ContextRef;
  /** Send the opening message and the latest `window` messages of the transcript (the workflow's own rule). */
  window?: number;
  /** Store the transcript this call sends and return its reference in the reply (`context`). */
  keepContext?: boolean;
  /**
   * A goal's first model call carries its opening check: the activity checks it against the operator's trust before
   * it calls the model, refuses the call when it fails, and returns the trust it read (`ModelReply.trust`).
   */
  opening?: OpeningCheck;
}

/**
 * What the reply means for the loop, decided in the activity from `finish_reason` and the message:
 * - `answer`: text that may end the turn;
 * - `tool_calls`: the model called tools (any text beside them is kept in `content`);
 * - `truncated`: the output-token cap cut the reply (`length`); never a final answer;
 * - `content_filter`: the provider's filter stopped the reply;
 * - `refusal`: the model declined (`message.refusal`);
 * - `empty`: no text and no tool calls.
 */
export type ModelOutcome = 'answer' | 'tool_calls' | 'truncated' | 'content_filter' | 'refusal' | 'empty';

/** The finish reasons of an OpenAI-compatible chat completion; `unknown` when the endpoint gave none. */
export type FinishReason =
  'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | 'unknown' | (string & {});

/** Tokens one call used, as the provider reported them or, when it reported none, as counted here. */
export interface ModelUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens?: number;
  /** Output tokens spent reasoning (part of outputTokens). */
  reasoningTokens?: number;
  /** True when the endpoint sent no usage and the figures were counted with a tokenizer. */
  estimated?: boolean;
  /** USD for this call, from the model's price (cached input at its own price); absent without a price. */
  costUsd?: number;
}

/** The model activity's result. */
export interface ModelReply {
  /** The reply's text; always a string from this version on (`null` only in goals recorded before it). */
  content: string | null;
  toolCalls: ToolCallRequest[];
  usage: ModelUsage;
  model: string;
  /** The provider's own `finish_reason`, as sent (`unknown` when it gave none); the loop reads it with `outcome`. */
  finishReason: FinishReason;
  /** What the loop should do with it; absent only in goals recorded before classification existed. */
  outcome?: ModelOutcome;
  /** The model's refusal text, when outcome is `refusal`. */
  refusal?: string;
  /** Tool-call ids Baton assigned because the provider sent none or a duplicate: `{ index, sent, assigned }`. */
  reassignedIds?: { index: number; sent: string; assigned: string }[];
  /** The schemas of the builtins the request named (`ToolDescriptor.builtin`); null for one not registered here. */
  builtinSchemas?: Record<string, Record<string, unknown> | null>;
  /** The transcript this call sent, stored (asked for with `keepContext`, when the worker has a store). */
  context?: ContextRef;
  /** The operator's trust the call checked the goal's opening against (`ModelRequest.opening`), for the goal to record. */
  trust?: TrustSnapshot;
  /**
   * The call's verdict on that opening (always sound: an unsound one fails the call). Recorded with the reply, so the
   * goal takes it as its own instead of verifying the start assertion's signature a second time (issue 16); goals
   * whose reply lacks it (recorded before) reach the same verdict themselves.
   */
  opening?: Extract<Opening, { ok: true }>;
}

/** A tool call as a provider returned it: the id may be missing or repeated. */
export interface RawToolCall {
  id?: string;
  name: string;
  arguments: string;
}

/** Usage as a provider reported it (absent fields: not reported). */
export interface RawUsage {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
}

/** A provider's reply before classification. */
export interface RawReply {
  content: string;
  refusal?: string;
  toolCalls: RawToolCall[];
  finishReason: string | undefined;
  usage?: RawUsage;
  model?: string;
}

/** How far a reply has come, for heartbeats (and `baton watch`). */
export interface ModelProgress {
  /** Output tokens so far (stream chunks, which are one token each on the servers we know). */
  tokens: number;
  /** The reply's text so far, tail only. */
  preview: string;
}

/** What a provider call gets besides the request: where to report progress, and when to stop. */
export interface CallControl {
  signal: AbortSignal;
  onProgress(progress: ModelProgress): void;
  timeoutMs: number;
}

/**
 * A failure as a provider saw it, before Baton types it for Temporal: the provider module maps its SDK's errors to
 * this, and `errors.ts` decides what retries.
 */
export type ProviderFailure =
  | { kind: 'http'; status: number; body: unknown; headers?: Headers }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'connection'; message: string }
  | { kind: 'stream'; message: string; body?: unknown }
  | { kind: 'cancelled' }
  | { kind: 'malformed'; message: string };

/** Thrown by a provider module with what went wrong. */
export class ProviderError extends Error {
  constructor(readonly failure: ProviderFailure) {
    super(failure.kind === 'http' ? `HTTP ${failure.status}` : failure.kind);
    this.name = 'ProviderError';
  }
}

/** One endpoint, as the model activity uses it. */
export interface ModelClient {
  /** Where it sends requests (for messages). */
  readonly endpoint: string;
  complete(request: ModelRequest, control: CallControl): Promise<RawReply>;
}
