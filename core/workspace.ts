/**
 * The workspace: the one directory tree an agent's file paths may point into.
 * $SCX_MCP_WORKSPACE, else the directory the server was started in. Paths are
 * resolved through symlinks, so a link cannot lead out of it.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ScxError } from './errors.js';

export function workspaceRoot(): string {
  return realpathSync(resolve(process.env.SCX_MCP_WORKSPACE || process.cwd()));
}

/** Resolve a user-supplied path inside the workspace; refuse anything outside it. */
export function resolveInWorkspace(path: string, root = workspaceRoot()): string {
  if (!path || path.includes('\0')) throw new ScxError('BAD_INPUT', 'empty or invalid path');
  const abs = isAbsolute(path) ? path : resolve(root, path);
  if (!existsSync(abs)) {
    throw new ScxError('OBJECT_MISSING', `no such file: ${path}`, `paths are relative to the workspace ${root}`);
  }
  const real = realpathSync(abs);
  const rel = relative(root, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ScxError('BAD_INPUT', `path ${path} is outside the workspace (${root})`,
      'put the file inside the workspace, or pass its contents as `source`; set SCX_MCP_WORKSPACE to change the workspace');
  }
  return real;
}
