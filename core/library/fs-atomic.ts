/**
 * The library's file discipline: crash-safe writes (a temporary file renamed over the old
 * one, so a crash leaves the old or the new content, never part of one) and the lock file
 * that lets several server processes share one library.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ScxError } from '../errors.js';

/** Marks a temporary file of writeAtomic (and of seeding): `<file>.tmp-<pid>-<random>`. */
export const TMP_MARK = '.tmp-';
const LOCK_WAIT_MS = 30_000;
/** A lock older than this is stale even if a process with its pid exists (pid reuse, hung process). */
const LOCK_STALE_MS = 10 * 60_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Write a file so that a crash leaves either the old or the new content, never part of one. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}${TMP_MARK}${process.pid}-${randomUUID().slice(0, 8)}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export async function writeAtomicIfChanged(path: string, text: string): Promise<void> {
  const cur = await readFile(path, 'utf8').catch(() => null);
  if (cur !== text) await writeAtomic(path, text);
}

/** Remove what interrupted writes left in these directories: our temporary files and lowdb's (.<name>.tmp). */
export async function removeTemporaries(dirs: string[]): Promise<void> {
  for (const d of dirs) {
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d)) if (f.includes(TMP_MARK) || (f.startsWith('.') && f.endsWith('.tmp'))) await rm(join(d, f), { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock file shared by every process using the library (created with O_EXCL).
 * A lock whose process is gone (same host) or that is very old is taken over.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  const token = `${process.pid} ${hostname()} ${Date.now()} ${randomUUID()}`;
  const t0 = Date.now();
  for (let i = 0; ; i++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(token);
      } finally {
        await fh.close();
      }
      return async () => {
        const now = await readFile(path, 'utf8').catch(() => '');
        if (now === token) await unlink(path).catch(() => {});
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readFile(path, 'utf8').catch(() => null);
    if (holder === null) continue; // released in between
    const st = await stat(path).catch(() => null);
    const age = st ? Date.now() - st.mtimeMs : 0;
    const [pid, host] = holder.split(' ');
    const stale = holder === '' ? age > 2_000 // died between creating and writing it
      : age > LOCK_STALE_MS || (host === hostname() && !pidAlive(Number(pid)));
    if (stale) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() - t0 > LOCK_WAIT_MS) {
      throw new ScxError('BAD_INPUT', `the library is busy: ${path} has been held by process ${pid} on ${host} for ${Math.round(age / 1000)} s`,
        'another scx-mcp process is writing to the same library; try again, or remove the lock file if that process is gone');
    }
    await sleep(Math.min(100, 5 + i * 5));
  }
}
