/**
 * Configuration from the environment (DESIGN §2.3), validated once with messages that name the variable. Over 300
 * lines on purpose: it is the one table of every variable the CLI and the worker read (one concept in one place).
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { EncryptionKeyError, parseKeys } from './codec/encryption.js';
import { durationMs } from './workflows/durations.js';

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
  BATON_TRUST_FILE: z.string().min(1).optional(),
  BATON_BLUEPRINTS: z.string().min(1).optional(),
  BATON_GATEWAY_URL: z
    .url({ error: 'expected the URL of `baton serve`, e.g. https://approvals.example.com' })
    .optional(),
  BATON_CREDENTIALS: z.string().min(1).optional(),
  BATON_CODEC_OIDC_JWKS_URL: z.url({ error: 'expected the JWKS URL of your identity provider' }).optional(),
  BATON_CODEC_OIDC_ISSUER: z.string().min(1).optional(),
  BATON_CODEC_OIDC_AUDIENCE: z.string().min(1).optional(),
  BATON_CODEC_HOSTS: z.string().min(1).optional(),
  BATON_CODEC_MAX_BYTES: z.coerce.number().int().positive({ error: 'expected a number of bytes' }).optional(),
  BATON_PAYLOAD_STORE: z.string().min(1).optional(),
  BATON_PAYLOAD_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1024, { error: 'expected a number of bytes, at least 1024' })
    .max(2 * 1024 * 1024, { error: "expected at most 2097152 bytes (Temporal's payload limit)" })
    .optional(),
});

const duration = z.string().refine(
  (text) => {
    try {
      durationMs(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected a number and ms, s, m or h, e.g. 30s or 2m' },
);

/** Settings only `baton worker` reads, so that a typo in one of them never breaks the other commands. */
const WorkerEnvSchema = z.object({
  BATON_METRICS_PORT: z
    .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], {
      error: 'expected a port number (0-65535) or off',
    })
    .default(9464),
  BATON_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  BATON_LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'expected json or pretty' }).default('json'),
  BATON_LOG_LEVEL: z
    .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
    .default('info'),
  BATON_SHUTDOWN_GRACE_TIME: duration.default('30s'),
  BATON_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ error: 'expected a URL such as http://otel-collector:4318' }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('baton-worker'),
  // Worker Versioning (docs/versioning.md): a deployment name turns it on.
  BATON_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[^.]+$/, { error: 'use a name without dots, e.g. baton' })
    .optional(),
  BATON_BUILD_ID: z
    .string()
    .regex(/^[^.]+$/, { error: 'use an id without dots, e.g. 1.4.0-3f2a9c' })
    .optional(),
  BATON_VERSIONING_BEHAVIOR: z
    .enum(['pinned', 'auto-upgrade'], { error: 'expected pinned or auto-upgrade' })
    .default('pinned'),
  // The blob store of MCP results (src/activities/mcp/blobs.ts): where, how long, how much.
  BATON_BLOB_DIR: z.string().min(1).default('.baton/blobs'),
  BATON_BLOB_RETENTION: z
    .string()
    .regex(/^\d+(s|m|h|d|w)$/, { error: 'expected a duration such as 12h, 7d or 2w' })
    .default('7d'),
  BATON_BLOB_MAX_BYTES: z
    .string()
    .regex(/^\d+(K|M|G)?(iB)?$/, { error: 'expected a number of bytes, optionally with K, M or G (binary), e.g. 512M' })
    .default('1G'),
  BATON_ALLOW_ADHOC_BLUEPRINTS: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false'),
});

/** `512M` as bytes: K, M and G are powers of 1024. */
function byteSize(text: string): number {
  const m = /^(\d+)(K|M|G)?/.exec(text)!;
  return Number(m[1]) * 1024 ** ['', 'K', 'M', 'G'].indexOf(m[2] ?? '');
}

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
  /** BATON_TRUST_FILE: trusted issuers, keys and group mapping (docs/approvals.md). */
  trustFile?: string;
  /** BATON_BLUEPRINTS: the registered-blueprint directory (its registry.yaml pins each by sha256). */
  blueprintsDir?: string;
  /** BATON_GATEWAY_URL: where `baton serve` runs, for `baton login` and the commands that decide. */
  gatewayUrl?: string;
  /** Where `baton login` keeps the CLI's session. */
  credentialsFile: string;
  /** OIDC access tokens `baton codec-server` accepts (the Web UI's), verified against this JWKS. */
  codecOidc?: { jwksUrl: string; issuer?: string; audience?: string };
  /** Host header values `baton codec-server` accepts besides its listening address. */
  codecHosts?: string[];
  /** Largest request body `baton codec-server` reads. */
  codecMaxBytes?: number;
  /** BATON_PAYLOAD_STORE: where payloads above the threshold go (a directory); unset keeps every payload inline. */
  payloadStore?: string;
  /** BATON_PAYLOAD_THRESHOLD: bytes from which a payload leaves the history (default 128 KiB). */
  payloadThreshold?: number;
}

/** What `baton worker` adds: its HTTP endpoints, logs, shutdown and tracing. */
export interface WorkerConfig extends BatonConfig {
  /** Where /metrics, /healthz and /readyz are served; undefined when BATON_METRICS_PORT=off. */
  http?: { host: string; port: number };
  log: { format: 'json' | 'pretty'; level: 'debug' | 'info' | 'warn' | 'error' };
  /** How long in-flight activities may run on after SIGTERM before they are cancelled. */
  shutdownGraceTime: string;
  shutdownGraceMs: number;
  /** BATON_WORKFLOW_BUNDLE: a prebuilt workflow bundle that must exist. */
  workflowBundle?: string;
  /** OTLP/HTTP endpoint for traces; tracing is off when undefined. */
  otlpEndpoint?: string;
  serviceName: string;
  /** Worker Versioning: the Worker Deployment this worker belongs to; unversioned when undefined. */
  deployment?: WorkerDeploymentSettings;
  /** BATON_BLOB_*: where binary content of MCP results is kept, for how long after it was stored, up to how much. */
  blobs: { dir: string; maxAgeMs: number; maxBytes: number };
  /** BATON_ALLOW_ADHOC_BLUEPRINTS=true: unregistered blueprints may run (loudly); `baton dev` only, by default. */
  allowAdHocBlueprints: boolean;
}

/** BATON_DEPLOYMENT_NAME, BATON_BUILD_ID and BATON_VERSIONING_BEHAVIOR. */
export interface WorkerDeploymentSettings {
  name: string;
  /** The version's build id; default the workflow bundle's hash (src/versioning.ts). */
  buildId?: string;
  /** How goals started on this version move: PINNED stays until it continues as new. */
  behavior: 'PINNED' | 'AUTO_UPGRADE';
}

/** A setting that is missing or malformed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const SECRET = /KEY|TOKEN|SECRET|PASSWORD/;

function present(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  );
}

function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string>): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    const value = env[name];
    const shown = value === undefined || SECRET.test(name) ? '' : ` (got ${JSON.stringify(value)})`;
    return `${name} is invalid: ${issue.message}${shown}`;
  });
  throw new ConfigError(lines.join('; '));
}

/** Reads Baton's settings from an environment. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): BatonConfig {
  const e = parseEnv(EnvSchema, present(env));
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
    ...(e.BATON_TRUST_FILE ? { trustFile: e.BATON_TRUST_FILE } : {}),
    ...(e.BATON_BLUEPRINTS ? { blueprintsDir: e.BATON_BLUEPRINTS } : {}),
    ...(e.BATON_GATEWAY_URL ? { gatewayUrl: e.BATON_GATEWAY_URL.replace(/\/$/, '') } : {}),
    credentialsFile: e.BATON_CREDENTIALS ?? join(homedir(), '.config', 'baton', 'credentials.json'),
    ...(e.BATON_CODEC_OIDC_JWKS_URL
      ? {
          codecOidc: {
            jwksUrl: e.BATON_CODEC_OIDC_JWKS_URL,
            ...(e.BATON_CODEC_OIDC_ISSUER ? { issuer: e.BATON_CODEC_OIDC_ISSUER } : {}),
            ...(e.BATON_CODEC_OIDC_AUDIENCE ? { audience: e.BATON_CODEC_OIDC_AUDIENCE } : {}),
          },
        }
      : {}),
    ...(e.BATON_CODEC_HOSTS ? { codecHosts: entries(e.BATON_CODEC_HOSTS) } : {}),
    ...(e.BATON_CODEC_MAX_BYTES ? { codecMaxBytes: e.BATON_CODEC_MAX_BYTES } : {}),
    ...(e.BATON_PAYLOAD_STORE ? { payloadStore: e.BATON_PAYLOAD_STORE } : {}),
    ...(e.BATON_PAYLOAD_THRESHOLD ? { payloadThreshold: e.BATON_PAYLOAD_THRESHOLD } : {}),
  };
}

/** The codec server's authentication and limits from settings (`baton codec-server` passes them on). */
export function codecServerSettings(c: BatonConfig): {
  token?: string;
  oidc?: { jwksUrl: string; issuer?: string; audience?: string };
  hosts?: string[];
  maxBodyBytes?: number;
} {
  return {
    ...(c.codecToken ? { token: c.codecToken } : {}),
    ...(c.codecOidc ? { oidc: c.codecOidc } : {}),
    ...(c.codecHosts ? { hosts: c.codecHosts } : {}),
    ...(c.codecMaxBytes ? { maxBodyBytes: c.codecMaxBytes } : {}),
  };
}

/** Reads and checks everything `baton worker` needs, files included, so a bad setting fails at start. */
export function loadWorkerConfig(env: Readonly<Record<string, string | undefined>> = process.env): WorkerConfig {
  const base = loadConfig(env);
  const w = parseEnv(WorkerEnvSchema, present(env));
  for (const [name, path] of [
    ['TEMPORAL_TLS_CERT', base.tlsCertPath],
    ['TEMPORAL_TLS_KEY', base.tlsKeyPath],
    ['BATON_WORKFLOW_BUNDLE', w.BATON_WORKFLOW_BUNDLE],
    ['BATON_TRUST_FILE', base.trustFile],
    ['BATON_BLUEPRINTS', base.blueprintsDir],
  ] as const) {
    if (path !== undefined && !existsSync(path)) {
      const fix =
        name === 'BATON_WORKFLOW_BUNDLE' ? 'run `npm run build` or unset it' : 'mount the file or fix the path';
      throw new ConfigError(`${name} names ${path}, which does not exist: ${fix}`);
    }
  }
  if (w.BATON_BUILD_ID !== undefined && w.BATON_DEPLOYMENT_NAME === undefined) {
    throw new ConfigError(
      'BATON_BUILD_ID is set without BATON_DEPLOYMENT_NAME: set both for Worker Versioning, or neither',
    );
  }
  return {
    ...base,
    ...(w.BATON_DEPLOYMENT_NAME
      ? {
          deployment: {
            name: w.BATON_DEPLOYMENT_NAME,
            ...(w.BATON_BUILD_ID ? { buildId: w.BATON_BUILD_ID } : {}),
            behavior: w.BATON_VERSIONING_BEHAVIOR === 'pinned' ? ('PINNED' as const) : ('AUTO_UPGRADE' as const),
          },
        }
      : {}),
    ...(w.BATON_METRICS_PORT === 'off' ? {} : { http: { host: w.BATON_METRICS_HOST, port: w.BATON_METRICS_PORT } }),
    log: { format: w.BATON_LOG_FORMAT, level: w.BATON_LOG_LEVEL },
    shutdownGraceTime: w.BATON_SHUTDOWN_GRACE_TIME,
    shutdownGraceMs: durationMs(w.BATON_SHUTDOWN_GRACE_TIME),
    ...(w.BATON_WORKFLOW_BUNDLE ? { workflowBundle: w.BATON_WORKFLOW_BUNDLE } : {}),
    ...(w.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: w.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    serviceName: w.OTEL_SERVICE_NAME,
    blobs: {
      dir: w.BATON_BLOB_DIR,
      maxAgeMs: durationMs(w.BATON_BLOB_RETENTION),
      maxBytes: byteSize(w.BATON_BLOB_MAX_BYTES),
    },
    allowAdHocBlueprints: w.BATON_ALLOW_ADHOC_BLUEPRINTS === 'true',
  };
}

/** A comma-separated setting as its trimmed, non-empty entries. */
export function entries(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}
