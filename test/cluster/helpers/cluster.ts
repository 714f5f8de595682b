/**
 * The production-like cluster for `npm run test:cluster`: temporal/cluster/cluster.sh run as an operator runs it
 * (PostgreSQL from the distribution, the Temporal server built from Go, split into frontend, history, matching and
 * worker processes), in a scratch directory on free loopback ports, plus the operations the tests need: restarting
 * PostgreSQL or the server under running goals.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { freePort } from '../../../src/runtime/free-port.js';

const run = promisify(execFile);

/** Dynamic config the tests add to temporal/dynamicconfig/baton.yaml: a drained version is reported in seconds. */
export const TEST_DYNAMIC_CONFIG = `
# Added by test/cluster for the versioning test: report a drained version within seconds, not minutes.
matching.wv.VersionDrainageStatusVisibilityGracePeriod:
  - value: 5s
matching.wv.VersionDrainageStatusRefreshInterval:
  - value: 2s
`;

export interface ClusterInfo {
  /** TEMPORAL_ADDRESS of the frontend. */
  address: string;
  namespace: string;
  dir: string;
  pgPort: number;
  /** Seconds `up` took on a built server (PostgreSQL, schemas, four server processes, namespace). */
  bootSeconds: number;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A base port whose offsets 0..26 (the server's gRPC, HTTP and membership ports) are all free, below 32768: the
 * server stores membership ports as a SQL smallint.
 */
async function freeBasePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const offsets = [0, 1, 2, 6, 10, 20, 21, 22, 26];
    const free = await Promise.all(offsets.map((o) => portFree(base + o)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free block of ports for the Temporal server on 127.0.0.1');
}

/** Runs `cluster.sh COMMAND` against the cluster in `dir`; its log goes to dir/cluster-script.log. */
export async function clusterScript(dir: string, command: string, env: Record<string, string> = {}): Promise<void> {
  try {
    const { stderr } = await run('sh', ['temporal/cluster/cluster.sh', command], {
      env: { ...process.env, BATON_CLUSTER_DIR: dir, ...env },
      timeout: 600_000,
    });
    writeFileSync(join(dir, 'cluster-script.log'), `$ ${command}\n${stderr}`, { flag: 'a' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cluster.sh ${command} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/** Boots a fresh cluster in a scratch directory (the server must be built: see scripts/install-temporal-server.mjs). */
export async function bootCluster(): Promise<ClusterInfo> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-cluster-'));
  const port = await freeBasePort();
  const pgPort = await freePort();
  const dynamicConfig = join(dir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfig, readFileSync('temporal/dynamicconfig/baton.yaml', 'utf8') + TEST_DYNAMIC_CONFIG);
  const started = Date.now();
  try {
    await clusterScript(dir, 'up', {
      BATON_CLUSTER_PORT: String(port),
      BATON_CLUSTER_PG_PORT: String(pgPort),
      BATON_CLUSTER_SHARDS: '4',
      BATON_CLUSTER_SERVICES: 'split',
      BATON_CLUSTER_DYNAMIC_CONFIG: dynamicConfig,
      TEMPORAL_NAMESPACE: 'default',
    });
  } catch (err) {
    // Stop what did start; keep the directory and its logs for the reader of the error.
    await clusterScript(dir, 'down').catch(() => undefined);
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    namespace: 'default',
    dir,
    pgPort,
    bootSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/** Stops everything the cluster started and removes its directory. */
export async function destroyCluster(dir: string): Promise<void> {
  await clusterScript(dir, 'down');
  rmSync(dir, { recursive: true, force: true });
}
