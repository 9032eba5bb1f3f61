import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/fast-check-seed.ts'],
    // Integration tests open real loopback sockets and worker threads; on a
    // 2-core machine, running too many files at once only adds flakiness.
    maxWorkers: 2,
    // Files share their worker's module cache instead of importing the proxy
    // afresh each (a third of the suite's time was import): the product keeps
    // no module-level state (issue 14) and tests restore what they change
    // (fake timers, env). Forks, not threads: a worker thread's larger stack
    // hides the config loader's nested-too-deep error (config.test.ts).
    isolate: false,
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
