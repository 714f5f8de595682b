/**
 * Worker-side MCP connections: one per blueprint source and server settings, made on first use and kept. A stdio
 * server is started once per worker and started again when it exits; an HTTP server keeps its session until it
 * ends it. Calls to one server are bounded (its `maxConcurrency`, at most the worker's cap) and the tool list is
 * cached per connection until the server says it changed or the connection is replaced.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { guardedWebFetch } from '../egress-fetch.js';
import { EgressDenied, type EgressPolicy } from '../egress.js';

/** How to reach one server, with every reference already resolved (never logged, never returned). */
export type McpServerSettings =
  | { kind: 'stdio'; command: string; args: string[]; env: Record<string, string> }
  | { kind: 'http'; url: URL; headers: Record<string, string>; egress: EgressPolicy };

/** One server as a call names it. */
export interface McpTarget {
  /** `blueprint/source`: connections are never shared between sources, so secrets stay with the source. */
  key: string;
  settings: McpServerSettings;
  maxConcurrency: number;
}

/** Options of the connection pool. */
export interface McpConnectionOptions {
  /** Upper bound on calls in flight to any one server from this worker; default 8. */
  maxConcurrencyPerServer?: number;
  /** How long connecting and `initialize` may take; default 30 s. */
  connectTimeoutMs?: number;
}

const STDERR_TAIL = 2_000;

/** One live connection and its bookkeeping. */
export class McpConnection {
  readonly client: Client;
  closed = false;
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private toolList?: Promise<Tool[]>;
  private stderr = '';

  constructor(
    readonly key: string,
    readonly fingerprint: string,
    readonly transport: Transport,
    private readonly limit: number,
  ) {
    this.client = new Client({ name: 'baton', version: '0.1.0' }, { capabilities: {} });
    this.client.onclose = () => {
      this.closed = true;
    };
    this.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.toolList = undefined;
    });
    if (transport instanceof StdioClientTransport) {
      (transport.stderr as Readable | null)?.on('data', (chunk: Buffer) => {
        this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
      });
    }
  }

  /** The process id of a stdio server (tests use it to stop the server under a running goal). */
  get pid(): number | undefined {
    return this.transport instanceof StdioClientTransport ? (this.transport.pid ?? undefined) : undefined;
  }

  /** The end of the server's stderr, for failure messages. */
  get stderrTail(): string {
    return this.stderr.trim().split('\n').slice(-3).join(' | ');
  }

  /** Every tool the server lists now (all pages), cached until it says the list changed. */
  tools(signal?: AbortSignal): Promise<Tool[]> {
    this.toolList ??= (async () => {
      const all: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.client.listTools(cursor ? { cursor } : {}, signal ? { signal } : {});
        all.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      return all;
    })();
    const list = this.toolList;
    list.catch(() => {
      if (this.toolList === list) this.toolList = undefined;
    });
    return list;
  }

  /** True when no call is in flight or waiting. */
  get idle(): boolean {
    return this.active === 0 && this.waiters.length === 0;
  }

  /** Runs `fn` when fewer than the limit of calls are in flight. */
  async bounded<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    while (this.active >= this.limit) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal.removeEventListener('abort', wake);
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        };
        this.waiters.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    signal.throwIfAborted();
    this.active += 1;
    try {
      return await fn();
    } finally {
      this.active -= 1;
      this.waiters.shift()?.();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.transport instanceof StreamableHTTPClientTransport) {
      await this.transport.terminateSession().catch(() => undefined);
    }
    await this.client.close().catch(() => undefined);
  }
}

function fingerprintOf(settings: McpServerSettings): string {
  const plain =
    settings.kind === 'stdio'
      ? settings
      : {
          kind: settings.kind,
          url: settings.url.href,
          headers: Object.entries(settings.headers).sort(),
          allowed: [...settings.egress.allowedHosts].sort(),
        };
  return createHash('sha256').update(JSON.stringify(plain)).digest('hex');
}

function transportFor(settings: McpServerSettings): Transport {
  if (settings.kind === 'stdio') {
    return new StdioClientTransport({
      command: settings.command,
      args: settings.args,
      env: { ...getDefaultEnvironment(), ...settings.env },
      stderr: 'pipe',
    });
  }
  // Every request of the session (and each redirect the SDK follows within the origin) passes the egress guard.
  return new StreamableHTTPClientTransport(settings.url, {
    requestInit: { headers: settings.headers },
    fetch: guardedWebFetch(settings.egress),
  });
}

/** The egress guard's refusal behind a failure (the SDK and the pool wrap it), if it is one. */
export function egressDenial(err: unknown): EgressDenied | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth += 1) {
    if (e instanceof EgressDenied) return e;
  }
  return undefined;
}

/**
 * True when a failure shows the request never reached a live server session (the process is gone, the HTTP
 * session expired, nothing listens): sending it again on a new connection cannot run the tool twice.
 */
export function notDelivered(err: unknown): boolean {
  if (err instanceof StreamableHTTPError) return err.code === 404 || err.code === 400;
  const message = err instanceof Error ? err.message : String(err);
  return /not connected|ECONNREFUSED|ECONNRESET before|socket hang up before/i.test(message);
}

/** The pool of a worker's MCP connections. */
export class McpConnections {
  private readonly connections = new Map<string, Promise<McpConnection>>();
  private readonly cap: number;
  private readonly connectTimeoutMs: number;

  constructor(options: McpConnectionOptions = {}) {
    this.cap = options.maxConcurrencyPerServer ?? 8;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  }

  /**
   * The live connection for `target`, connecting (or starting the server again) when there is none. Settings that
   * differ (another blueprint version, a rotated secret) get their own connection; the older ones are closed once
   * no call uses them.
   */
  async connection(target: McpTarget): Promise<McpConnection> {
    const fingerprint = fingerprintOf(target.settings);
    const id = `${target.key}#${fingerprint}`;
    const existing = this.connections.get(id);
    if (existing) {
      const conn = await existing.catch(() => undefined);
      if (conn && !conn.closed) return conn;
      if (this.connections.get(id) === existing) this.connections.delete(id);
    }
    const pending = this.connect(target, fingerprint);
    this.connections.set(id, pending);
    pending.then(
      () => this.retireOthers(target.key, id),
      () => {
        if (this.connections.get(id) === pending) this.connections.delete(id);
      },
    );
    return pending;
  }

  /** Closes the idle connections of `key` made with other settings. */
  private async retireOthers(key: string, keep: string): Promise<void> {
    for (const [id, pending] of [...this.connections]) {
      if (id === keep || !id.startsWith(`${key}#`)) continue;
      const conn = await pending.catch(() => undefined);
      if (conn && conn.idle && this.connections.get(id) === pending) {
        this.connections.delete(id);
        await conn.close();
      }
    }
  }

  private async connect(target: McpTarget, fingerprint: string): Promise<McpConnection> {
    const transport = transportFor(target.settings);
    const conn = new McpConnection(
      target.key,
      fingerprint,
      transport,
      Math.max(1, Math.min(target.maxConcurrency, this.cap)),
    );
    try {
      await conn.client.connect(transport, { timeout: this.connectTimeoutMs });
    } catch (err) {
      const tail = conn.stderrTail;
      await conn.close();
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`could not connect: ${why}${tail ? ` (server stderr: ${tail})` : ''}`, { cause: err });
    }
    return conn;
  }

  /** Forgets a connection that failed, so the next call makes a new one (for stdio: a new process). */
  async discard(conn: McpConnection): Promise<void> {
    const id = `${conn.key}#${conn.fingerprint}`;
    const current = this.connections.get(id);
    if (current && (await current.catch(() => undefined)) === conn) this.connections.delete(id);
    await conn.close();
  }

  /** A live connection of `key` (`blueprint/source`), if one is up (for tests and health). */
  async peek(key: string): Promise<McpConnection | undefined> {
    for (const [id, pending] of this.connections) {
      if (!id.startsWith(`${key}#`)) continue;
      const conn = await pending.catch(() => undefined);
      if (conn && !conn.closed) return conn;
    }
    return undefined;
  }

  /** Closes every connection (worker shutdown): stdio servers are stopped, HTTP sessions ended. */
  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
  }
}
