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
  const abs = resolve(root, path);
  const outside = (p: string) => {
    const rel = relative(root, p);
    return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  const refuse = () =>
    new ScxError(
      'BAD_INPUT',
      `path ${path} is outside the workspace (${root})`,
      'put the file inside the workspace, or pass its contents as `source`; set SCX_MCP_WORKSPACE to change the workspace',
    );
  // outside by its name: refused before looking, so the answer never tells whether it exists
  if (outside(abs)) throw refuse();
  if (!existsSync(abs)) {
    throw new ScxError('OBJECT_MISSING', `no such file: ${path}`, `paths are relative to the workspace ${root}`);
  }
  // inside by its name but a symlink leads out
  const real = realpathSync(abs);
  if (outside(real)) throw refuse();
  return real;
}
