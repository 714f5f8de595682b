/**
 * Real MCP servers from npm for tests: `@modelcontextprotocol/server-everything` over Streamable HTTP on loopback
 * (started, stopped and restarted by the test), the commands that start it or
 * `@modelcontextprotocol/server-filesystem` over stdio, and a stdio server offered over Streamable HTTP by the SDK's
 * own server transport (server-filesystem speaks only stdio).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/runtime/free-port.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The entry script of a server package's bin. */
function entry(pkg: string): string {
  return require.resolve(`${pkg}/dist/index.js`);
}

/** The stdio command of server-everything: the current node running the package's own entry. */
export function everythingStdio(): { command: string; args: string[] } {
  return { command: process.execPath, args: [entry('@modelcontextprotocol/server-everything'), 'stdio'] };
}

/** The stdio command of server-filesystem, allowed to work in `dir` only. */
export function filesystemStdio(dir: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [entry('@modelcontextprotocol/server-filesystem'), dir] };
}

/** server-everything over Streamable HTTP on a loopback port; `restart()` stops it and starts a new process there. */
export interface HttpMcpServer {
  url: string;
  port: number;
  pid(): number | undefined;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', join(here, 'loopback-listen.mjs'), entry('@modelcontextprotocol/server-everything'), 'streamableHttp'],
    { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server-everything did not start: ${err}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (/listening on port/i.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything exited with ${code}: ${err}`));
    });
  });
  child.stderr?.resume();
  return child;
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Starts server-everything over Streamable HTTP on a free loopback port. */
export async function startEverythingHttp(): Promise<HttpMcpServer> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    pid: () => child?.pid,
    async restart() {
      await kill(child);
      child = await launch(port);
    },
    async stop() {
      await kill(child);
      child = undefined;
    },
  };
}

/** A stdio server offered over Streamable HTTP on a loopback port. */
export interface BridgedMcpServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Offers the stdio server `command args` over Streamable HTTP: each HTTP session (the SDK's server transport, which
 * speaks the protocol's HTTP side) gets its own server process, and JSON-RPC messages pass between the two unchanged.
 */
export async function startStdioOverHttp(server: { command: string; args: string[] }): Promise<BridgedMcpServer> {
  const sessions = new Map<string, { http: StreamableHTTPServerTransport; stdio: StdioClientTransport }>();
  const open = new Set<{ http: StreamableHTTPServerTransport; stdio: StdioClientTransport }>();
  const httpServer = createServer((req, res) => {
    void (async () => {
      const id = req.headers['mcp-session-id'];
      let pair = typeof id === 'string' ? sessions.get(id) : undefined;
      if (!pair && id === undefined && req.method === 'POST') {
        const http = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
        const stdio = new StdioClientTransport({ command: server.command, args: server.args, stderr: 'ignore' });
        const fresh = { http, stdio };
        http.onmessage = (message) => void stdio.send(message).catch(() => undefined);
        stdio.onmessage = (message) => void http.send(message).catch(() => undefined);
        http.onclose = () => void stdio.close();
        open.add(fresh);
        await stdio.start();
        pair = fresh;
      }
      if (!pair) {
        res.writeHead(id === undefined ? 400 : 404).end();
        return;
      }
      await pair.http.handleRequest(req, res);
      const sid = pair.http.sessionId;
      if (sid) sessions.set(sid, pair);
      else if (![...sessions.values()].includes(pair)) {
        open.delete(pair);
        await pair.stdio.close();
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    async stop() {
      for (const pair of open) {
        await pair.http.close().catch(() => undefined);
        await pair.stdio.close().catch(() => undefined);
      }
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}
