/**
 * A model call's tokens as the audit records and prints them: reported by the endpoint or, when it sent no usage,
 * counted with a tokenizer and marked estimated; the cached and reasoning parts when the endpoint named them.
 */
import type { ModelUsage } from '../activities/index.js';

/** A model call's tokens in an audit record (`data.tokens`). */
export interface AuditTokens {
  input: number;
  output: number;
  /** Input tokens served from the provider's prompt cache (part of `input`, priced at the cached rate). */
  cachedInput?: number;
  /** Output tokens spent reasoning (part of `output`). */
  reasoning?: number;
  /** True when the endpoint sent no usage and Baton counted the tokens with a tokenizer. */
  estimated: boolean;
}

/** The tokens of a reply's usage, for the record. */
export function modelTokens(usage: ModelUsage): AuditTokens {
  return {
    input: usage.inputTokens,
    output: usage.outputTokens,
    ...(usage.cachedInputTokens ? { cachedInput: usage.cachedInputTokens } : {}),
    ...(usage.reasoningTokens ? { reasoning: usage.reasoningTokens } : {}),
    estimated: usage.estimated === true,
  };
}

/** `120+43 tokens`, `~120+43 tokens (estimated)`, `120+43 tokens (80 cached, 30 reasoning)`. */
export function tokensText(t: AuditTokens): string {
  const notes = [
    ...(t.estimated ? ['estimated'] : []),
    ...(t.cachedInput ? [`${t.cachedInput} cached`] : []),
    ...(t.reasoning ? [`${t.reasoning} reasoning`] : []),
  ];
  return `${t.estimated ? '~' : ''}${t.input}+${t.output} tokens${notes.length ? ` (${notes.join(', ')})` : ''}`;
}
