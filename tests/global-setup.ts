/** Removes the test run's own state and library (made in vitest.config.ts) when the run ends. */
import { rmSync } from 'node:fs';

export default function setup(): () => void {
  return () => {
    const dir = process.env.SCX_TEST_RUN_DIR;
    if (dir && /scx-test-run-/.test(dir)) rmSync(dir, { recursive: true, force: true });
  };
}
