/**
 * Boots the cluster once for `npm run test:cluster` (the server build is cached in .tools/; the first one takes
 * minutes) and tears it down after the last file. Prints the boot time; the suites print their figures.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { bootCluster, destroyCluster, type ClusterInfo } from './helpers/cluster.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const built = Date.now();
  execFileSync(process.execPath, ['scripts/install-temporal-server.mjs'], { stdio: 'inherit' });
  const buildSeconds = Math.round((Date.now() - built) / 1000);
  const cluster = await bootCluster();
  process.stderr.write(
    `[cluster] server build/check ${buildSeconds} s; boot ${cluster.bootSeconds} s (PostgreSQL, schemas, ` +
      `frontend/history/matching/worker processes, namespace); TEMPORAL_ADDRESS=${cluster.address}\n`,
  );
  project.provide('cluster', cluster);
  return async () => {
    if (process.env.BATON_KEEP_CLUSTER === '1') {
      process.stderr.write(`[cluster] kept running in ${cluster.dir} (BATON_KEEP_CLUSTER=1)\n`);
      return;
    }
    await destroyCluster(cluster.dir);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}
