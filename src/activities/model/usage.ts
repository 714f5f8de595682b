/**
 * Usage you can rely on: the provider's figures when it sends them (cached and reasoning tokens included), else a
 * count with a real tokenizer (o200k_base, js-tiktoken) marked `estimated`, so budgets never stop counting. Cost
 * is priced (pricing.ts), cached input at its own price.
 */
import type { Tiktoken } from 'js-tiktoken/lite';
import { priceOf } from './pricing.js';
import type { ModelRequest, ModelUsage, RawReply, RawToolCall } from './types.js';

/** Tokens a chat format adds around each message (role, separators): OpenAI's documented figure. */
const PER_MESSAGE = 4;

let encoder: Promise<Tiktoken> | undefined;

/** The tokenizer, loaded on first use (its rank table is a few MB; most endpoints send usage). */
function tokenizer(): Promise<Tiktoken> {
  encoder ??= (async () => {
    const [{ Tiktoken }, ranks] = await Promise.all([
      import('js-tiktoken/lite'),
      import('js-tiktoken/ranks/o200k_base'),
    ]);
    return new Tiktoken(ranks.default);
  })();
  return encoder;
}

/** Tokens in a text, by the o200k_base encoding (GPT-4o's); other models' tokenizers differ by a few percent. */
export async function countTokens(text: string): Promise<number> {
  if (!text) return 0;
  return (await tokenizer()).encode(text, [], []).length;
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
  return (await countTokens(parts.join('\n'))) + PER_MESSAGE * req.messages.length;
}

async function replyTokens(content: string, refusal: string | undefined, calls: RawToolCall[]): Promise<number> {
  return countTokens(`${content}${refusal ?? ''}${callsText(calls)}`);
}

/** The call's usage: reported figures where present, counted ones (and `estimated: true`) where not. */
export async function settleUsage(raw: RawReply, req: ModelRequest): Promise<ModelUsage> {
  const u = raw.usage ?? {};
  const inputReported = typeof u.inputTokens === 'number';
  const outputReported = typeof u.outputTokens === 'number';
  const inputTokens = inputReported ? (u.inputTokens as number) : await promptTokens(req);
  const outputTokens = outputReported
    ? (u.outputTokens as number)
    : await replyTokens(raw.content, raw.refusal, raw.toolCalls);
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
