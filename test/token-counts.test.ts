/**
 * Counting tokens: the tokenizer of each OpenAI model family (js-tiktoken), and the scripted model's simulated
 * prompt cache, which reports the repeated prefix of a prompt as cached input tokens the way OpenAI does.
 */
import { describe, expect, it } from 'vitest';
import { countTokens, encodingFor } from '../src/activities/model/usage.js';
import { PromptCache } from '../src/scripted-model/prompt-cache.js';

describe('token counts', () => {
  it('counts with the encoding of the model family', async () => {
    expect(encodingFor('gpt-4o-mini')).toBe('o200k_base');
    expect(encodingFor('gpt-4.1')).toBe('o200k_base');
    expect(encodingFor('o4-mini')).toBe('o200k_base');
    expect(encodingFor('gpt-4-turbo')).toBe('cl100k_base');
    expect(encodingFor('openai/gpt-3.5-turbo')).toBe('cl100k_base');
    expect(encodingFor('llama-3.1-8b')).toBe('o200k_base');
    // The two encodings really differ on the same text (o200k has the larger vocabulary).
    const text = 'Die Rückerstattung für Kunde 4411 wurde genehmigt; 配送は明日です。 '.repeat(20);
    const [o200k, cl100k] = [await countTokens(text, 'gpt-4o'), await countTokens(text, 'gpt-4')];
    expect(o200k).toBeGreaterThan(0);
    expect(cl100k).toBeGreaterThan(o200k);
  });

  it('reports a repeated prefix of 1,024 tokens and more as cached, in steps of 128', () => {
    const cache = new PromptCache();
    const system = { role: 'system', content: 's'.repeat(6000) };
    expect(cache.cachedTokens('g/a', [], [system, { role: 'user', content: 'hi' }], 1600)).toBe(0);
    // The same system prompt and first message again, then more: the repeated part is cached.
    const cached = cache.cachedTokens(
      'g/a',
      [],
      [system, { role: 'user', content: 'hi' }, { role: 'tool', content: 'x' }],
      1700,
    );
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    // A changed first message breaks the prefix after the system prompt; a short prefix is never cached.
    expect(cache.cachedTokens('g/a', [], [system, { role: 'user', content: 'other' }], 1600)).toBe(1408);
    expect(cache.cachedTokens('g/b', [], [{ role: 'user', content: 'short' }], 2)).toBe(0);
    expect(cache.cachedTokens('g/b', [], [{ role: 'user', content: 'short' }], 2)).toBe(0);
  });
});
