/**
 * `baton codec-server`: the Temporal codec server protocol (POST /encode, POST /decode, also under /{namespace}/...)
 * so the Web UI and `temporal --codec-endpoint` can show encrypted payloads. Every request, in every mode, must name
 * an allowed Host (a web page reaching it through DNS rebinding names its own) and, when it has an Origin, an allowed
 * one; bodies are capped. Callers authenticate with the static bearer token or an OIDC access token verified against
 * a JWKS (what the Web UI sends with TEMPORAL_CODEC_PASS_ACCESS_TOKEN); without either configured only loopback is
 * served. Payloads that were never encrypted are not passed through as if decrypted.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExternalStorage, Payload, PayloadCodec } from '@temporalio/common';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ENCRYPTED_ENCODING } from './encryption.js';
import { conversationStoreFrom } from './conversation-store.js';
import { resolveStoredPayloads, resolveStoredTexts } from './stored-references.js';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

/** OIDC access tokens the server accepts: signed by a key of the JWKS, from the issuer, for the audience. */
export interface CodecOidc {
  jwksUrl: string;
  issuer?: string;
  audience?: string;
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  host: string;
  port: number;
  /** Bearer token callers may present. */
  token?: string;
  /** OIDC access tokens callers may present instead. */
  oidc?: CodecOidc;
  /** Origins allowed to call from a browser, e.g. the Web UI's http://localhost:8233. */
  origins: string[];
  /** Host header values accepted besides the address it listens on (names a proxy or the Web UI uses). */
  hosts?: string[];
  /** Largest request body read; default 4 MiB. */
  maxBodyBytes?: number;
  /** The payload store: references in /decode requests are resolved (and checked against their hash) first. */
  storage?: ExternalStorage;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];
const WILDCARD = ['0.0.0.0', '::'];

/** The payload shown in place of one that was not encrypted (where encryption is on, it was not written by Baton). */
export const REFUSED_PLAINTEXT = 'baton codec server: this payload was not encrypted; refused to show it as decoded';

function hostValues(host: string, port: number, extra: string[]): Set<string> {
  const names = LOOPBACK.includes(host) ? LOOPBACK : WILDCARD.includes(host) ? [] : [host];
  const values = names.map((n) => (n.includes(':') ? `[${n}]:${port}` : `${n}:${port}`));
  return new Set([...values, ...extra].map((h) => h.toLowerCase()));
}

/** Starts the codec server. */
export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  const authRequired = opts.token !== undefined || opts.oidc !== undefined;
  if (!authRequired && !LOOPBACK.includes(opts.host)) {
    throw new Error(
      'a codec server reachable beyond loopback needs authentication: set BATON_CODEC_TOKEN or BATON_CODEC_OIDC_JWKS_URL',
    );
  }
  if (WILDCARD.includes(opts.host) && !opts.hosts?.length) {
    throw new Error(
      `listening on ${opts.host} needs the names clients use: set BATON_CODEC_HOSTS (e.g. codec.example.com:443)`,
    );
  }
  const jwks = opts.oidc ? createRemoteJWKSet(new URL(opts.oidc.jwksUrl)) : undefined;
  const verifyAccessToken = async (token: string): Promise<boolean> => {
    if (!jwks || !opts.oidc) return false;
    try {
      await jwtVerify(token, jwks, {
        ...(opts.oidc.issuer ? { issuer: opts.oidc.issuer } : {}),
        ...(opts.oidc.audience ? { audience: opts.oidc.audience } : {}),
      });
      return true;
    } catch {
      return false;
    }
  };
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const ctx: HandlerContext = {
    opts,
    hosts: hostValues(opts.host, port, opts.hosts ?? []),
    authRequired,
    verifyAccessToken,
    maxBodyBytes: opts.maxBodyBytes ?? 4 * 1024 * 1024,
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res, ctx);
  });
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface HandlerContext {
  opts: CodecServerOptions;
  hosts: Set<string>;
  authRequired: boolean;
  verifyAccessToken(token: string): Promise<boolean>;
  maxBodyBytes: number;
}

function sameToken(given: string, wanted: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(wanted);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function authorized(req: IncomingMessage, ctx: HandlerContext): Promise<boolean> {
  if (!ctx.authRequired) return true;
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (bearer === undefined) return false;
  if (ctx.opts.token !== undefined && sameToken(bearer, ctx.opts.token)) return true;
  return ctx.verifyAccessToken(bearer);
}

class TooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > max) throw new TooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > max) throw new TooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function isEncrypted(p: Payload): boolean {
  return Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING;
}

function refusedPayload(): Payload {
  return {
    metadata: { encoding: Buffer.from('json/plain') },
    data: Buffer.from(JSON.stringify(REFUSED_PLAINTEXT)),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: HandlerContext): Promise<void> {
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  // DNS rebinding: a page on another site that made its name resolve here still sends its own Host.
  if (!ctx.hosts.has((req.headers.host ?? '').toLowerCase())) {
    return send(421, { message: 'codec server: unexpected Host header; add the name to BATON_CODEC_HOSTS' });
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!ctx.opts.origins.includes(origin)) return send(403, { message: 'codec server: origin not allowed' });
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'origin');
    res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-credentials', 'true');
  }
  if (req.method === 'OPTIONS') {
    res.writeHead(204);
    res.end();
    return;
  }
  const route = /^(?:\/[^/]+)?\/(encode|decode)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
  if (!route) return send(404, { message: 'codec server: use POST /encode or POST /decode' });
  if (req.method !== 'POST') return send(405, { message: 'codec server: use POST' });
  if (!(await authorized(req, ctx))) {
    return send(401, { message: 'codec server: missing or invalid bearer token (static token or OIDC access token)' });
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, ctx.maxBodyBytes);
  } catch (err) {
    if (err instanceof TooLarge) {
      // Stop reading: the rest of the body is dropped with the connection once the answer is out.
      res.setHeader('connection', 'close');
      res.on('finish', () => req.destroy());
      send(413, { message: `codec server: request body over ${ctx.maxBodyBytes} bytes` });
      return;
    }
    throw err;
  }
  try {
    const body = JSON.parse(raw.toString('utf8')) as { payloads?: JsonPayload[] };
    const payloads = (body.payloads ?? []).map(fromJson);
    let out: Payload[];
    if (route === 'encode') out = await ctx.opts.codec.encode(payloads);
    else {
      await resolveStoredPayloads(payloads, ctx.opts.storage);
      const encrypted = payloads.filter(isEncrypted);
      const decoded = await ctx.opts.codec.decode(encrypted);
      // Long tool outputs kept in the conversation store are shown whole, checked against their hash.
      if (ctx.opts.storage)
        await resolveStoredTexts(
          decoded,
          conversationStoreFrom({ externalStorage: ctx.opts.storage, payloadCodecs: [ctx.opts.codec] }),
        );
      let next = 0;
      out = payloads.map((p) => (isEncrypted(p) ? decoded[next++]! : refusedPayload()));
    }
    send(200, { payloads: out.map(toJson) });
  } catch (err) {
    send(400, { message: `codec server: ${(err as Error).message}` });
  }
}
