/** Run-time references in tool definitions: `${secret:NAME}`, `${env:NAME}` and `{{arg}}` placeholders. */
import { ApplicationFailure } from '@temporalio/common';

/** The worker's environment, where secrets and settings are read at run time. */
export type Env = Readonly<Record<string, string | undefined>>;

const REFERENCE = /\$\{(secret|env):([A-Za-z_][A-Za-z0-9_]*)\}/g;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g;

/**
 * Replaces `${secret:NAME}` and `${env:NAME}` from the worker's environment; a missing one fails the call. `owner`
 * names what needs the value in the error (default: the tool).
 */
export function resolveReferences(text: string, env: Env, tool: string, owner = `tool ${tool}`): string {
  return text.replace(REFERENCE, (_, kind: string, name: string) => {
    const value = env[name];
    if (value === undefined) {
      throw ApplicationFailure.create({
        type: 'MissingSecret',
        nonRetryable: true,
        message: `${owner} needs ${kind} ${name}: set ${name} in the worker's environment`,
      });
    }
    return value;
  });
}

function lookup(args: unknown, path: string): unknown {
  let value: unknown = args;
  for (const key of path.split('.')) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** Fills `{{arg}}` placeholders from the call's arguments; `encode` URL-encodes each value. */
export function fillPlaceholders(text: string, args: unknown, encode: boolean, tool: string): string {
  return text.replace(PLACEHOLDER, (_, path: string) => {
    const value = lookup(args, path);
    if (value === undefined || value === null) {
      throw ApplicationFailure.create({
        type: 'InvalidToolArguments',
        nonRetryable: true,
        message: `tool ${tool} needs argument "${path}"`,
      });
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return encode ? encodeURIComponent(text) : text;
  });
}

/** Fills placeholders in every string of a JSON body template. A lone `{{arg}}` keeps the argument's JSON type. */
export function fillBody(template: unknown, args: unknown, tool: string): unknown {
  if (typeof template === 'string') {
    const whole = /^\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}$/.exec(template);
    if (whole?.[1] !== undefined) {
      const value = lookup(args, whole[1]);
      if (value !== undefined) return value;
    }
    return fillPlaceholders(template, args, false, tool);
  }
  if (Array.isArray(template)) return template.map((t) => fillBody(t, args, tool));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillBody(v, args, tool)]));
  }
  return template;
}
