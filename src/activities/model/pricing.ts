/**
 * What a model call costs, from the model's price in the blueprint: input served from the provider's prompt cache
 * at its own rate (`price.cachedInput`, else the input rate), reasoning tokens as output tokens. Pure, so the model
 * activity, the worker's metrics and the audit price a call the same way.
 */
import type { ModelSettings } from '../../blueprint/schema.js';

/** The token counts a price applies to (a reply's `usage`). */
export interface PricedTokens {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the prompt cache (part of inputTokens). */
  cachedInputTokens?: number;
}

/** USD for a call, or undefined when the model has no price. */
export function priceOf(usage: PricedTokens, price: ModelSettings['price']): number | undefined {
  if (!price) return undefined;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const usd =
    ((usage.inputTokens - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      usage.outputTokens * price.output) /
    1e6;
  return Math.round(usd * 1e9) / 1e9;
}

/**
 * The cost of a reply as recorded: the figure the activity priced (cached input at its own rate) when it has one,
 * else priced here from the request's price (replies recorded before the activity priced them); 0 without a price.
 */
export function costOfReply(usage: PricedTokens & { costUsd?: number }, price: ModelSettings['price']): number {
  return usage.costUsd ?? priceOf(usage, price) ?? 0;
}
