/**
 * The bearer token of an HTTP server started with --allow-host. Such a server can load kernel code
 * and run commands on this machine, so every HTTP client must present the token, loopback or not
 * (any local process can reach 127.0.0.1; the Origin check stops browsers only). The token is the
 * operator's --token / $SCX_MCP_TOKEN, else the one in <run dir>/http-token when that file is this
 * user's and private (so client configurations survive a restart), else a new random one. The file
 * always holds the token in force, mode 0600 (root's, under /run/scx-mcp by default); delete it to
 * rotate the token at the next start.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { stateDir } from '../core/paths.js';
import { ScxError } from '../core/errors.js';
import { ensureHostRunDir, hostRunDir } from '../core/targets/run-dir.js';

/** A generated token: 32 random bytes, base64url (43 characters). */
const GENERATED = /^[A-Za-z0-9_-]{43}$/;

export function tokenPath(): string {
  return join(hostRunDir(), 'http-token');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A token the operator gives must be usable in an Authorization header. */
export function checkGivenToken(token: string): void {
  if (!/^[\x21-\x7e]{16,}$/.test(token)) {
    throw new ScxError(
      'BAD_INPUT',
      'the bearer token must be at least 16 printable characters without spaces',
      'pass a longer --token (or $SCX_MCP_TOKEN), or leave it out and a random one is generated',
    );
  }
}

/** The token in `file` if it is a regular file of this user's, readable by no one else, holding a generated token; else null. */
export function readPrivateToken(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return null;
    const t = readFileSync(fd, 'utf8').trim();
    return GENERATED.test(t) ? t : null;
  } finally {
    closeSync(fd);
  }
}

/** Write `token` to `file` (0600), atomically: a new private file renamed over the old. */
export function writePrivateToken(file: string, token: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/**
 * Where a server without --allow-host keeps its token: its own state directory. Such a server
 * touches no host scheduler, but its sandbox guest reads the host's filesystem as the server's
 * user, so its HTTP clients must authenticate too.
 */
export function userTokenPath(): string {
  return join(stateDir(), 'http-token');
}

/** The token an HTTP server requires (see the module comment), and where it is kept. */
export function hostToken(given?: string, file = tokenPath()): { token: string; file: string; source: 'given' | 'file' | 'new' } {
  try {
    if (file === tokenPath()) ensureHostRunDir();
    else mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ScxError(
      'BAD_INPUT',
      `cannot create the run directory ${hostRunDir()} for the HTTP token: ${(e as Error).message}`,
      'run the server as root (as --allow-host needs), or set SCX_MCP_RUN_DIR to a directory of your own',
    );
  }
  let token: string;
  let source: 'given' | 'file' | 'new';
  if (given !== undefined) {
    checkGivenToken(given);
    token = given;
    source = 'given';
  } else {
    const kept = readPrivateToken(file);
    token = kept ?? newToken();
    source = kept ? 'file' : 'new';
  }
  if (source !== 'file') writePrivateToken(file, token);
  return { token, file, source };
}

/** What the operator is told once, on stderr, at start. */
export function tokenNotice(url: string, t: { token: string; file: string; source: 'given' | 'file' | 'new' }): string {
  const how = t.source === 'given' ? 'the token given' : t.source === 'file' ? 'the token kept from an earlier start' : 'a new random token';
  return [
    `scx-mcp: every HTTP client must send a bearer token (${how}; it is in ${t.file}, readable by its owner only — delete the file to get a new one at the next start). Connect with:`,
    `  claude mcp add --transport http scx-mcp ${url} --header "Authorization: Bearer ${t.token}"`,
  ].join('\n');
}
