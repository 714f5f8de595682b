/**
 * `npm run test:scale`: issue 14's acceptance goal at full size, 1,000 steps of 32 KiB tool outputs against a real dev
 * server with the payload store (test/scale/*.scale.ts). Not part of `npm test`: it runs for minutes on a shared
 * 2-core machine; `npm test` runs the same goal at 10 and 100 steps (test/context-scale.test.ts).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    pool: 'forks',
    include: ['test/scale/**/*.scale.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
