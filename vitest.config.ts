import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on CI's two cores (vitest's default is cores − 1, i.e. one): the slowest
    // files mostly wait on other processes (agents restarting after power cuts, qemu, dockerd,
    // Postgres), so a second file fills that time (docs/testing.md has the figures).
    maxWorkers: 2,
    // Every control plane a test starts (in process or as a child) checks each HTTP answer
    // against the API contract, so any test that gets a response also checks the documentation.
    env: { EDGELOOP_CHECK_RESPONSES: '1' },
  },
});
