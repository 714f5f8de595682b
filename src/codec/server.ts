/**
 * `baton codec-server`: the Temporal codec server protocol (POST /encode, POST /decode, also under /{namespace}/...)
 * so the Web UI and `temporal --codec-endpoint` can show encrypted payloads. Requests need the bearer token unless the
 * server was started without one on loopback; CORS admits the configured Web UI origins.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

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

export interface CodecServerOptions {
  codec: PayloadCodec;
  host: string;
  port: number;
  /** Bearer token callers must present; undefined admits anyone (only allowed on loopback). */
  token?: string;
  /** Origins allowed by CORS, e.g. the Web UI's http://localhost:8233. */
  origins: string[];
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** Starts the codec server. */
export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  if (opts.token === undefined && !['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
    throw new Error('a codec server reachable beyond loopback needs a token: set BATON_CODEC_TOKEN');
  }
  const server = createServer((req, res) => {
    void handle(req, res, opts);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: CodecServerOptions): Promise<void> {
  const origin = req.headers.origin;
  if (origin && opts.origins.includes(origin)) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'origin');
    res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization');
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-credentials', 'true');
  }
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'OPTIONS') {
    res.writeHead(204);
    res.end();
    return;
  }
  const route = /^(?:\/[^/]+)?\/(encode|decode)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1];
  if (!route) return send(404, { message: 'codec server: use POST /encode or POST /decode' });
  if (req.method !== 'POST') return send(405, { message: 'codec server: use POST' });
  if (!authorized(req, opts.token)) return send(401, { message: 'codec server: missing or wrong bearer token' });
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
    const payloads = (body.payloads ?? []).map(fromJson);
    const out = route === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
    send(200, { payloads: out.map(toJson) });
  } catch (err) {
    send(400, { message: `codec server: ${(err as Error).message}` });
  }
}
