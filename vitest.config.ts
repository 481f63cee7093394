import { defineConfig } from 'vitest/config';

// Integration tests boot real QEMU VMs; on a 2-core machine two at once is the most that helps.
// `npm test` runs tests/integration/monitor.test.ts on its own afterwards: it judges a scheduler by
// how much slower it makes a probe, which a second VM sharing the two cores hides (seen in CI).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
