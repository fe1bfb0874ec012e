/**
 * The Node tests (`npm test`, before the Worker's: vitest.workers.config.ts). As many test files run at a time
 * as vitest would choose (the number of cores less one), but at least two, which it would not on the 2-core CI
 * machines: many of them wait on child processes and servers, and the CI's time is capped. A test may take three
 * minutes: the exhaustive ones (every proof of every tree size to 100, every byte flipped) take 30 s alone
 * and twice that or more beside another file on two cores; a hang still fails. The global setup compiles the
 * sources once for the tests' child processes (test/global-setup.ts).
 */
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
