/**
 * The scripted model's prompt cache, simulated the way OpenAI documents its own (scripted model only: for tests, the
 * offline demo and the benchmark's cached-prefix figure). A request's prefix that repeats the previous request of the
 * same goal and agent (the tools first, then each message in order, compared whole) is "cached": counted at 4
 * characters a token, from 1,024 tokens up, in steps of 128 tokens, never more than the prompt. Baton then records the
 * cached input tokens the endpoint reports, as with any provider.
 */
const MIN_TOKENS = 1024;
const STEP_TOKENS = 128;
const CHARS_PER_TOKEN = 4;

/** The previous prompt of each goal and agent, as the parts compared. */
export class PromptCache {
  private readonly previous = new Map<string, string[]>();

  /** Cached tokens of this prompt (`tokens` long) against the previous one of the same key; remembers this one. */
  cachedTokens(key: string, tools: unknown, messages: readonly unknown[], tokens: number): number {
    const parts = [JSON.stringify(tools ?? []), ...messages.map((m) => JSON.stringify(m))];
    const before = this.previous.get(key) ?? [];
    this.previous.set(key, parts);
    let chars = 0;
    for (let i = 0; i < parts.length && parts[i] === before[i]; i++) chars += parts[i]!.length;
    const cached = Math.floor(chars / CHARS_PER_TOKEN / STEP_TOKENS) * STEP_TOKENS;
    return cached < MIN_TOKENS ? 0 : Math.min(cached, tokens);
  }
}
