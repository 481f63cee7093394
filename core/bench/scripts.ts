/**
 * The shell scripts the benchmark workloads run in the sandbox guest (core/bench/scripts/*.sh),
 * as host paths: the guest sees the host's filesystem and runs them with the host's /bin/sh.
 * They are found from the repository root (core/paths.ts), not next to this module, so the
 * compiled code in dist/ runs the same files as the sources (tsc copies no .sh files).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from '../command.js';
import { repoRoot } from '../paths.js';

export const benchScriptsDir = join(repoRoot, 'core', 'bench', 'scripts');

/** The host path of core/bench/scripts/<name>; throws when the file is missing (a broken checkout). */
export function benchScript(name: string): string {
  const path = join(benchScriptsDir, name);
  if (!existsSync(path)) throw new Error(`benchmark script ${path} is missing`);
  return path;
}

/** A shell command line that runs core/bench/scripts/<name> under sh with these arguments. */
export function benchScriptCommand(name: string, args: (string | number)[]): string {
  return ['sh', shellQuote(benchScript(name)), ...args.map((a) => (typeof a === 'number' ? String(a) : shellQuote(a)))].join(' ');
}
