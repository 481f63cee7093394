/**
 * The host's run directory (SCX_MCP_RUN_DIR, default /run/scx-mcp): the loader processes' pid and
 * output files, the audit log and the HTTP token live there. Root's, mode 0700.
 */
import { mkdirSync } from 'node:fs';

export function hostRunDir(): string {
  return process.env.SCX_MCP_RUN_DIR || '/run/scx-mcp';
}

/** Create the run directory if needed (0700: only its owner reads what is in it); returns it. */
export function ensureHostRunDir(): string {
  const dir = hostRunDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
