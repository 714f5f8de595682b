/** Configuration from the environment (DESIGN §2.3), validated once with messages that name the variable. */
import { userInfo } from 'node:os';
import { z } from 'zod';
import { EncryptionKeyError, parseKeys } from './codec/encryption.js';

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  BATON_TASK_QUEUE: z.string().min(1).default('baton-goals'),
  BATON_USER: z.string().min(1).optional(),
  BATON_UI_URL: z.url().default('http://localhost:8233'),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().optional(),
  BATON_ENCRYPTION_KEYS: z.string().min(1).optional(),
  BATON_CODEC_TOKEN: z.string().min(16, { message: 'use a token of at least 16 characters' }).optional(),
});

/** Baton's settings. */
export interface BatonConfig {
  address: string;
  namespace: string;
  apiKey?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  taskQueue: string;
  /** Who is acting: BATON_USER, else the operating-system user. */
  user: string;
  uiUrl: string;
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  /** `id=base64key,...`: payload encryption is on when set (the first key encrypts). */
  encryptionKeys?: string;
  /** Bearer token of `baton codec-server`. */
  codecToken?: string;
}

/** A setting that is missing or malformed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads Baton's settings from an environment. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): BatonConfig {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `${String(issue?.path[0] ?? 'environment')} is invalid: ${issue?.message ?? 'unknown problem'}`,
    );
  }
  const e = parsed.data;
  if ((e.TEMPORAL_TLS_CERT === undefined) !== (e.TEMPORAL_TLS_KEY === undefined)) {
    throw new ConfigError('set both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY for mTLS, or neither');
  }
  if (e.BATON_ENCRYPTION_KEYS !== undefined) {
    try {
      parseKeys(e.BATON_ENCRYPTION_KEYS);
    } catch (err) {
      if (err instanceof EncryptionKeyError) throw new ConfigError(`BATON_ENCRYPTION_KEYS is invalid: ${err.message}`);
      throw err;
    }
  }
  let user = e.BATON_USER;
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.BATON_TASK_QUEUE,
    user,
    uiUrl: e.BATON_UI_URL.replace(/\/$/, ''),
    ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
    ...(e.TEMPORAL_TLS_CERT ? { tlsCertPath: e.TEMPORAL_TLS_CERT } : {}),
    ...(e.TEMPORAL_TLS_KEY ? { tlsKeyPath: e.TEMPORAL_TLS_KEY } : {}),
    ...(e.OPENAI_API_KEY ? { openaiApiKey: e.OPENAI_API_KEY } : {}),
    ...(e.OPENAI_BASE_URL ? { openaiBaseUrl: e.OPENAI_BASE_URL } : {}),
    ...(e.BATON_ENCRYPTION_KEYS ? { encryptionKeys: e.BATON_ENCRYPTION_KEYS } : {}),
    ...(e.BATON_CODEC_TOKEN ? { codecToken: e.BATON_CODEC_TOKEN } : {}),
  };
}
