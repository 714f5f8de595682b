/**
 * The worker's MCP connection pool against real servers from npm: server-everything over stdio and over Streamable
 * HTTP on loopback. A stdio server is started once and started again after it dies; an HTTP session lost to a
 * server restart is replaced; calls are bounded per server; results keep binary content out of the text.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpConnections, notDelivered, type McpTarget } from '../src/activities/mcp/connections.js';
import { directoryBlobStore } from '../src/activities/mcp/blobs.js';
import { formatResult } from '../src/activities/mcp/results.js';
import { checkPinned } from '../src/activities/mcp/index.js';
import { schemaHash, serverSettings } from '../src/activities/mcp/server-settings.js';
import type { McpCallSpec } from '../src/blueprint/mcp.js';
import { parseBlueprint } from '../src/blueprint/load.js';
import { eventually } from './helpers/harness.js';
import { everythingStdio, startEverythingHttp, type HttpMcpServer } from './helpers/mcp-servers.js';

const pool = new McpConnections();
let http: HttpMcpServer;
let blobDir: string;

const stdioTarget = (limit = 4): McpTarget => ({
  key: 'test/everything',
  settings: { kind: 'stdio', ...everythingStdio(), env: {} },
  maxConcurrency: limit,
});

beforeAll(async () => {
  http = await startEverythingHttp();
  blobDir = await mkdtemp(join(tmpdir(), 'baton-blobs-'));
});

afterAll(async () => {
  await pool.close();
  await http.stop();
  await rm(blobDir, { recursive: true, force: true });
});

describe('stdio', () => {
  it('starts the server once, lists its tools with annotations and calls one', async () => {
    const a = await pool.connection(stdioTarget());
    const b = await pool.connection(stdioTarget());
    expect(b).toBe(a);
    expect(a.pid).toBeGreaterThan(0);
    const echo = (await a.tools()).find((t) => t.name === 'echo');
    expect(echo?.annotations?.readOnlyHint).toBe(true);
    expect(echo?.inputSchema).toMatchObject({ type: 'object' });
    const result = await a.client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    expect(JSON.stringify(result.content)).toContain('hello');
  });

  it('starts the server again after it dies', async () => {
    const first = await pool.connection(stdioTarget());
    const pid = first.pid!;
    process.kill(pid, 'SIGKILL');
    await eventually(() => (first.closed ? true : undefined), 'the pool to see the server exit');
    const second = await pool.connection(stdioTarget());
    expect(second).not.toBe(first);
    expect(second.pid).not.toBe(pid);
    const result = await second.client.callTool({ name: 'echo', arguments: { message: 'again' } });
    expect(JSON.stringify(result.content)).toContain('again');
  });

  it('bounds the calls in flight to one server', async () => {
    const conn = await pool.connection({ ...stdioTarget(1), key: 'test/bounded' });
    let inFlight = 0;
    let most = 0;
    const signal = new AbortController().signal;
    await Promise.all(
      [1, 2, 3].map((i) =>
        conn.bounded(async () => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await conn.client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
          inFlight -= 1;
        }, signal),
      ),
    );
    expect(most).toBe(1);
  });
});

describe('settings', () => {
  it('gives other settings their own connection and retires the idle old one', async () => {
    const a = await pool.connection({ ...stdioTarget(), key: 'test/versions' });
    const b = await pool.connection({
      key: 'test/versions',
      settings: { kind: 'stdio', ...everythingStdio(), env: { EXTRA: 'x' } },
      maxConcurrency: 4,
    });
    expect(b).not.toBe(a);
    await eventually(() => (a.closed ? true : undefined), 'the idle old connection to close');
    expect(await pool.peek('test/versions')).toBe(b);
  });

  it('resolves references for the call and holds HTTP servers to the egress rules', async () => {
    const { blueprint } = parseBlueprint(`apiVersion: baton/v1
name: s
models: { default: { model: m } }
agents: { a: { role: researcher, instructions: x, tools: [web] } }
entry: a
mcp:
  web:
    url: 'http://127.0.0.1:9/\${env:PATH_PART}'
    headers: { Authorization: 'Bearer \${secret:TOKEN}' }
    secrets: [TOKEN]
    tools: { fetch: { sideEffect: none } }
`);
    const spec = blueprint.mcp!.web!;
    const values: Record<string, string> = { PATH_PART: 'mcp', TOKEN: 'tok-123456' };
    const resolve = (_kind: string, name: string): string => values[name]!;
    await expect(serverSettings(spec, resolve, [], 'mcp web')).rejects.toThrow(
      /loopback, private or link-local address; allow the host .* BATON_EGRESS_ALLOW/,
    );
    const settings = await serverSettings(spec, resolve, ['127.0.0.1:9'], 'mcp web');
    expect(settings).toMatchObject({ kind: 'http', headers: { Authorization: 'Bearer tok-123456' } });
    expect(settings.kind === 'http' && settings.url.href).toBe('http://127.0.0.1:9/mcp');
    expect(schemaHash({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(schemaHash({ a: [1, { c: 3, d: 2 }], b: 1 }));
  });
});

describe('pinned definitions', () => {
  it('lets a call through a changed schema only when its arguments still match, naming both hashes otherwise', async () => {
    const conn = await pool.connection(stdioTarget());
    const echo = (await conn.tools()).find((t) => t.name === 'echo')!;
    const spec = (tool: string, hash: string): McpCallSpec =>
      ({
        call: { source: 'everything', tool, schemaHash: hash, inputSchema: {}, sideEffect: 'none', timeout: '30s' },
      }) as McpCallSpec;
    const signal = new AbortController().signal;
    const same = schemaHash(echo.inputSchema);
    await expect(checkPinned(conn, spec('echo', same), { anything: 1 }, 'mcp echo', signal)).resolves.toBeUndefined();
    const old = 'a'.repeat(64);
    await expect(checkPinned(conn, spec('echo', old), { message: 'hi' }, 'mcp echo', signal)).resolves.toBeUndefined();
    await expect(checkPinned(conn, spec('echo', old), { text: 'hi' }, 'mcp echo', signal)).rejects.toThrow(
      new RegExp(
        `changed its input schema since this goal pinned it \\(pinned sha256 ${old.slice(0, 12)}, now ${same.slice(0, 12)}\\) and the arguments no longer match: message: .*; the call was not sent`,
      ),
    );
    await expect(checkPinned(conn, spec('gone', same), {}, 'mcp gone', signal)).rejects.toThrow(
      /no longer lists tool gone, which this goal pinned at discovery; the call was not sent/,
    );
  });
});

describe('Streamable HTTP', () => {
  const target = (): McpTarget => ({
    key: 'test/everything-http',
    settings: {
      kind: 'http',
      url: new URL(http.url),
      headers: { 'x-test': 'yes' },
      egress: { allowedHosts: [`127.0.0.1:${http.port}`] },
    },
    maxConcurrency: 4,
  });

  it('keeps one session and replaces it when the server restarts', async () => {
    const conn = await pool.connection(target());
    const result = await conn.client.callTool({ name: 'echo', arguments: { message: 'over http' } });
    expect(JSON.stringify(result.content)).toContain('over http');
    expect(await pool.connection(target())).toBe(conn);

    await http.restart();
    const lost = await conn.client.callTool({ name: 'echo', arguments: { message: 'x' } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(lost).toBeDefined();
    expect(notDelivered(lost)).toBe(true);
    await pool.discard(conn);
    const fresh = await pool.connection(target());
    expect(fresh).not.toBe(conn);
    const again = await fresh.client.callTool({ name: 'echo', arguments: { message: 'after restart' } });
    expect(JSON.stringify(again.content)).toContain('after restart');
  });
});

describe('results', () => {
  it('stores images by reference and renders links and structured content', async () => {
    const conn = await pool.connection(stdioTarget());
    const blobs = directoryBlobStore(blobDir);
    const image = await formatResult((await conn.client.callTool({ name: 'get-tiny-image' })) as never, 65_536, blobs);
    expect(image.attachments).toHaveLength(1);
    expect(image.attachments[0]).toMatchObject({ kind: 'image', mimeType: 'image/png' });
    expect(image.output).toContain(image.attachments[0]!.ref);
    expect(image.output.length).toBeLessThan(2_000);
    const stored = await readdir(blobDir);
    expect(stored).toContain(`${image.attachments[0]!.ref.slice('blob:sha256:'.length)}.png`);

    const links = await formatResult(
      (await conn.client.callTool({ name: 'get-resource-links', arguments: { count: 2 } })) as never,
      65_536,
      blobs,
    );
    expect(links.output).toMatch(/\[resource link: .+ \S+:\/\/\S+/);

    const structured = await formatResult(
      (await conn.client.callTool({ name: 'get-structured-content', arguments: { location: 'New York' } })) as never,
      65_536,
      blobs,
    );
    expect(structured.output).toContain('structured content: {');

    const cut = await formatResult(
      (await conn.client.callTool({ name: 'echo', arguments: { message: 'x'.repeat(500) } })) as never,
      100,
      blobs,
    );
    expect(cut.truncated).toBe(true);
    expect(cut.output).toContain('truncated to 100 bytes');
  });
});
