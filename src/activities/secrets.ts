/**
 * Worker-side access: which secrets and settings a tool may read, and which non-public hosts it may reach. The map
 * is the operator's (BATON_SECRETS, BATON_TOOL_ENV, BATON_EGRESS_ALLOW; see src/config.ts); a blueprint can only
 * name entries of it, never the worker's environment at large. Values are read at run time, by the activity, and
 * every string an activity sends out is scrubbed of the secret values it read.
 */
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import type { ReferenceKind } from './templates.js';

/** Where a secret's value is read from, each time it is used. */
export type SecretSource = { env: string } | { file: string } | { value: string };

/** One mapped secret. */
export interface SecretEntry {
  source: SecretSource;
  /** Tools that may use it (`tool`, `blueprint/tool`, `webhook`); absent: any tool that declares it. */
  tools?: string[];
}

/** Everything a worker lets tools read and reach beyond the public internet. */
export interface ToolAccess {
  /** `${secret:NAME}`: only names mapped here, and only in tools that declare them. */
  secrets: Readonly<Record<string, SecretEntry>>;
  /** `${env:NAME}`: non-secret settings (base URLs), by name. */
  settings: Readonly<Record<string, string>>;
  /**
   * Non-public hosts (`host` or `host:port`) each tool may reach, by `tool`, `blueprint/tool`, `webhook` or `*`.
   * Loopback, private and link-local addresses are refused for every other host.
   */
  hosts: Readonly<Record<string, readonly string[]>>;
}

/** Access that reaches nothing. */
export const noAccess: ToolAccess = { secrets: {}, settings: {}, hosts: {} };

/** Combines access maps; later ones add to (and for equal names replace) earlier ones. */
export function mergeAccess(...parts: ToolAccess[]): ToolAccess {
  const hosts: Record<string, string[]> = {};
  for (const part of parts) {
    for (const [tool, list] of Object.entries(part.hosts)) hosts[tool] = [...(hosts[tool] ?? []), ...list];
  }
  return {
    secrets: Object.assign({}, ...parts.map((p) => p.secrets)) as Record<string, SecretEntry>,
    settings: Object.assign({}, ...parts.map((p) => p.settings)) as Record<string, string>,
    hosts,
  };
}

/** Who is asking: the keys a worker-side list may name it by, and what it declared in its blueprint. */
export interface Caller {
  /** For messages: `tool lookup_customer`, `notifications[0] (webhook)`. */
  label: string;
  /** `tool`, `blueprint/tool` (or `webhook`, `blueprint/webhook`). */
  keys: string[];
  /** Secrets the blueprint declares for it. */
  declared: readonly string[];
}

/** Keys a tool of a blueprint is known by in worker-side lists. */
export function callerKeys(blueprint: string, tool: string): string[] {
  return [tool, `${blueprint}/${tool}`];
}

const MIN_SECRET_LENGTH = 4;

function denied(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'SecretNotAvailable', nonRetryable: true, message });
}

/**
 * The secrets one activity execution read: resolves references for its caller and scrubs their values from any
 * text it sends out.
 */
export class CallSecrets {
  private readonly used = new Map<string, string>();

  constructor(
    private readonly access: ToolAccess,
    private readonly caller: Caller,
    private readonly environment: Readonly<Record<string, string | undefined>>,
  ) {}

  /** The value of `${kind:name}` for this caller, or a non-retryable failure that says what to configure. */
  readonly resolve = (kind: ReferenceKind, name: string): string => {
    const who = this.caller.label;
    if (kind === 'env') {
      const value = this.access.settings[name];
      if (value !== undefined) return value;
      if (this.access.secrets[name]) {
        throw denied(
          `${who} reads \${env:${name}}, but ${name} is a secret: reference it as \${secret:${name}} and declare it in the tool's secrets`,
        );
      }
      throw denied(
        `${who} reads \${env:${name}}, which this worker does not offer: list ${name} in BATON_TOOL_ENV (non-secret settings only)`,
      );
    }
    return this.secret(name);
  };

  /** A declared, mapped secret's value (builtin tools call this through their context). */
  secret(name: string): string {
    const who = this.caller.label;
    if (!this.caller.declared.includes(name)) {
      throw denied(`${who} uses secret ${name} without declaring it: add it to the tool's secrets in the blueprint`);
    }
    const entry = this.access.secrets[name];
    if (!entry) {
      throw denied(
        `${who} needs secret ${name}, which this worker does not map: add ${name} to BATON_SECRETS (e.g. ${name}=env:VAR or ${name}=file:/path)`,
      );
    }
    if (entry.tools && !entry.tools.some((t) => this.caller.keys.includes(t))) {
      throw denied(
        `${who} may not use secret ${name} on this worker: BATON_SECRETS maps it for ${entry.tools.join(', ')} only`,
      );
    }
    const value = readSource(entry.source, name, who, this.environment);
    this.used.set(name, value);
    return value;
  }

  /** Replaces every value this call read (as sent, URL-encoded or JSON-escaped) with `[secret NAME]`. */
  scrub(text: string): string {
    let out = text;
    for (const [name, value] of this.used) {
      const forms = new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]);
      for (const form of forms) out = out.split(form).join(`[secret ${name}]`);
    }
    return out;
  }
}

function readSource(
  source: SecretSource,
  name: string,
  who: string,
  environment: Readonly<Record<string, string | undefined>>,
): string {
  let value: string | undefined;
  if ('value' in source) value = source.value;
  else if ('env' in source) {
    value = environment[source.env];
    if (value === undefined || value === '') {
      throw denied(`${who} needs secret ${name}: the worker's environment variable ${source.env} is not set`);
    }
  } else {
    try {
      value = readFileSync(source.file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw denied(
        `${who} needs secret ${name}: cannot read ${source.file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  if (value.length < MIN_SECRET_LENGTH) {
    throw denied(
      `${who} needs secret ${name}, whose value is shorter than ${MIN_SECRET_LENGTH} characters: too short to be kept out of outputs`,
    );
  }
  return value;
}

/**
 * Access for tests and embedding: every value is both a setting (`${env:NAME}`) and a secret (`${secret:NAME}`,
 * declared), and the hosts of values that are http(s) URLs may be reached by every tool. Never give it process.env.
 */
export function accessFromValues(values: Readonly<Record<string, string | undefined>>): ToolAccess {
  const entries = Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined);
  const hosts = entries.flatMap(([, v]) => {
    try {
      const url = new URL(v);
      return url.protocol === 'http:' || url.protocol === 'https:' ? [url.host] : [];
    } catch {
      return [];
    }
  });
  return {
    secrets: Object.fromEntries(entries.map(([k, v]) => [k, { source: { value: v } }])),
    settings: Object.fromEntries(entries),
    hosts: hosts.length ? { '*': hosts } : {},
  };
}

/** Bound to one environment, makes a CallSecrets per activity execution. */
export class SecretResolver {
  constructor(
    readonly access: ToolAccess,
    private readonly environment: Readonly<Record<string, string | undefined>> = process.env,
  ) {}

  forCall(caller: Caller): CallSecrets {
    return new CallSecrets(this.access, caller, this.environment);
  }
}
