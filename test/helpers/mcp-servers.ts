/**
 * Real MCP servers from npm for tests: `@modelcontextprotocol/server-everything` over Streamable HTTP on loopback
 * (started, stopped and restarted by the test), and the commands that start it or
 * `@modelcontextprotocol/server-filesystem` over stdio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
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
