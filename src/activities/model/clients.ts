/**
 * Which client serves a model: the worker's default endpoint (OPENAI_BASE_URL / OPENAI_API_KEY), or the model's own
 * `baseUrl` and `apiKey: ${secret:NAME}`, read from the worker's environment at call time. Clients are kept per
 * endpoint and key. Providers register here by API name; each is one module.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import type { ModelSettings } from '../../blueprint/schema.js';
import type { SecretResolver } from '../secrets.js';
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

/** `${env:NAME}` at the start of a base URL, the one reference a base URL may hold. */
const ENV_PREFIX = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/;

/**
 * Resolves models to clients, caching one per API, endpoint and key. A model's `apiKey: ${secret:NAME}` and
 * `baseUrl: ${env:NAME}…` are read through the operator's map (BATON_SECRETS, BATON_TOOL_ENV) like a tool's:
 * the secret must be mapped, and may be limited to `models.KEY` or `BLUEPRINT/models.KEY`.
 */
export function modelClients(
  defaultOpenAi: OpenAI,
  resolver: SecretResolver,
): (settings: ModelSettings, key: string, blueprint: string) => ResolvedClient {
  const fallback = openAiChatClient(defaultOpenAi);
  const cache = new Map<string, ModelClient>();
  return (settings, key, blueprint) => {
    const api = settings.api ?? 'openai-chat';
    if (settings.baseUrl === undefined && settings.apiKey === undefined && api === 'openai-chat') {
      return { client: fallback, keySource: 'OPENAI_API_KEY' };
    }
    const secretName = settings.apiKey?.slice('${secret:'.length, -1);
    const secrets = resolver.forCall({
      label: `model ${key}`,
      keys: [`models.${key}`, `${blueprint}/models.${key}`],
      declared: secretName ? [secretName] : [],
    });
    const baseURL =
      settings.baseUrl === undefined
        ? defaultOpenAi.baseURL
        : settings.baseUrl.replace(ENV_PREFIX, (_, name: string) => secrets.resolve('env', name));
    // With its own baseUrl and no apiKey, a model gets no key: the worker's default key never goes to another host.
    const apiKey = secretName
      ? secrets.secret(secretName)
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
