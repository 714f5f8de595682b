/**
 * The worker-side map of what tools may read and reach (docs/security.md), from the environment: BATON_SECRETS,
 * BATON_TOOL_ENV and BATON_EGRESS_ALLOW, validated at start with messages that name the entry and never its value.
 */
import type { SecretEntry, ToolAccess } from './activities/secrets.js';
import { ConfigError, entries } from './config.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The worker's own credentials: never handed to a tool, whatever the map says. */
const WORKER_CREDENTIALS = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_KEY',
  'OPENAI_API_KEY',
  'BATON_ENCRYPTION_KEYS',
  'BATON_CODEC_TOKEN',
];
const CALLER = /^(\*|[a-z][a-z0-9_-]*(\/[a-z][a-z0-9_-]*)?)$/;

/**
 * The worker-side map of what tools may read and reach, from:
 * - BATON_SECRETS: `NAME[=env:VAR|=file:/path][@tool+blueprint/tool+webhook]`, comma-separated. A bare NAME reads
 *   the environment variable NAME. Without `@...` any tool that declares the secret may use it.
 * - BATON_TOOL_ENV: names of non-secret environment variables blueprints may read as `${env:NAME}` (base URLs).
 * - BATON_EGRESS_ALLOW: `caller=host[:port]` entries (caller: a tool, blueprint/tool, webhook or *) that may reach
 *   loopback, private or link-local addresses; public hosts need no entry.
 * Values are read when a tool runs, not here, so a secret file can be rotated without a restart.
 */
export function loadToolAccess(env: Readonly<Record<string, string | undefined>> = process.env): ToolAccess {
  const secrets: Record<string, SecretEntry> = {};
  for (const entry of entries(env.BATON_SECRETS)) {
    const m = /^([^=@\s]+)(?:=(env|file):([^@]+))?(?:@(.+))?$/.exec(entry);
    const name = m?.[1];
    if (!m || name === undefined || !NAME.test(name)) {
      throw new ConfigError(
        `BATON_SECRETS entry "${entry.split('=')[0]}" is invalid: use NAME, NAME=env:VAR or NAME=file:/path, optionally followed by @tool+other_tool`,
      );
    }
    const kind = m[2];
    const where = m[3]?.trim();
    if (kind === 'env' && !NAME.test(where ?? '')) {
      throw new ConfigError(`BATON_SECRETS entry ${name}: env:${where ?? ''} is not an environment variable name`);
    }
    const variable = kind === 'file' ? undefined : kind === 'env' ? where! : name;
    if (variable !== undefined && WORKER_CREDENTIALS.includes(variable)) {
      throw new ConfigError(
        `BATON_SECRETS entry ${name} reads ${variable}, the worker's own credential: give tools a credential of their own`,
      );
    }
    const tools = m[4]?.split('+').map((t) => t.trim());
    const bad = tools?.find((t) => !CALLER.test(t));
    if (bad !== undefined) {
      throw new ConfigError(`BATON_SECRETS entry ${name}: "${bad}" is not a tool, blueprint/tool or webhook name`);
    }
    secrets[name] = {
      source: kind === 'file' ? { file: where! } : { env: kind === 'env' ? where! : name },
      ...(tools ? { tools } : {}),
    };
  }
  const settings: Record<string, string> = {};
  for (const name of entries(env.BATON_TOOL_ENV)) {
    if (!NAME.test(name)) throw new ConfigError(`BATON_TOOL_ENV: "${name}" is not an environment variable name`);
    if (WORKER_CREDENTIALS.includes(name)) {
      throw new ConfigError(`BATON_TOOL_ENV lists ${name}, the worker's own credential; it is never a tool setting`);
    }
    if (secrets[name]) {
      throw new ConfigError(
        `BATON_TOOL_ENV lists ${name}, which BATON_SECRETS maps as a secret; a name is one or the other`,
      );
    }
    const value = env[name];
    if (value !== undefined && value !== '') settings[name] = value;
  }
  const hosts: Record<string, string[]> = {};
  for (const entry of entries(env.BATON_EGRESS_ALLOW)) {
    const eq = entry.indexOf('=');
    const caller = entry.slice(0, eq).trim();
    const host = entry.slice(eq + 1).trim();
    if (eq <= 0 || !CALLER.test(caller) || !/^[A-Za-z0-9.:[\]-]+$/.test(host)) {
      throw new ConfigError(
        `BATON_EGRESS_ALLOW entry "${entry}" is invalid: use tool=host[:port] (tool may be blueprint/tool, webhook or *)`,
      );
    }
    hosts[caller] = [...(hosts[caller] ?? []), host];
  }
  return { secrets, settings, hosts };
}

/**
 * What the demo back office (the scripted server's demo API, started by `baton dev` and `baton worker --scripted`)
 * needs: its URL as the setting BATON_DEMO_API, and its loopback host allowed for every tool. Given explicitly, never
 * implied by other settings.
 */
export function demoBackOfficeAccess(demoUrl: string): ToolAccess {
  return { secrets: {}, settings: { BATON_DEMO_API: demoUrl }, hosts: { '*': [new URL(demoUrl).host] } };
}
