/** Settings of `baton serve` (the approval gateway), from the environment, each error naming its variable. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, loadConfig, type BatonConfig } from '../config.js';
import { publicKeyOf } from '../identity/assertion.js';
import { durationMs } from '../workflows/durations.js';

const GatewayEnvSchema = z.object({
  BATON_SERVE_HOST: z.string().min(1).default('127.0.0.1'),
  BATON_SERVE_PORT: z.coerce.number().int().min(0).max(65535).default(8455),
  BATON_OIDC_ISSUER: z.url({ error: 'expected the identity provider URL, e.g. https://login.example.com/realms/acme' }),
  BATON_OIDC_CLIENT_ID: z
    .string()
    .min(1, { error: 'name the client registered for the gateway at the identity provider' }),
  BATON_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  BATON_OIDC_USER_CLAIM: z.string().min(1).default('preferred_username'),
  BATON_OIDC_GROUPS_CLAIM: z.string().min(1).default('groups'),
  BATON_SIGNING_KEY: z.string().min(1).optional(),
  BATON_SIGNING_KEY_FILE: z.string().min(1).optional(),
  BATON_SIGNING_KEY_ID: z.string().min(1, { error: 'name the key id the workers trust (BATON_TRUST_FILE)' }),
  BATON_ASSERTION_TTL: z.string().default('5m'),
});

/** What `baton serve` runs with. */
export interface GatewayConfig extends BatonConfig {
  host: string;
  port: number;
  /** The gateway's public URL: the issuer of its assertions and the base of its OIDC callback. */
  publicUrl: string;
  oidc: { issuer: string; clientId: string; clientSecret?: string; userClaim: string; groupsClaim: string };
  signingKey: { kid: string; privateKey: string; publicKey: string };
  assertionTtlSeconds: number;
}

/** Reads and checks the gateway's settings; the signing key comes from a file or a secret variable, never a flag. */
export function loadGatewayConfig(env: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  const base = loadConfig(env);
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = GatewayEnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${String(i.path[0] ?? 'environment')} is invalid: ${i.message}`).join('; '),
    );
  }
  const e = parsed.data;
  let privateKey = e.BATON_SIGNING_KEY;
  if (e.BATON_SIGNING_KEY_FILE) {
    try {
      privateKey = readFileSync(e.BATON_SIGNING_KEY_FILE, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `BATON_SIGNING_KEY_FILE cannot be read (${(err as Error).message}); mount the key or fix the path`,
      );
    }
  }
  if (!privateKey) {
    throw new ConfigError(
      'set BATON_SIGNING_KEY_FILE (or BATON_SIGNING_KEY) to the gateway signing key: `baton keygen` makes one',
    );
  }
  let publicKey: string;
  try {
    publicKey = publicKeyOf(privateKey);
  } catch (err) {
    throw new ConfigError(`the signing key is invalid: ${(err as Error).message}`);
  }
  let ttl: number;
  try {
    ttl = durationMs(e.BATON_ASSERTION_TTL) / 1000;
  } catch {
    throw new ConfigError('BATON_ASSERTION_TTL is invalid: expected a duration such as 5m');
  }
  const publicUrl = (base.gatewayUrl ?? `http://${e.BATON_SERVE_HOST}:${e.BATON_SERVE_PORT}`).replace(/\/$/, '');
  return {
    ...base,
    host: e.BATON_SERVE_HOST,
    port: e.BATON_SERVE_PORT,
    publicUrl,
    oidc: {
      issuer: e.BATON_OIDC_ISSUER,
      clientId: e.BATON_OIDC_CLIENT_ID,
      ...(e.BATON_OIDC_CLIENT_SECRET ? { clientSecret: e.BATON_OIDC_CLIENT_SECRET } : {}),
      userClaim: e.BATON_OIDC_USER_CLAIM,
      groupsClaim: e.BATON_OIDC_GROUPS_CLAIM,
    },
    signingKey: { kid: e.BATON_SIGNING_KEY_ID, privateKey, publicKey },
    assertionTtlSeconds: ttl,
  };
}
