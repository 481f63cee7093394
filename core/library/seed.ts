/**
 * Seeding, run when a library opens: the repo's library/ directory (one folder per entry,
 * with entry.json, its source, and optionally the tests.json, history.json and presets.json
 * that `npm test`, `npm run bench` and `npm run bench:tune` wrote) flows into the library.
 * A seed entry the library lacks is copied in; one it has is updated only while nobody
 * changed it (agents' versions are never overwritten).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { LibraryEntry } from '../model/entry.js';
import { ENTRY_NAME_RE } from '../model/names.js';
import type { LibraryFiles } from './files.js';
import { TMP_MARK, writeAtomic } from './fs-atomic.js';
import { HistoryRecord, Preset, StoredTest, TestResult, type LibraryDb } from './history.js';
import { checkSourceName, sha, validEntry } from './validate.js';

/** Files of a seed entry that go into the library's db, not into the entry's directory. */
const SEED_DATA_FILES = ['entry.json', 'tests.json', 'history.json', 'presets.json'];

/**
 * Copy seed entries the library lacks; update a seeded entry from a changed seed only while
 * the library's copy is still exactly what was seeded (never overwriting an agent's version).
 * Returns what it seeded, for the commit message.
 */
export async function seedLibrary(files: LibraryFiles, seedDir: string): Promise<string[]> {
  if (!existsSync(seedDir)) return [];
  const seeds = files.data.seeds;
  const before = JSON.stringify(seeds);
  const done: string[] = [];
  let imported = false;
  for (const name of readdirSync(seedDir).sort()) {
    const src = join(seedDir, name);
    if (!ENTRY_NAME_RE.test(name) || !existsSync(join(src, 'entry.json'))) continue;
    let entry: LibraryEntry;
    let source: string;
    try {
      entry = validEntry(JSON.parse(readFileSync(join(src, 'entry.json'), 'utf8')), join(src, 'entry.json'));
      if (entry.name !== name) continue;
      checkSourceName(entry.source, entry.kind);
      source = readFileSync(join(src, entry.source), 'utf8');
    } catch {
      continue; // a seed being written right now, or broken: the library tests report it
    }
    if (importSeedResults(files.data, name, src)) imported = true;
    const seedHash = sha(JSON.stringify(entry), source);
    const cur = files.entries.get(name);
    const known = seeds[name];
    if (cur) {
      if (!known) {
        // a library made before seeds were tracked: adopt it only if it is the seed as is
        if (files.hashOnDisk(name) === sha(JSON.stringify(entry, null, 2) + '\n', source)) seeds[name] = { seed: seedHash, lib: files.hashOnDisk(name)! };
        continue;
      }
      if (known.seed === seedHash || files.hashOnDisk(name) !== known.lib) continue; // unchanged, or changed by someone
      entry = { ...entry, version: cur.version + 1, parent: `${name}@${cur.version}` };
    }
    const d = files.entryDir(name);
    await mkdir(d, { recursive: true });
    for (const f of readdirSync(src)) {
      if (SEED_DATA_FILES.includes(f) || !statSync(join(src, f)).isFile()) continue;
      await copyFile(join(src, f), join(d, `${f}${TMP_MARK}seed`));
      await rename(join(d, `${f}${TMP_MARK}seed`), join(d, f));
    }
    await importSeedTests(files, name, entry.version, join(src, 'tests.json'));
    await writeAtomic(join(d, 'entry.json'), JSON.stringify(entry, null, 2) + '\n');
    files.setEntry(entry);
    seeds[name] = { seed: seedHash, lib: files.hashOnDisk(name)! };
    done.push(cur ? `${name} v${entry.version} (updated seed)` : name);
  }
  if (imported || JSON.stringify(seeds) !== before) await files.writeDb();
  return done;
}

/**
 * The results a seed entry ships (library/<name>/history.json from `npm run bench`, presets.json
 * from `npm run bench:tune`) join the library's history and presets, on every open: a record the
 * library lacks (by id) is added, a preset only where the entry has none of that name (an agent's
 * own preset is never replaced). Invalid records are skipped. Returns whether anything was added.
 */
function importSeedResults(data: LibraryDb, name: string, src: string): boolean {
  const read = (f: string): unknown[] => {
    try {
      const raw: unknown = JSON.parse(readFileSync(join(src, f), 'utf8'));
      return Array.isArray(raw) ? raw : [];
    } catch {
      return [];
    }
  };
  let added = false;
  if (existsSync(join(src, 'history.json'))) {
    const have = new Set(data.history.map((h) => h.id));
    const add = read('history.json').map((r) => HistoryRecord.safeParse(r)).flatMap((p) => (p.success && p.data.entry === name && !have.has(p.data.id) ? [p.data] : []));
    if (add.length) {
      data.history = [...data.history, ...add];
      added = true;
    }
  }
  if (existsSync(join(src, 'presets.json'))) {
    const list = data.presets[name] ?? [];
    const add = read('presets.json').map((r) => Preset.safeParse(r)).flatMap((p) => (p.success && !list.some((x) => x.name === p.data.name) ? [p.data] : []));
    if (add.length) {
      data.presets = { ...data.presets, [name]: [...list, ...add] };
      added = true;
    }
  }
  return added;
}

/** A seed's own test results (verifier + stress in the sandbox), when the repo has them. */
async function importSeedTests(files: LibraryFiles, name: string, version: number, file: string): Promise<void> {
  if (!existsSync(file)) return;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  const list = Array.isArray(raw) ? raw : (raw as { results?: unknown[] })?.results ?? [];
  for (const t of list) {
    const p = TestResult.safeParse(t);
    if (!p.success) continue;
    const dup = files.data.tests.some((x) => x.entry === name && x.at === p.data.at && x.kind === p.data.kind && x.kernel === p.data.kernel);
    if (!dup) files.data.tests.push(StoredTest.parse({ ...p.data, entry: name, version: (t as { version?: number }).version ?? version }));
  }
  await files.writeTestsFile(name);
}
