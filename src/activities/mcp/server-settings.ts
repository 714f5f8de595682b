/**
 * Turning an `mcp` source's templates into the settings of a connection: `${env:NAME}` and `${secret:NAME}` resolved
 * for this caller only (the activity scrubs their values from whatever leaves it), the HTTP URL held to the worker's
 * egress rules, and the schema hash a goal pins each tool by.
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import type { McpToolSpec } from '../../blueprint/schema.js';
import { hostAllowed, isNonPublicAddress } from '../egress.js';
import type { ResolveReference } from '../templates.js';
import type { McpServerSettings } from './connections.js';

const REF = /\$\{(secret|env):([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${kind:NAME}` references in one pass; the values are never parsed again. */
export function renderReferences(template: string, resolve: ResolveReference): string {
  return template.replace(REF, (_m, kind: 'secret' | 'env', name: string) => resolve(kind, name));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** sha256 (hex) of a tool's input schema in canonical JSON: what a goal pins and a call checks. */
export function schemaHash(inputSchema: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(inputSchema)))
    .digest('hex');
}

function denied(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'EgressDenied', nonRetryable: true, message });
}

/**
 * Refuses an HTTP server on a loopback, private or link-local address unless the worker allows its host: a clear,
 * early answer before any connection. Each request after it is checked again by the connection's guarded fetch.
 */
async function checkEgress(url: URL, allowedHosts: readonly string[], owner: string): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw denied(`${owner}: an MCP server URL must be http or https`);
  }
  if (hostAllowed(url, { allowedHosts })) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addresses.length === 0 || addresses.some(isNonPublicAddress)) {
    throw denied(
      `${owner}: ${url.host} is a loopback, private or link-local address; allow the host for this source in BATON_EGRESS_ALLOW if that is intended`,
    );
  }
}

/** The connection settings of a source, resolved for one call (or discovery). */
export async function serverSettings(
  spec: McpToolSpec,
  resolve: ResolveReference,
  allowedHosts: readonly string[],
  owner: string,
): Promise<McpServerSettings> {
  if (spec.command !== undefined) {
    return {
      kind: 'stdio',
      command: renderReferences(spec.command, resolve),
      args: spec.args.map((a) => renderReferences(a, resolve)),
      env: Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, renderReferences(v, resolve)])),
    };
  }
  if (spec.url === undefined) throw denied(`${owner}: the source has neither command nor url`);
  let url: URL;
  try {
    url = new URL(renderReferences(spec.url, resolve));
  } catch {
    throw ApplicationFailure.create({
      type: 'InvalidToolTemplate',
      nonRetryable: true,
      message: `${owner}: the url ${spec.url} is not a valid URL once its references are resolved`,
    });
  }
  await checkEgress(url, allowedHosts, owner);
  return {
    kind: 'http',
    url,
    headers: Object.fromEntries(Object.entries(spec.headers).map(([k, v]) => [k, renderReferences(v, resolve)])),
    egress: { allowedHosts },
  };
}
