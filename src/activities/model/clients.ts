/**
 * Which client serves a model: the worker's default endpoint (OPENAI_BASE_URL / OPENAI_API_KEY), or the model's own
 * `baseUrl` and `apiKey: ${secret:NAME}`, read from the worker's environment at call time. Clients are kept per
 * endpoint and key. Providers register here by API name; each is one module.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import type { ModelSettings } from '../../blueprint/schema.js';
import { resolveReferences, type Env } from '../references.js';
import { openAiChatClient } from './openai-chat.js';
import type { ModelClient } from './types.js';

/** A client for an endpoint and key, per model API. */
const PROVIDERS: Record<NonNullable<ModelSettings['api']>, (baseURL: string, apiKey: string) => ModelClient> = {
  'openai-chat': (baseURL, apiKey) => openAiChatClient(new OpenAI({ baseURL, apiKey, maxRetries: 0 })),
};

/** A client and how its key was configured (for error messages; never the key itself). */
export interface ResolvedClient {
  client: ModelClient;
  keySource: string;
}

/** Resolves models to clients, caching one per API, endpoint and key. */
export function modelClients(
  defaultOpenAi: OpenAI,
  env: Env,
): (settings: ModelSettings, key: string) => ResolvedClient {
  const fallback = openAiChatClient(defaultOpenAi);
  const cache = new Map<string, ModelClient>();
  return (settings, key) => {
    const api = settings.api ?? 'openai-chat';
    if (settings.baseUrl === undefined && settings.apiKey === undefined && api === 'openai-chat') {
      return { client: fallback, keySource: 'OPENAI_API_KEY' };
    }
    const owner = `model ${key}`;
    const baseURL =
      settings.baseUrl === undefined ? defaultOpenAi.baseURL : resolveReferences(settings.baseUrl, env, key, owner);
    // With its own baseUrl and no apiKey, a model gets no key: the worker's default key never goes to another host.
    const apiKey =
      settings.apiKey !== undefined
        ? resolveReferences(settings.apiKey, env, key, owner)
        : settings.baseUrl === undefined
          ? (defaultOpenAi.apiKey ?? 'not-needed')
          : 'not-needed';
    const id = `${api}\n${baseURL}\n${createHash('sha256').update(apiKey).digest('hex')}`;
    let client = cache.get(id);
    if (!client) {
      client = PROVIDERS[api](baseURL, apiKey);
      cache.set(id, client);
    }
    return { client, keySource: settings.apiKey ?? 'OPENAI_API_KEY' };
  };
}
