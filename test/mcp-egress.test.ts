/**
 * The egress guard on every request to an HTTP MCP server, not only the first: the Streamable HTTP transport sends
 * through the guarded fetch, so a request to an address the source may not reach is refused before the server sees
 * it, mid-session too; a redirect is followed only within the origin, each hop through the guard; kept-alive sockets
 * of an allowed caller are never handed to one that is not. Against the real server-everything over Streamable HTTP,
 * behind a loopback proxy that records what reached it (and, for redirects, a front server that sends them).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedWebFetch } from '../src/activities/egress-fetch.js';
import { EgressDenied, guardedFetch } from '../src/activities/egress.js';
import { egressDenial, McpConnections, type McpTarget } from '../src/activities/mcp/connections.js';
import { discoverSource } from '../src/activities/mcp/discovery.js';
import { SecretResolver } from '../src/activities/secrets.js';
import { parseBlueprint } from '../src/blueprint/load.js';
import { startEverythingHttp, type HttpMcpServer } from './helpers/mcp-servers.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/recording-proxy.js';

let plain: Server;
let plainPort: number;
let plainSeen = 0;
let http: HttpMcpServer;
let proxy: RecordingProxy;
let front: Server;
let frontPort: number;
const frontSeen: string[] = [];
const pool = new McpConnections();

beforeAll(async () => {
  plain = createServer((req, res) => {
    plainSeen += 1;
    if (req.url === '/moved') {
      res.writeHead(307, { location: '/here' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-seen': String(plainSeen) });
    res.end(`hello ${req.method} ${req.url}`);
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  plainPort = (plain.address() as AddressInfo).port;
  http = await startEverythingHttp();
  proxy = await startRecordingProxy(http.url);
  // In front of the proxy: /old redirects to /mcp here (same origin), /elsewhere to the proxy (another origin).
  front = createServer((req, res) => {
    frontSeen.push(`${req.method} ${req.url}`);
    if (req.url === '/old' || req.url === '/elsewhere') {
      res.writeHead(307, { location: req.url === '/old' ? '/mcp' : proxy.url }).end();
      return;
    }
    const headers = { ...req.headers, host: new URL(proxy.url).host };
    const out = request({ host: '127.0.0.1', port: proxyPort(), path: req.url, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.headersSent || res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  frontPort = (front.address() as AddressInfo).port;
});

afterAll(async () => {
  await pool.close();
  front?.closeAllConnections();
  if (front) await new Promise((resolve) => front.close(resolve));
  await proxy?.close();
  await http?.stop();
  plain.closeAllConnections();
  await new Promise((resolve) => plain.close(resolve));
});

const proxyPort = (): string => new URL(proxy.url).port;

describe('the guard', () => {
  it('never hands a socket kept alive for an allowed caller to one that is not allowed', async () => {
    const url = new URL(`http://localhost:${plainPort}/x`);
    const send = (allowedHosts: string[]) =>
      guardedFetch(
        { url, method: 'GET', headers: {}, signal: AbortSignal.timeout(10_000), maxBytes: 1_000 },
        {
          allowedHosts,
        },
      );
    const before = plainSeen;
    expect((await send([`localhost:${plainPort}`])).status).toBe(200);
    expect(plainSeen).toBe(before + 1);
    // The allowed request left a kept-alive socket to the loopback server; the next caller may not reach it.
    await expect(send([])).rejects.toThrow(EgressDenied);
    await expect(send([])).rejects.toThrow(/resolves to a loopback, private or link-local address/);
    expect(plainSeen).toBe(before + 1);
  });

  it('as a fetch: streams the answer, keeps headers, hands redirects back unfollowed, refuses what it must', async () => {
    const allowed = guardedWebFetch({ allowedHosts: [`127.0.0.1:${plainPort}`] });
    const res = await allowed(`http://127.0.0.1:${plainPort}/a`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('hello POST /a');

    const moved = await allowed(new URL(`http://127.0.0.1:${plainPort}/moved`));
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe('/here');

    const before = plainSeen;
    const refused = guardedWebFetch({ allowedHosts: [] });
    await expect(refused(`http://127.0.0.1:${plainPort}/a`)).rejects.toThrow(
      /127\.0\.0\.1:\d+ is a loopback, private or link-local address; allow it .* BATON_EGRESS_ALLOW/,
    );
    await expect(refused(`http://localhost:${plainPort}/a`)).rejects.toThrow(EgressDenied);
    expect(plainSeen).toBe(before);
  });
});

describe('an HTTP MCP server', () => {
  it('is checked on every request: a call after the address stops being allowed never reaches it', async () => {
    const allowedHosts = [`localhost:${proxyPort()}`];
    const target: McpTarget = {
      key: 'egress/everything',
      settings: {
        kind: 'http',
        url: new URL(`http://localhost:${proxyPort()}/mcp`),
        headers: {},
        egress: { allowedHosts },
      },
      maxConcurrency: 2,
    };
    const conn = await pool.connection(target);
    const ok = await conn.client.callTool({ name: 'echo', arguments: { message: 'allowed' } });
    expect(JSON.stringify(ok.content)).toContain('allowed');
    const reached = proxy.seen.filter((r) => r.body.includes('"tools/call"')).length;
    expect(reached).toBe(1);

    // The same session, the same URL: the address is no longer allowed (as after a DNS answer turns private).
    allowedHosts.length = 0;
    const err = await conn.client.callTool({ name: 'echo', arguments: { message: 'refused' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(egressDenial(err)?.message).toMatch(/resolves to a loopback, private or link-local address/);
    expect(proxy.seen.filter((r) => r.body.includes('"tools/call"'))).toHaveLength(reached);
    expect(proxy.seen.some((r) => r.body.includes('refused'))).toBe(false);
    await pool.discard(conn);
  });

  it('refuses to connect to an address the source may not reach, and discovery says how to allow it', async () => {
    const before = proxy.seen.length;
    const err = await pool
      .connection({
        key: 'egress/denied',
        settings: { kind: 'http', url: new URL(proxy.url), headers: {}, egress: { allowedHosts: [] } },
        maxConcurrency: 2,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(egressDenial(err)).toBeInstanceOf(EgressDenied);
    expect(proxy.seen.length).toBe(before);

    const { blueprint } = parseBlueprint(`apiVersion: baton/v1
name: egress
models: { default: { model: m } }
agents: { a: { role: researcher, instructions: x, tools: [everything] } }
entry: a
mcp:
  everything:
    url: '${proxy.url.replace('127.0.0.1', 'localhost')}'
    tools: { echo: {} }
`);
    const resolver = new SecretResolver({ secrets: {}, settings: {}, hosts: {} }, {});
    const failure = await discoverSource(
      { connections: pool, resolver },
      'egress',
      'everything',
      blueprint.mcp!.everything!,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'EgressDenied', nonRetryable: true });
    expect((failure as Error).message).toMatch(/mcp source everything .*BATON_EGRESS_ALLOW/);
    expect(proxy.seen.length).toBe(before);
  });

  it('follows a redirect only within the origin, each hop through the guard; one elsewhere reaches nothing', async () => {
    const egress = { allowedHosts: [`127.0.0.1:${frontPort}`] };
    const before = proxy.seen.length;
    const moved = await pool.connection({
      key: 'egress/moved',
      settings: { kind: 'http', url: new URL(`http://127.0.0.1:${frontPort}/old`), headers: {}, egress },
      maxConcurrency: 2,
    });
    const ok = await moved.client.callTool({ name: 'echo', arguments: { message: 'via a redirect' } });
    expect(JSON.stringify(ok.content)).toContain('via a redirect');
    expect(frontSeen).toContain('POST /old');
    expect(frontSeen).toContain('POST /mcp');
    expect(proxy.seen.length).toBeGreaterThan(before);
    await pool.discard(moved);

    const reached = proxy.seen.length;
    const err = await pool
      .connection({
        key: 'egress/elsewhere',
        settings: { kind: 'http', url: new URL(`http://127.0.0.1:${frontPort}/elsewhere`), headers: {}, egress },
        maxConcurrency: 2,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(frontSeen).toContain('POST /elsewhere');
    expect(String(err)).toMatch(/redirect/i);
    expect(proxy.seen.length).toBe(reached);
  });
});
