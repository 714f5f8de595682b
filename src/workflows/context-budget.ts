/**
 * Token-aware context for models whose blueprint entry names a `contextWindow`. Pure and deterministic (workflow code).
 *
 * Counting: the workflow cannot run a tokenizer per call cheaply, so it estimates (4 characters a token, plus a small
 * overhead per message) and calibrates that estimate with the provider's own count: after each call, the ratio of the
 * reported prompt tokens to the estimate of the same prompt scales later estimates up (never down). When the next
 * call would not fit, the older part of the conversation is summarised by the model (a model call like any other)
 * and replaced by that summary. The system prompt, the opening message (the goal input) and the latest exchange stay
 * whole; between compactions the request only grows at its end, so providers' prompt caching keeps hitting.
 */
import type { ToolDescriptor } from '../activities/index.js';
import type { ChatMessage } from './definitions.js';
import { contextWindow } from './transcript.js';

/** Characters per token in the estimate: close for English text and JSON with OpenAI-family tokenizers. */
export const CHARS_PER_TOKEN = 4;
/** Tokens the estimate adds per message for its role and framing. */
const MESSAGE_OVERHEAD = 4;
/** Tokens kept free for the reply when the model entry names no maxTokens. */
export const DEFAULT_REPLY_RESERVE = 4096;
/** After compaction the kept messages use at most this share of the prompt budget, so compaction stays rare. */
const KEEP_SHARE = 0.5;

/** The text the summary replaces the older messages with begins with this. */
export const SUMMARY_HEADING =
  'Summary of the earlier conversation (older messages were compacted to fit the context):';

/** Estimated tokens of a text. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Estimated tokens of one message, tool calls included; a stored text's tokens as the tokenizer counted them. */
export function messageTokens(m: ChatMessage): number {
  if (m.role !== 'assistant' && m.stored) return MESSAGE_OVERHEAD + m.stored.tokens;
  const calls = m.role === 'assistant' && m.toolCalls ? JSON.stringify(m.toolCalls) : '';
  return MESSAGE_OVERHEAD + estimateTokens((m.content ?? '') + calls);
}

/** Estimated tokens of a whole request: system prompt, tool definitions and messages. */
export function requestTokens(
  system: string,
  tools: readonly ToolDescriptor[],
  messages: readonly ChatMessage[],
): number {
  return (
    MESSAGE_OVERHEAD +
    estimateTokens(system) +
    estimateTokens(tools.length ? JSON.stringify(tools) : '') +
    messages.reduce((sum, m) => sum + messageTokens(m), 0)
  );
}

/** Tokens a prompt may use: the model's window less what its reply may take. */
export function promptBudget(settings: { contextWindow?: number; maxTokens?: number }): number | undefined {
  if (settings.contextWindow === undefined) return undefined;
  return settings.contextWindow - Math.min(settings.maxTokens ?? DEFAULT_REPLY_RESERVE, settings.contextWindow / 4);
}

/**
 * Splits the messages after the opening one into the part to summarise and the part kept whole: the kept part is
 * the latest exchange (never starting at a tool result cut from its call) extended back while it fits `keepTokens`.
 * Returns undefined when nothing older than the latest exchange is left to summarise.
 */
export function compactionSplit(
  rest: readonly ChatMessage[],
  keepTokens: number,
): { older: ChatMessage[]; kept: ChatMessage[] } | undefined {
  let start = rest.length - 1;
  while (start > 0 && rest[start]?.role === 'tool') start -= 1;
  let used = rest.slice(start).reduce((sum, m) => sum + messageTokens(m), 0);
  for (let i = start - 1; i >= 0; i--) {
    used += messageTokens(rest[i]!);
    if (used > keepTokens * KEEP_SHARE) break;
    if (rest[i]?.role !== 'tool') start = i;
  }
  if (start <= 0) return undefined;
  return { older: rest.slice(0, start), kept: rest.slice(start) };
}

/**
 * The request that asks the model to summarise `older`, each message clipped so the whole fits `budgetTokens`
 * (a single tool output larger than the window is summarised from its beginning and end).
 */
export function summaryMessages(older: readonly ChatMessage[], budgetTokens: number): ChatMessage[] {
  const perMessage = Math.max(200, Math.floor(((budgetTokens * 0.8) / Math.max(1, older.length)) * CHARS_PER_TOKEN));
  const clip = (text: string) =>
    text.length <= perMessage
      ? text
      : `${text.slice(0, perMessage / 2)}\n[... ${text.length - perMessage} characters left out ...]\n${text.slice(-perMessage / 2)}`;
  const label = (m: ChatMessage): string => {
    const calls =
      m.role === 'assistant' && m.toolCalls?.length
        ? ` [called ${m.toolCalls.map((c) => `${c.name}(${c.arguments})`).join(', ')}]`
        : '';
    return `${m.role}${calls}: `;
  };
  const instruction: ChatMessage = {
    role: 'system',
    content:
      'Summarise the conversation below for the agent that continues it. Keep every fact, number, identifier, ' +
      'decision and open question it needs; drop repetition and raw data it no longer needs. Reply with the summary only.',
  };
  if (!older.some((m) => m.role !== 'assistant' && m.stored)) {
    return [instruction, { role: 'user', content: older.map((m) => label(m) + clip(m.content ?? '')).join('\n\n') }];
  }
  // Stored texts are quoted by reference: the model activity reads each one and clips it the same way.
  return [
    instruction,
    ...older.map((m): ChatMessage => {
      const stored = m.role !== 'assistant' ? m.stored : undefined;
      return stored
        ? {
            role: 'user',
            content: label(m) + (m.content ?? ''),
            stored: { ...stored, prefix: label(m), clip: perMessage },
          }
        : { role: 'user', content: label(m) + clip(m.content ?? '') };
    }),
  ];
}

/**
 * The transcript a model call sees. A model with a `contextWindow` sees all of it (compaction keeps it within the
 * window, and the prefix stays stable between compactions); others see the opening message and the latest
 * `contextMessages`.
 */
export function visibleMessages(
  messages: ChatMessage[],
  settings: { contextWindow?: number },
  contextMessages: number,
): ChatMessage[] {
  return settings.contextWindow === undefined ? contextWindow(messages, contextMessages) : messages;
}

/** How the provider's reported prompt tokens compare with the estimate of the same request; at least 1. */
export function tokenScale(
  reportedInputTokens: number,
  system: string,
  tools: readonly ToolDescriptor[],
  messages: readonly ChatMessage[],
): number {
  return reportedInputTokens > 0 ? Math.max(1, reportedInputTokens / requestTokens(system, tools, messages)) : 1;
}
