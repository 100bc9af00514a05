import { defineConfig } from 'vitest/config';

// Files run in parallel (2 workers on a 2-core machine); each file shares one OpenBao and gives
// each test its own mount. Test-level timeouts bound a hung external process, they time nothing.
export default defineConfig({
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default'],
  },
});
