import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Threads crash the Temporal native bridge; forks do not.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
