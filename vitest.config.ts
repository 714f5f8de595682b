import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The worker's native bridge and worker threads do not mix well: one process per test file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
