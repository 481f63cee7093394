/**
 * The library's history: its own git repository (simple-git). Every write of the store is a
 * commit; an entry's versions are the commits that changed its entry.json, so any version
 * can be listed, diffed and restored.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ScxError } from '../errors.js';
import { LibraryEntry } from '../model/entry.js';
import { sleep } from './fs-atomic.js';

export interface VersionInfo {
  version: number;
  commit: string;
  date: string;
  message: string;
}

export class LibraryVersions {
  private readonly git: SimpleGit;

  constructor(readonly dir: string) {
    this.git = simpleGit({ baseDir: dir, trimmed: false });
  }

  /** Whether the library has its git repository yet. */
  exists(): boolean {
    return existsSync(join(this.dir, '.git'));
  }

  /** Create the repository if it is missing and set the committer; returns whether it was created. */
  async init(): Promise<boolean> {
    const fresh = !this.exists();
    if (fresh) {
      try {
        await this.git.init();
      } catch (e) {
        throw new ScxError('TOOL_MISSING', `cannot create a git repository in ${this.dir}: ${(e as Error).message}`, 'install git (the library keeps every scheduler version in git)');
      }
    }
    await this.git.addConfig('user.name', 'scx-mcp');
    await this.git.addConfig('user.email', 'scx-mcp@localhost');
    await this.git.addConfig('commit.gpgsign', 'false');
    return fresh;
  }

  /** A git index.lock while we hold the library lock is left over from a crash (all our git writes hold it). */
  async clearLock(): Promise<void> {
    const lock = join(this.dir, '.git', 'index.lock');
    // an orphaned git child of a killed server may still be finishing: give it a moment
    for (let i = 0; i < 40 && existsSync(lock); i++) await sleep(50);
    await rm(lock, { force: true });
  }

  async commit(message: string, paths: string[]): Promise<string> {
    await this.git.add(['-A', '--', ...paths]);
    const r = await this.git.commit(message, undefined, { '--no-verify': null });
    if (/^[0-9a-f]{40}$/.test(r.commit)) return r.commit;
    return (await this.git.revparse(['HEAD']).catch(() => '')).trim(); // nothing to commit (or an abbreviated hash)
  }

  /** Every version of an entry, oldest first (empty when it has none in the history). */
  async versions(name: string): Promise<VersionInfo[]> {
    const path = `entries/${name}/entry.json`;
    const log = await this.git.log({ file: path });
    const out: VersionInfo[] = [];
    for (const c of [...log.all].reverse()) {
      const text = await this.git.show([`${c.hash}:${path}`]).catch(() => '');
      let v: number | undefined;
      try {
        v = LibraryEntry.safeParse(JSON.parse(text)).data?.version;
      } catch {
        /* a deleted or broken file in that commit */
      }
      if (v !== undefined && !out.some((o) => o.version === v)) out.push({ version: v, commit: c.hash, date: c.date, message: c.message });
    }
    return out;
  }

  /** A file of the library as it was at a commit (`rev` may be HEAD). */
  show(rev: string, path: string): Promise<string> {
    return this.git.show([`${rev}:${path}`]);
  }

  /** A unified diff of an entry's files between two commits (`to` may be HEAD). */
  diff(name: string, from: string, to: string): Promise<string> {
    return this.git.diff([from, to, '--', `entries/${name}/`]);
  }

  /** Whether the repository has a commit yet. */
  async hasHead(): Promise<boolean> {
    const head = await this.git.revparse(['--verify', '-q', 'HEAD']).catch(() => '');
    return !!head.trim();
  }

  /** The names of the entry directories with files changed since the last commit. */
  async changedEntries(): Promise<string[]> {
    const st = await this.git.status(['--', 'entries/']);
    return st.files.map((f) => /^entries\/([^/]+)\//.exec(f.path)?.[1]).filter((n): n is string => !!n);
  }
}
