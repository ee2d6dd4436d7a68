import { defineConfig } from 'vitest/config';

// Integration tests start real processes (RN, gateway) from dist/; `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores in CI: keep parallelism modest so timing-sensitive HIL tests stay stable.
    maxWorkers: 2,
  },
});
