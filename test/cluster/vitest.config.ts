/**
 * `npm run test:cluster`: the suites under test/cluster/ against the production-like cluster (PostgreSQL, the Temporal
 * server built from Go, split services), booted once for the run by test/cluster/global-setup.ts. Not part of
 * `npm test`: building the server takes minutes on a fresh machine (see the README's Testing section).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    pool: 'forks',
    include: ['test/cluster/**/*.cluster.ts'],
    globalSetup: ['test/helpers/global-setup.ts', 'test/cluster/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    // One cluster serves every file, and some files restart its parts: run the files one after another.
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
