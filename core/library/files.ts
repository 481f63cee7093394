/**
 * The library's working files and what the store holds of them in memory:
 *
 *   entries/<name>/entry.json, <name>.bpf.c, tests.json
 *   db.json     results history, test results, presets, retrieval weights (lowdb; atomic temp+rename writes)
 *   MEMORY.md   the agent's memory, rewritten from the whole history on every result
 *
 * Source is written before entry.json, so an entry.json always has its source. The caller holds
 * the library lock for every write; refresh() re-reads what another process wrote.
 */
import { existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { ScxError } from '../errors.js';
import type { EntrySummary, LibraryEntry } from '../model/entry.js';
import { ENTRY_NAME_RE } from '../model/names.js';
import { writeAtomic, writeAtomicIfChanged } from './fs-atomic.js';
import { emptyDb, LibraryDb, StoredTest, TestResult } from './history.js';
import { renderMemory } from './memory.js';
import { checkName, checkSourceName, sha, validEntry } from './validate.js';

export class LibraryFiles {
  /** The entries that loaded, by name. */
  readonly entries = new Map<string, LibraryEntry>();
  /** entry.json files that did not validate on the last load (hand-edited?), with the reason */
  readonly problems: { name: string; reason: string }[] = [];
  readonly db: Low<LibraryDb>;
  private summaryCache?: EntrySummary[];
  /** db.json as we last read or wrote it: a different file means another process wrote */
  private seen?: { ino: number; mtimeMs: number; size: number };
  private loaded = false;

  constructor(readonly dir: string) {
    this.db = new Low<LibraryDb>(new JSONFile<LibraryDb>(join(dir, 'db.json')), emptyDb());
  }

  get data(): LibraryDb {
    return this.db.data;
  }

  get memoryPath(): string {
    return join(this.dir, 'MEMORY.md');
  }

  get dbPath(): string {
    return join(this.dir, 'db.json');
  }

  entryDir(name: string): string {
    return join(this.dir, 'entries', name);
  }

  /** Re-read db.json and the entries if another process changed them (or on first use). */
  refresh(): void {
    let st: Stats | undefined;
    try {
      st = statSync(this.dbPath);
    } catch {
      if (!this.loaded) this.loadEntries();
      return;
    }
    if (this.seen && st.ino === this.seen.ino && st.mtimeMs === this.seen.mtimeMs && st.size === this.seen.size) return;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.dbPath, 'utf8'));
    } catch (e) {
      throw new ScxError('BAD_INPUT', `the library database ${this.dbPath} is not valid JSON: ${(e as Error).message}`,
        `it is written atomically, so this is a hand edit: restore it with git -C ${this.dir} checkout db.json`);
    }
    const parsed = LibraryDb.safeParse(raw);
    if (!parsed.success) {
      throw new ScxError('BAD_INPUT', `the library database ${this.dbPath} is not valid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
        `restore it from the library's history: git -C ${this.dir} checkout db.json`);
    }
    this.db.data = parsed.data;
    this.seen = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
    this.loadEntries();
  }

  async writeDb(): Promise<void> {
    this.db.data.rev++;
    await this.db.write();
    const st = statSync(this.dbPath);
    this.seen = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
  }

  private loadEntries(): void {
    this.loaded = true;
    this.entries.clear();
    this.problems.length = 0;
    this.summaryCache = undefined;
    const root = join(this.dir, 'entries');
    for (const name of readdirSync(root).sort()) {
      const f = join(root, name, 'entry.json');
      if (!ENTRY_NAME_RE.test(name) || !existsSync(f)) continue;
      try {
        const e = validEntry(JSON.parse(readFileSync(f, 'utf8')), f);
        if (e.name !== name) throw new Error(`its name "${e.name}" is not its directory's`);
        checkSourceName(e.source, e.kind);
        if (!existsSync(join(root, name, e.source))) throw new Error(`its source ${e.source} is missing`);
        this.entries.set(name, e);
      } catch (err) {
        this.problems.push({ name, reason: (err as Error).message });
      }
    }
  }

  /** An entry as it is now on disk (after a write of its entry.json). */
  setEntry(entry: LibraryEntry): void {
    this.entries.set(entry.name, entry);
    this.summaryCache = undefined;
  }

  summaries(): EntrySummary[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => ({
      name: e.name, title: e.title, family: e.family, tags: e.tags, description: e.description, algorithm: e.algorithm, useCases: e.useCases, version: e.version,
      objectives: e.objectives, minKernel: e.kernelApi.minKernel, userspace: e.userspace,
    }));
  }

  /** summaries(), the same array until an entry changes. */
  cachedSummaries(): EntrySummary[] {
    return (this.summaryCache ??= this.summaries());
  }

  /** A hash of an entry's entry.json and source as they are on disk. */
  hashOnDisk(name: string): string | undefined {
    const d = this.entryDir(name);
    const e = this.entries.get(name);
    if (!e) return undefined;
    return sha(readFileSync(join(d, 'entry.json'), 'utf8'), readFileSync(join(d, e.source), 'utf8'));
  }

  mustHave(name: string): LibraryEntry {
    checkName(name);
    const e = this.entries.get(name);
    if (!e) {
      const bad = this.problems.find((p) => p.name === name);
      throw new ScxError('OBJECT_MISSING', bad ? `library entry "${name}" is broken: ${bad.reason}` : `no library entry "${name}"`,
        bad ? `fix ${join(this.entryDir(name), 'entry.json')} or revert it with git` : `entries: ${[...this.entries.keys()].join(', ')}; search_library finds the right one`);
    }
    return e;
  }

  sourcePath(entry: LibraryEntry): string {
    return join(this.entryDir(entry.name), entry.source);
  }

  readSource(entry: LibraryEntry): Promise<string> {
    return readFile(this.sourcePath(entry), 'utf8');
  }

  /** entry.json alone (its source is on disk already). */
  async writeEntryJson(entry: LibraryEntry): Promise<void> {
    await writeAtomic(join(this.entryDir(entry.name), 'entry.json'), JSON.stringify(entry, null, 2) + '\n');
    this.setEntry(entry);
  }

  /** Source first, metadata last: an entry.json on disk always has its source. */
  async writeEntry(entry: LibraryEntry, source: string, tests: TestResult[] = []): Promise<void> {
    const d = this.entryDir(entry.name);
    await mkdir(d, { recursive: true });
    await writeAtomic(join(d, entry.source), source);
    await this.writeEntryJson(entry);
    if (tests.length) {
      for (const t of tests) this.db.data.tests.push(StoredTest.parse({ ...TestResult.parse(t), entry: entry.name, version: entry.version }));
      await this.writeTestsFile(entry.name);
    }
  }

  /** entries/<name>/tests.json: the entry's last 50 test results (db.json holds them all). */
  async writeTestsFile(name: string): Promise<void> {
    const mine = this.db.data.tests.filter((x) => x.entry === name).slice(-50);
    if (mine.length) await writeAtomic(join(this.entryDir(name), 'tests.json'), JSON.stringify(mine, null, 2) + '\n');
  }

  async writeMemory(onlyIfChanged = false): Promise<void> {
    const text = renderMemory(this.db.data.history, this.summaries(), this.db.data);
    if (onlyIfChanged) await writeAtomicIfChanged(this.memoryPath, text);
    else await writeAtomic(this.memoryPath, text);
  }

  /** MEMORY.md, or (before it is written) what it would say. */
  memoryMarkdown(): string {
    try {
      return readFileSync(this.memoryPath, 'utf8');
    } catch {
      return renderMemory(this.db.data.history, this.summaries(), this.db.data);
    }
  }
}
