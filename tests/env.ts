/** Environment variables a test file changes, put back afterwards. */
import { afterAll } from 'vitest';

/** Remember these variables as they are now and restore them after the file's (or describe block's) tests: unset ones are unset again. */
export function restoreEnvAfterAll(...names: string[]): void {
  const saved = names.map((n) => [n, process.env[n]] as const);
  afterAll(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}
