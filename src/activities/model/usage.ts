/**
 * Usage you can rely on: the provider's figures when it sends them (cached and reasoning tokens included), else a
 * count with a real tokenizer (js-tiktoken: cl100k_base for the GPT-4 and GPT-3.5 families, o200k_base for GPT-4o,
 * GPT-4.1, GPT-5, the o-series and, as the documented estimate, every other model) marked `estimated`, so budgets
 * never stop counting. Cost is priced (pricing.ts), cached input at its own price.
 */
import type { Tiktoken } from 'js-tiktoken/lite';
import { priceOf } from './pricing.js';
import type { ModelRequest, ModelUsage, RawReply, RawToolCall } from './types.js';

/** Tokens a chat format adds around each message (role, separators): OpenAI's documented figure. */
const PER_MESSAGE = 4;

/** The encodings Baton counts with. */
export type Encoding = 'o200k_base' | 'cl100k_base';

const encoders = new Map<Encoding, Promise<Tiktoken>>();

/** The tokenizer, loaded on first use (its rank table is a few MB; most endpoints send usage). */
function tokenizer(encoding: Encoding): Promise<Tiktoken> {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = (async () => {
      const [{ Tiktoken }, ranks] = await Promise.all([
        import('js-tiktoken/lite'),
        encoding === 'cl100k_base' ? import('js-tiktoken/ranks/cl100k_base') : import('js-tiktoken/ranks/o200k_base'),
      ]);
      return new Tiktoken(ranks.default);
    })();
    encoders.set(encoding, encoder);
  }
  return encoder;
}

/**
 * The encoding of a model, by its OpenAI name (a provider prefix such as `openai/` is ignored): cl100k_base for
 * gpt-4 (not 4o or 4.1) and gpt-3.5; o200k_base for everything else, exact for GPT-4o and later OpenAI models and an
 * estimate, a few percent off, for other families (Llama, Mistral, Qwen count with their own tokenizers).
 */
export function encodingFor(model: string | undefined): Encoding {
  const name = (model ?? '').toLowerCase().split('/').at(-1) ?? '';
  return /^(gpt-4(?!o|\.1)|gpt-3\.5|text-embedding-(ada|3))/.test(name) ? 'cl100k_base' : 'o200k_base';
}

/** Tokens in a text, by the encoding of `model` (o200k_base when none is named). */
export async function countTokens(text: string, model?: string): Promise<number> {
  if (!text) return 0;
  return (await tokenizer(encodingFor(model))).encode(text, [], []).length;
}

function callsText(calls: readonly { name: string; arguments: string }[]): string {
  return calls.map((c) => `${c.name}${c.arguments}`).join('\n');
}

/** An estimate of the prompt: every message, its tool calls, and the tools' schemas. */
async function promptTokens(req: ModelRequest): Promise<number> {
  const parts: string[] = req.messages.map((m) =>
    m.role === 'assistant' ? `${m.content ?? ''}${m.toolCalls ? callsText(m.toolCalls) : ''}` : m.content,
  );
  if (req.tools.length) parts.push(JSON.stringify(req.tools));
  return (await countTokens(parts.join('\n'), req.settings.model)) + PER_MESSAGE * req.messages.length;
}

async function replyTokens(
  content: string,
  refusal: string | undefined,
  calls: RawToolCall[],
  model: string,
): Promise<number> {
  return countTokens(`${content}${refusal ?? ''}${callsText(calls)}`, model);
}

/** The call's usage: reported figures where present, counted ones (and `estimated: true`) where not. */
export async function settleUsage(raw: RawReply, req: ModelRequest): Promise<ModelUsage> {
  const u = raw.usage ?? {};
  const inputReported = typeof u.inputTokens === 'number';
  const outputReported = typeof u.outputTokens === 'number';
  const inputTokens = inputReported ? (u.inputTokens as number) : await promptTokens(req);
  const outputTokens = outputReported
    ? (u.outputTokens as number)
    : await replyTokens(raw.content, raw.refusal, raw.toolCalls, req.settings.model);
  const usage: Omit<ModelUsage, 'costUsd'> = {
    inputTokens,
    outputTokens,
    ...(u.cachedInputTokens ? { cachedInputTokens: u.cachedInputTokens } : {}),
    ...(u.reasoningTokens ? { reasoningTokens: u.reasoningTokens } : {}),
    ...(inputReported && outputReported ? {} : { estimated: true }),
  };
  const costUsd = priceOf(usage, req.settings.price);
  return costUsd === undefined ? usage : { ...usage, costUsd };
}
