/**
 * What runs once, when a library opens (under the library lock), apart from the hot path:
 * make the directory a git repository, remove what interrupted writes left behind, adopt
 * uncommitted entry changes as versions (recovery after a crash, or a hand edit), seed from
 * the repo's library/, bring MEMORY.md up to date, and commit it all.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScxError } from '../errors.js';
import { LibraryEntry } from '../model/entry.js';
import type { LibraryFiles } from './files.js';
import { removeTemporaries, TMP_MARK, writeAtomicIfChanged } from './fs-atomic.js';
import { seedLibrary } from './seed.js';
import type { LibraryVersions } from './versions.js';

/** Refuse a directory that has other things in it and no git repository: the library would commit them. */
export function checkLibraryDir(dir: string): void {
  if (existsSync(dir) && !existsSync(join(dir, '.git'))) {
    const foreign = readdirSync(dir).filter((f) => !['entries', 'db.json', 'MEMORY.md', '.lock', '.gitignore'].includes(f));
    if (foreign.length) {
      throw new ScxError('BAD_INPUT', `${dir} is not a scheduler library (it has ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''} and no git repository)`,
        'point SCX_MCP_LIBRARY at an empty or missing directory; the library makes it a git repository and commits everything in it');
    }
  }
}

/** The open sequence; the caller holds the lock, and `seedDir` null means no seeding. */
export async function prepareLibrary(files: LibraryFiles, git: LibraryVersions, seedDir: string | null): Promise<void> {
  const dir = files.dir;
  const fresh = await git.init();
  await writeAtomicIfChanged(join(dir, '.gitignore'), `*${TMP_MARK}*\n.*.tmp\n.lock\n`);
  await removeTemporaries([dir, ...readdirSync(join(dir, 'entries')).map((n) => files.entryDir(n))]);
  if (!existsSync(files.dbPath)) await files.writeDb();
  if (!fresh) await adoptChanges(files, git);
  const seeded = seedDir === null ? [] : await seedLibrary(files, seedDir);
  await files.writeMemory(true);
  const what = [fresh ? 'new library' : '', seeded.length ? `seed ${seeded.join(', ')}` : ''].filter(Boolean).join('; ');
  await git.commit(`open library: ${what || 'commit what an interrupted write left behind'}`, ['.']);
}

/**
 * Entry files changed since the last commit (an interrupted write, or a person editing the
 * library by hand) become versions like any other: a changed entry whose version was not
 * bumped gets the next version with its parent; each is its own commit.
 */
async function adoptChanges(files: LibraryFiles, git: LibraryVersions): Promise<void> {
  if (!(await git.hasHead())) return;
  const names = new Set((await git.changedEntries()).filter((n) => files.entries.has(n)));
  for (const name of [...names].sort()) {
    const cur = files.entries.get(name)!;
    const before = await git.show('HEAD', `entries/${name}/entry.json`).catch(() => null);
    let msg: string;
    if (before === null) {
      msg = `create ${name} v${cur.version} (found on open: added by hand or by an interrupted write)`;
    } else {
      let old: LibraryEntry | undefined;
      try {
        old = LibraryEntry.parse(JSON.parse(before));
      } catch {
        old = undefined;
      }
      if (old && old.version === cur.version) {
        const entry: LibraryEntry = { ...cur, version: cur.version + 1, parent: `${name}@${cur.version}` };
        await files.writeEntryJson(entry);
        msg = `modify ${name} v${entry.version} from ${entry.parent} (found on open: an interrupted write or a hand edit)`;
      } else {
        msg = `modify ${name} v${cur.version}${cur.parent ? ` from ${cur.parent}` : ''} (recovered an interrupted write)`;
      }
    }
    await git.commit(msg, [`entries/${name}`]);
  }
}
