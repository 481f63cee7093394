import { defineConfig } from 'vitest/config';

// Integration tests boot real QEMU VMs; on a 2-core machine two at once is the most that helps.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
