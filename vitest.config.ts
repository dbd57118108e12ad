import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Every control plane a test starts (in process or as a child) checks each HTTP answer
    // against the API contract, so any test that gets a response also checks the documentation.
    env: { EDGELOOP_CHECK_RESPONSES: '1' },
  },
});
