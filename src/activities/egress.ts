/**
 * The egress guard every outgoing tool or webhook request goes through: http(s) only; loopback, private, link-local
 * and other non-public addresses refused unless the worker allows that host for that caller; the check runs on the
 * addresses DNS answers at connect time (the connection uses exactly the checked addresses, so a rebinding answer
 * cannot slip in between); redirects followed only within the same origin, re-checked, at most a few times. Kept-alive
 * connections are pooled apart: one made for a caller allowed a non-public host is never reused for a caller that
 * is not (the shared global agent would hand it over without a new DNS check).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 maps IPv4 into IPv6
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** True for an address that is not on the public internet. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, 'ipv6');
}

/** A request the guard refused; its message never holds the resolved URL. */
export class EgressDenied extends Error {
  override readonly name = 'EgressDenied';
}

/** What the guard needs to know about the caller. */
export interface EgressPolicy {
  /** `host` or `host:port` entries this caller may reach even on non-public addresses. */
  allowedHosts: readonly string[];
}

function parseEntry(entry: string): { host: string; port?: string } {
  const e = entry.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  if (bracketed) return { host: bracketed[1]!, ...(bracketed[2] ? { port: bracketed[2] } : {}) };
  if (isIP(e) === 6) return { host: e };
  const colon = e.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(e.slice(colon + 1))) return { host: e.slice(0, colon), port: e.slice(colon + 1) };
  return { host: e };
}

/** True when the caller may reach `url`'s host even on a non-public address. */
export function hostAllowed(url: URL, policy: EgressPolicy): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return policy.allowedHosts.some((entry) => {
    const e = parseEntry(entry);
    return e.host === host && (e.port === undefined || e.port === port);
  });
}

/** A DNS lookup that refuses non-public answers. */
function guardedLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find((a) => isNonPublicAddress(a.address));
      if (bad || addresses.length === 0) {
        const denied = new EgressDenied(
          `${hostname} resolves to a loopback, private or link-local address; allow the host for this tool in BATON_EGRESS_ALLOW if that is intended`,
        );
        return callback(denied, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Connection pools: `publicOnly` holds only sockets whose addresses the guard checked, `allowed` those of requests to
 * hosts their caller may reach. Reusing a socket of one pool for the other's request would skip the check.
 */
const pools = {
  publicOnly: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) },
  allowed: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) },
};

/** An outgoing request. */
export interface EgressRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Bytes of the response body kept; the rest is dropped. */
  maxBytes: number;
  /** Same-origin redirects followed; default 3. 0: none (a redirect is returned as the response). */
  maxRedirects?: number;
}

/** The response (after same-origin redirects). */
export interface EgressResponse {
  status: number;
  text: string;
  truncated: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Sends one request through the guard; a redirect to another origin is an EgressDenied. */
export async function guardedFetch(req: EgressRequest, policy: EgressPolicy): Promise<EgressResponse> {
  let { url, method, body } = req;
  const maxRedirects = req.maxRedirects ?? 3;
  for (let hop = 0; ; hop += 1) {
    const res = await guardedRequest(url, method, req.headers, body, req.signal, policy);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined || maxRedirects === 0) {
      return { status: res.statusCode ?? 0, ...(await readCapped(res, req.maxBytes)) };
    }
    res.resume();
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new EgressDenied(`answered ${res.statusCode} with a redirect Baton cannot parse; not followed`);
    }
    if (next.origin !== url.origin) {
      throw new EgressDenied(
        `answered ${res.statusCode} with a redirect to another origin; Baton follows redirects only within the same origin`,
      );
    }
    if (hop + 1 > maxRedirects) throw new EgressDenied(`redirected more than ${maxRedirects} times; gave up`);
    if (
      res.statusCode === 303 ||
      ((res.statusCode === 301 || res.statusCode === 302) && method !== 'GET' && method !== 'HEAD')
    ) {
      method = 'GET';
      body = undefined;
    }
    url = next;
  }
}

/**
 * Sends one request through the guard and resolves with the response as it arrives (its body not read, redirects not
 * followed): a literal non-public address is refused before anything is sent, a host name only on addresses its DNS
 * answer gives at connect time that are public (unless the caller may reach the host).
 */
export function guardedRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Uint8Array | undefined,
  signal: AbortSignal | undefined,
  policy: EgressPolicy,
): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new EgressDenied(`${url.protocol} is not http or https; refused`));
  }
  const allowed = hostAllowed(url, policy);
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowed && isIP(literal) && isNonPublicAddress(literal)) {
    return Promise.reject(
      new EgressDenied(
        `${url.host} is a loopback, private or link-local address; allow it for this tool in BATON_EGRESS_ALLOW if that is intended`,
      ),
    );
  }
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const pool = allowed ? pools.allowed : pools.publicOnly;
  const agent = https ? pool.https : pool.http;
  const outgoing: OutgoingHttpHeaders = { ...headers };
  if (body !== undefined) outgoing['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const r = send(
      url,
      {
        method,
        headers: outgoing,
        agent,
        ...(signal ? { signal } : {}),
        ...(allowed ? {} : { lookup: guardedLookup() }),
      },
      resolve,
    );
    r.once('error', reject);
    r.end(body);
  });
}

async function readCapped(res: IncomingMessage, cap: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (size + buf.byteLength > cap) {
      chunks.push(buf.subarray(0, cap - size));
      truncated = true;
      res.destroy();
      break;
    }
    chunks.push(buf);
    size += buf.byteLength;
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
  return { text: truncated ? text.replace(/\uFFFD$/, '') : text, truncated };
}

/** The allowed non-public hosts of a caller known by `keys`, from the worker's per-tool lists. */
export function allowedHostsFor(hosts: Readonly<Record<string, readonly string[]>>, keys: string[]): string[] {
  return [...(hosts['*'] ?? []), ...keys.flatMap((k) => hosts[k] ?? [])];
}
