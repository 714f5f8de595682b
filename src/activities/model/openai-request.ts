/**
 * The chat-completions request Baton sends, built so every OpenAI-compatible server we know accepts it: string
 * content on every message (`""`, never null, beside tool calls), `tool_choice: "auto"` whenever tools are offered
 * (llama.cpp's server defaults to "none" and silently ignores the tools otherwise), and only the parameters the
 * model takes.
 */
import type OpenAI from 'openai';
import type { ChatMessage } from '../../workflows/definitions.js';
import type { ModelRequest } from './types.js';

/** Output-token cap of one reply when the blueprint sets none: a looping reply stops here, not at the context. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

/** The transcript in the wire format; assistant messages with tool calls carry `""` when they have no text. */
export function toOpenAiMessages(messages: ChatMessage[]): OpenAI.Chat.ChatCompletionMessageParam[] {
  return messages.map((m): OpenAI.Chat.ChatCompletionMessageParam => {
    switch (m.role) {
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content ?? '',
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

/** The request body for one call; `stream` asks for server-sent events with usage in the last chunk. */
export function chatRequest(req: ModelRequest, stream: boolean): OpenAI.Chat.ChatCompletionCreateParams {
  const s = req.settings;
  const reasoning = s.reasoning !== undefined;
  const capParameter = s.tokenLimitParameter ?? (reasoning ? 'max_completion_tokens' : 'max_tokens');
  const cap = s.maxTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  return {
    model: s.model,
    messages: toOpenAiMessages(req.messages),
    [capParameter]: cap,
    ...(s.temperature === undefined || reasoning ? {} : { temperature: s.temperature }),
    ...(s.reasoning?.effort ? { reasoning_effort: s.reasoning.effort } : {}),
    ...(req.tools.length
      ? {
          tools: req.tools.map((t) => ({
            type: 'function' as const,
            function: { name: t.name, description: t.description, parameters: t.parameters },
          })),
          tool_choice: 'auto' as const,
        }
      : {}),
    ...(stream ? { stream: true as const, stream_options: { include_usage: true } } : { stream: false as const }),
  };
}
