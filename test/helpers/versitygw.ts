/**
 * A real S3-compatible server for tests: versitygw (Apache-2.0) over a temporary directory, built from its Go module
 * into .tools/versitygw/ by scripts/install-versitygw.mjs (once; about 100 s), started on loopback with its own
 * credentials and stopped, by its pid, by `close`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/runtime/free-port.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface VersityGw {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The directory the buckets live in (one folder per bucket). */
  dir: string;
  close(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Builds versitygw if needed, starts it on 127.0.0.1, and waits until it accepts connections. */
export async function startVersityGw(): Promise<VersityGw> {
  execFileSync(process.execPath, [join(root, 'scripts', 'install-versitygw.mjs'), '--quiet'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'baton-s3-'));
  const port = await freePort();
  const credentials = { accessKeyId: 'baton-test', secretAccessKey: `secret-${port}-${Date.now()}` };
  const child: ChildProcess = spawn(
    join(root, '.tools', 'versitygw', 'versitygw'),
    ['--port', `127.0.0.1:${port}`, 'posix', dir],
    {
      env: {
        PATH: process.env.PATH,
        ROOT_ACCESS_KEY: credentials.accessKeyId,
        ROOT_SECRET_KEY: credentials.secretAccessKey,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`versitygw did not start on 127.0.0.1:${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials,
    dir,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
