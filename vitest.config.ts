/**
 * The Node tests (`npm test`, before the Worker's: vitest.workers.config.ts). Two test files run at a time
 * whatever vitest would choose (the number of cores less one, which is one on the 2-core CI machines):
 * many of them wait on child processes and servers, and the CI's time is capped. The global setup compiles
 * the sources once for the tests' child processes (test/global-setup.ts).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
