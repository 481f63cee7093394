import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Each test run gets its own builds, VM runs and library, so no run depends on what an earlier run
// (of this version or an older one) left behind; the content-checked parts of the cache (kernel,
// modules, guest images, the Rust build) stay shared through SCX_MCP_CACHE. tests/global-setup.ts
// removes the run's directory afterwards. A caller's own SCX_MCP_STATE / SCX_MCP_LIBRARY win.
const run = mkdtempSync(join(tmpdir(), 'scx-test-run-'));
process.env.SCX_TEST_RUN_DIR = run;
process.env.SCX_MCP_STATE ??= join(run, 'state');
process.env.SCX_MCP_LIBRARY ??= join(run, 'library');

// Integration tests boot real QEMU VMs; on a 2-core machine two at once is the most that helps.
// `npm test` runs monitor.test.ts and host-in-guest.test.ts on their own afterwards: they judge a scheduler by
// how much slower it makes a probe, which a second VM sharing the two cores hides (seen in CI).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    maxWorkers: 2,
    reporters: ['default'],
    globalSetup: ['tests/global-setup.ts'],
    env: {
      SCX_TEST_RUN_DIR: run,
      SCX_MCP_STATE: process.env.SCX_MCP_STATE,
      SCX_MCP_LIBRARY: process.env.SCX_MCP_LIBRARY,
    },
  },
});
