/**
 * The Temporal dev server of `baton dev`, started by Baton itself so that it is Baton's alone:
 * - its ports are checked first, and a port someone else holds is a clear error, never a server Baton joins;
 * - it runs in its own process group, so a terminal's Ctrl-C reaches Baton only, and Baton stops the server after
 *   its worker has drained (a finished activity can still be reported);
 * - its pid is kept in the data folder, so a server left behind by a killed `baton dev` is named.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TypedSearchAttributes } from '@temporalio/common';
import { devServerFlags } from '../runtime/dev-server-flags.js';
import { batonSearchAttributes } from '../workflows/search-attributes.js';
import { GoalCommandError } from './errors.js';

/** How to start the server. */
export interface DevServerOptions {
  executable: string;
  ip: string;
  port: number;
  uiPort: number;
  /** SQLite file: goals survive restarts. */
  dbFile: string;
  namespace: string;
  /** Where the pid file goes. */
  pidFile: string;
}

/** A running dev server that this process started. */
export interface DevServer {
  pid: number;
  /** Resolves with the exit code when the server process ends, for whatever reason. */
  exited: Promise<number | null>;
  /** The last lines the server wrote, for error messages. */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL if it lingers) and removes the pid file. */
  stop(): Promise<void>;
}

/** The arguments of `temporal server start-dev`: one place, so server flags are added here. */
export function devServerArgs(opts: DevServerOptions): string[] {
  return [
    'server',
    'start-dev',
    ...['--ip', opts.ip, '--port', String(opts.port), '--ui-port', String(opts.uiPort)],
    ...['--db-filename', opts.dbFile, '--namespace', opts.namespace],
    ...['--log-format', 'pretty', '--log-level', 'error'],
    ...batonSearchAttributes.flatMap((k) => [
      '--search-attribute',
      `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`,
    ]),
    ...['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true'],
    ...['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true'],
    ...devServerFlags({ dbFile: true }),
  ];
}

/** True when something accepts TCP connections on host:port. */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when this process could listen on ip:port now. */
function bindable(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, ip, () => srv.close(() => resolve(true)));
  });
}

/** The pid of a dev server an earlier `baton dev` left running, if its pid file names a live one. */
function leftBehind(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('start-dev') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process `pid` listens on TCP `port`, from /proc (Linux): the inode of the listening socket must be one
 * of the process's open files. Undefined where /proc cannot tell.
 */
export function listensOn(pid: number, port: number): boolean | undefined {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set<string>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A' && f[9]) inodes.add(f[9]);
      }
    }
    if (!inodes.size) return undefined;
    const fds = readdirSync(`/proc/${pid}/fd`);
    return fds.some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
      } catch {
        return false;
      }
    });
  } catch {
    return undefined;
  }
}

/** Fails with the reason and the fix when a port `baton dev` needs is taken. */
export async function checkPortsFree(opts: DevServerOptions): Promise<void> {
  const loopback = opts.ip === '127.0.0.1' || opts.ip === 'localhost';
  for (const [flag, port] of [
    ['--port', opts.port],
    ['--ui-port', opts.uiPort],
  ] as const) {
    const taken =
      (await answers(opts.ip === '0.0.0.0' ? '127.0.0.1' : opts.ip, port)) ||
      (loopback && (await answers('localhost', port))) ||
      !(await bindable(opts.ip, port));
    if (!taken) continue;
    const pid = leftBehind(opts.pidFile);
    const who = pid
      ? `a dev server an earlier \`baton dev\` left running (pid ${pid}; stop it with \`kill ${pid}\`)`
      : flag === '--port'
        ? 'another program, perhaps a `temporal server start-dev` of your own'
        : 'another program';
    throw new GoalCommandError(
      `port ${port} (${flag}) is already in use by ${who}; baton dev starts its own server and will not use one ` +
        `it did not start: free the port, or choose others, e.g. baton dev --port ${opts.port + 1} --ui-port ${opts.uiPort + 1}`,
      'port_in_use',
    );
  }
}

/**
 * Starts the dev server in its own process group and waits until it accepts connections on its gRPC and UI ports.
 * It fails if the server exits first (its last output is in the message).
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  await checkPortsFree(opts);
  const child = spawn(opts.executable, devServerArgs(opts), {
    detached: true, // its own process group: a terminal's Ctrl-C goes to Baton, which stops the server last
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', (err) => {
      keep(Buffer.from(String(err.message)));
      resolve(127);
    });
  });
  let running = true;
  void exited.then(() => (running = false));
  const pid = child.pid ?? -1;
  const kill = (): void => {
    if (running) child.kill('SIGKILL');
  };
  process.once('exit', kill); // never leave a server behind when Baton exits abruptly
  writeFileSync(opts.pidFile, `${pid}\n`);
  const server: DevServer = {
    pid,
    exited,
    output: () => tail,
    async stop() {
      process.off('exit', kill);
      if (running) {
        child.kill('SIGTERM');
        const timeout = sleep(15_000).then(() => 'timeout' as const);
        if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
        await exited;
      }
      rmSync(opts.pidFile, { force: true });
    },
  };
  const host = opts.ip === '0.0.0.0' ? '127.0.0.1' : opts.ip;
  for (;;) {
    if (!running) {
      await server.stop();
      const last = tail.trim().split('\n').slice(-3).join(' | ');
      throw new GoalCommandError(`the Temporal dev server exited before it was ready: ${last || 'no output'}`);
    }
    if ((await answers(host, opts.port)) && (await answers(host, opts.uiPort)) && running) break;
    await sleep(200);
  }
  // The server that answers must be the one just started, not one that took the port in the meantime.
  for (const port of [opts.port, opts.uiPort]) {
    if (listensOn(pid, port) === false) {
      await server.stop();
      throw new GoalCommandError(
        `port ${port} answers, but not from the Temporal dev server baton dev started; another program took it: ` +
          'free the port or choose others with --port / --ui-port',
        'port_in_use',
      );
    }
  }
  return server;
}
