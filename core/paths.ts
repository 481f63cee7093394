import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above this file whose package.json is scx-mcp's. */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'scx-mcp') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('scx-mcp: cannot find the repository root (package.json named scx-mcp)');
    dir = up;
  }
})();

/**
 * Where downloaded kernels, guest images and build artifacts live: outside the clone,
 * so fresh clones (and CI) reuse them. SCX_MCP_CACHE overrides; else $XDG_CACHE_HOME/scx-mcp.
 */
export function cacheDir(): string {
  if (process.env.SCX_MCP_CACHE) return resolve(process.env.SCX_MCP_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'scx-mcp');
}

/**
 * Where this installation's own state lives: builds (build.json records and objects), VM run
 * directories, results. SCX_MCP_STATE overrides; else the cache directory. Unlike the cache's
 * content-checked parts (kernels, modules, guest images, the Rust build), which any number of
 * runs can share, state is what one run made: the test suite gives each run a new one.
 */
export function stateDir(): string {
  if (process.env.SCX_MCP_STATE) return resolve(process.env.SCX_MCP_STATE);
  return cacheDir();
}

/** Scratch space for VM runs; each run takes a unique subdirectory. */
/** Where builds are kept: <state>/builds/<build id>/ (core/builds/build.ts). */
export function buildsDir(): string {
  return join(stateDir(), 'builds');
}

export function runsDir(): string {
  return join(stateDir(), 'runs');
}

export const templatesDir = join(repoRoot, 'bpf-templates');
export const guestDir = join(repoRoot, 'core', 'sandbox', 'guest');
