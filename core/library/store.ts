/**
 * The scheduler library on disk: its own git repository (simple-git) under
 * $SCX_MCP_LIBRARY (default $XDG_DATA_HOME/scx-mcp/library, i.e.
 * ~/.local/share/scx-mcp/library), seeded from the repo's library/ directory.
 * Every created, modified or reverted scheduler is a commit (with its test
 * results), and so is every recorded result, so nothing an agent makes is lost
 * and any version can be listed, diffed and restored.
 *
 *   entries/<name>/entry.json, <name>.bpf.c, tests.json
 *   db.json     results history, test results, retrieval weights (lowdb; atomic temp+rename writes)
 *   MEMORY.md   the agent's memory, rewritten from the whole history on every result
 *   .lock       held while writing, so several server processes can share one library
 *
 * Crash safety: every file is written to a temporary file and renamed over the
 * old one (source before entry.json, so an entry.json always has its source);
 * git commits come after the files, and a library reopened after a crash
 * commits whatever an interrupted write left uncommitted, removes temporary
 * files and stale locks (ours and git's).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { z } from 'zod';
import { ScxError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { applyPatch } from '../toolchain/patch.js';
import { learnFromResult } from './learning.js';
import { renderMemory } from './memory.js';
import {
  emptyDb, HistoryInput, HistoryRecord, LibraryDb, Preset, StoredTest, TestResult, toHistoryRecord,
  type RetrievalWeights, type WeightUpdate,
} from './history.js';
import { LibraryEntry, type EntryObjectives, type EntrySummary } from '../model/entry.js';
import { ENTRY_NAME_RE } from '../model/names.js';
import { scxParams } from '../scx/catalog.js';

export type { HistoryInput, HistoryRecord, Preset, RetrievalWeights, TestResult } from './history.js';

/** A source file name inside an entry directory: no directories, no dots before .bpf.c. */
const SOURCE_RE = /^[A-Za-z0-9_-]+\.bpf\.c$/;
const TMP_MARK = '.tmp-';
/** Files of a seed entry that go into the library's db, not into the entry's directory. */
const SEED_DATA_FILES = ['entry.json', 'tests.json', 'history.json', 'presets.json'];
const LOCK_WAIT_MS = 30_000;
/** A lock older than this is stale even if a process with its pid exists (pid reuse, hung process). */
const LOCK_STALE_MS = 10 * 60_000;

export interface VersionInfo {
  version: number;
  commit: string;
  date: string;
  message: string;
}

export interface EntryChange {
  /** the whole new source */
  source?: string;
  /** a unified diff against the entry's current source (applied after `source`, if both are given) */
  patch?: string;
  /** metadata to change (name, source file name and version are the store's) */
  entry?: Partial<LibraryEntry>;
  /** test results of the new version, stored in the same commit */
  tests?: TestResult[];
  author?: string;
  message?: string;
}

/** $SCX_MCP_LIBRARY, else $XDG_DATA_HOME/scx-mcp/library (XDG_DATA_HOME defaults to ~/.local/share). */
export function defaultLibraryDir(): string {
  if (process.env.SCX_MCP_LIBRARY) return resolve(process.env.SCX_MCP_LIBRARY);
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'scx-mcp', 'library');
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !ENTRY_NAME_RE.test(name)) {
    throw new ScxError('BAD_INPUT', `${JSON.stringify(name)} is not a valid scheduler name`,
      'lower-case letters, digits and _, starting with a letter, 2-31 characters (e.g. "my_ljf")');
  }
}

function checkSourceName(file: string, kind?: LibraryEntry['kind']): void {
  // an scx binary entry (core/scx/) has no BPF source here: its "source" is its documentation, <name>.md
  if (kind === 'scx' && /^[A-Za-z0-9_-]+\.md$/.test(file)) return;
  if (!SOURCE_RE.test(file)) {
    throw new ScxError('BAD_INPUT', `source file name "${file}" must look like <name>.bpf.c (no directories)`, 'use "<entry name>.bpf.c"');
  }
}

function validEntry(raw: unknown, where: string): LibraryEntry {
  const r = LibraryEntry.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ScxError('BAD_INPUT', `${where}: ${issue ? `${issue.path.join('.') || '(entry)'}: ${issue.message}` : 'not a valid library entry'}`,
      'see core/model/entry.ts (LibraryEntry) for the fields an entry needs', { issues: r.error.issues.slice(0, 5) });
  }
  return r.data;
}

const sha = (...parts: string[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Write a file so that a crash leaves either the old or the new content, never part of one. */
async function writeAtomic(path: string, data: string): Promise<void> {
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
async function acquireLock(path: string): Promise<() => Promise<void>> {
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

export class LibraryStore {
  private entries = new Map<string, LibraryEntry>();
  private summaryCache?: EntrySummary[];
  private queue: Promise<unknown> = Promise.resolve();
  /** db.json as we last read or wrote it: a different file means another process wrote */
  private seen?: { ino: number; mtimeMs: number; size: number };
  /** entry.json files that did not validate on the last load (hand-edited?), with the reason */
  readonly problems: { name: string; reason: string }[] = [];

  private constructor(readonly dir: string, private readonly git: SimpleGit, private readonly db: Low<LibraryDb>) {}

  get memoryPath(): string {
    return join(this.dir, 'MEMORY.md');
  }

  private get dbPath(): string {
    return join(this.dir, 'db.json');
  }

  private entryDir(name: string): string {
    return join(this.dir, 'entries', name);
  }

  /**
   * Open (creating and seeding if needed) a library. `dir` defaults to defaultLibraryDir(),
   * `seedDir` to the repo's library/: seed entries the library lacks are copied in; seed
   * entries it has are updated only while nobody changed them (agents' versions are never overwritten).
   */
  static async open(opts: { dir?: string; seedDir?: string | null } = {}): Promise<LibraryStore> {
    const dir = resolve(opts.dir ?? defaultLibraryDir());
    if (existsSync(dir) && !existsSync(join(dir, '.git'))) {
      const foreign = readdirSync(dir).filter((f) => !['entries', 'db.json', 'MEMORY.md', '.lock', '.gitignore'].includes(f));
      if (foreign.length) {
        throw new ScxError('BAD_INPUT', `${dir} is not a scheduler library (it has ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''} and no git repository)`,
          'point SCX_MCP_LIBRARY at an empty or missing directory; the library makes it a git repository and commits everything in it');
      }
    }
    await mkdir(join(dir, 'entries'), { recursive: true });
    const git = simpleGit({ baseDir: dir, trimmed: false });
    const db = new Low<LibraryDb>(new JSONFile<LibraryDb>(join(dir, 'db.json')), emptyDb());
    const store = new LibraryStore(dir, git, db);
    await store.locked(async () => {
      const fresh = !existsSync(join(dir, '.git'));
      if (fresh) {
        try {
          await git.init();
        } catch (e) {
          throw new ScxError('TOOL_MISSING', `cannot create a git repository in ${dir}: ${(e as Error).message}`, 'install git (the library keeps every scheduler version in git)');
        }
      }
      await git.addConfig('user.name', 'scx-mcp');
      await git.addConfig('user.email', 'scx-mcp@localhost');
      await git.addConfig('commit.gpgsign', 'false');
      await writeAtomicIfChanged(join(dir, '.gitignore'), `*${TMP_MARK}*\n.*.tmp\n.lock\n`);
      await store.removeTemporaries();
      if (!existsSync(store.dbPath)) await store.writeDb();
      if (!fresh) await store.adoptChanges();
      const seeded = opts.seedDir === null ? [] : await store.seed(opts.seedDir ?? join(repoRoot, 'library'));
      await store.writeMemory(true);
      const what = [fresh ? 'new library' : '', seeded.length ? `seed ${seeded.join(', ')}` : ''].filter(Boolean).join('; ');
      await store.commit(`open library: ${what || 'commit what an interrupted write left behind'}`, ['.']);
    });
    return store;
  }

  // ---------------------------------------------------------------- internals

  /** One writer at a time: in this process (a queue) and across processes (the lock file); state re-read first. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const release = await acquireLock(join(this.dir, '.lock'));
      try {
        await this.clearGitLock();
        this.refresh();
        return await fn();
      } finally {
        await release();
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** A git index.lock while we hold the library lock is left over from a crash (all our git writes hold it). */
  private async clearGitLock(): Promise<void> {
    const lock = join(this.dir, '.git', 'index.lock');
    // an orphaned git child of a killed server may still be finishing: give it a moment
    for (let i = 0; i < 40 && existsSync(lock); i++) await sleep(50);
    await rm(lock, { force: true });
  }

  /** Re-read db.json and the entries if another process changed them (or on first use). */
  private refresh(): void {
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

  private async writeDb(): Promise<void> {
    this.db.data.rev++;
    await this.db.write();
    const st = statSync(this.dbPath);
    this.seen = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
  }

  private loaded = false;

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

  private async removeTemporaries(): Promise<void> {
    const dirs = [this.dir, ...readdirSync(join(this.dir, 'entries')).map((n) => this.entryDir(n))];
    for (const d of dirs) {
      if (!statSync(d).isDirectory()) continue;
      for (const f of readdirSync(d)) if (f.includes(TMP_MARK) || (f.startsWith('.') && f.endsWith('.tmp'))) await rm(join(d, f), { force: true });
    }
  }

  private async commit(message: string, paths: string[]): Promise<string> {
    await this.git.add(['-A', '--', ...paths]);
    const r = await this.git.commit(message, undefined, { '--no-verify': null });
    if (/^[0-9a-f]{40}$/.test(r.commit)) return r.commit;
    return (await this.git.revparse(['HEAD']).catch(() => '')).trim(); // nothing to commit (or an abbreviated hash)
  }

  private hashOnDisk(name: string): string | undefined {
    const d = this.entryDir(name);
    const e = this.entries.get(name);
    if (!e) return undefined;
    return sha(readFileSync(join(d, 'entry.json'), 'utf8'), readFileSync(join(d, e.source), 'utf8'));
  }

  /**
   * Copy seed entries the library lacks; update a seeded entry from a changed seed only while
   * the library's copy is still exactly what was seeded (never overwriting an agent's version).
   */
  private async seed(seedDir: string): Promise<string[]> {
    if (!existsSync(seedDir)) return [];
    const seeds = this.db.data.seeds;
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
      if (this.importSeedResults(name, src)) imported = true;
      const seedHash = sha(JSON.stringify(entry), source);
      const cur = this.entries.get(name);
      const known = seeds[name];
      if (cur) {
        if (!known) {
          // a library made before seeds were tracked: adopt it only if it is the seed as is
          if (this.hashOnDisk(name) === sha(JSON.stringify(entry, null, 2) + '\n', source)) seeds[name] = { seed: seedHash, lib: this.hashOnDisk(name)! };
          continue;
        }
        if (known.seed === seedHash || this.hashOnDisk(name) !== known.lib) continue; // unchanged, or changed by someone
        entry = { ...entry, version: cur.version + 1, parent: `${name}@${cur.version}` };
      }
      const d = this.entryDir(name);
      await mkdir(d, { recursive: true });
      for (const f of readdirSync(src)) {
        if (SEED_DATA_FILES.includes(f) || !statSync(join(src, f)).isFile()) continue;
        await copyFile(join(src, f), join(d, `${f}${TMP_MARK}seed`));
        await rename(join(d, `${f}${TMP_MARK}seed`), join(d, f));
      }
      await this.importSeedTests(name, entry.version, join(src, 'tests.json'));
      await writeAtomic(join(d, 'entry.json'), JSON.stringify(entry, null, 2) + '\n');
      this.entries.set(name, entry);
      this.summaryCache = undefined;
      seeds[name] = { seed: seedHash, lib: this.hashOnDisk(name)! };
      done.push(cur ? `${name} v${entry.version} (updated seed)` : name);
    }
    if (imported || JSON.stringify(seeds) !== before) await this.writeDb();
    return done;
  }

  /**
   * The results a seed entry ships (library/<name>/history.json from `npm run bench`, presets.json
   * from `npm run bench:tune`) join the library's history and presets, on every open: a record the
   * library lacks (by id) is added, a preset only where the entry has none of that name (an agent's
   * own preset is never replaced). Invalid records are skipped. Returns whether anything was added.
   */
  private importSeedResults(name: string, src: string): boolean {
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
      const have = new Set(this.db.data.history.map((h) => h.id));
      const add = read('history.json').map((r) => HistoryRecord.safeParse(r)).flatMap((p) => (p.success && p.data.entry === name && !have.has(p.data.id) ? [p.data] : []));
      if (add.length) {
        this.db.data.history = [...this.db.data.history, ...add];
        added = true;
      }
    }
    if (existsSync(join(src, 'presets.json'))) {
      const list = this.db.data.presets[name] ?? [];
      const add = read('presets.json').map((r) => Preset.safeParse(r)).flatMap((p) => (p.success && !list.some((x) => x.name === p.data.name) ? [p.data] : []));
      if (add.length) {
        this.db.data.presets = { ...this.db.data.presets, [name]: [...list, ...add] };
        added = true;
      }
    }
    return added;
  }

  /**
   * Entry files changed since the last commit (an interrupted write, or a person editing the
   * library by hand) become versions like any other: a changed entry whose version was not
   * bumped gets the next version with its parent; each is its own commit.
   */
  private async adoptChanges(): Promise<void> {
    const head = await this.git.revparse(['--verify', '-q', 'HEAD']).catch(() => '');
    if (!head.trim()) return;
    const st = await this.git.status(['--', 'entries/']);
    const names = new Set(st.files.map((f) => /^entries\/([^/]+)\//.exec(f.path)?.[1]).filter((n): n is string => !!n && this.entries.has(n)));
    for (const name of [...names].sort()) {
      const cur = this.entries.get(name)!;
      const before = await this.git.show([`HEAD:entries/${name}/entry.json`]).catch(() => null);
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
          await writeAtomic(join(this.entryDir(name), 'entry.json'), JSON.stringify(entry, null, 2) + '\n');
          this.entries.set(name, entry);
          this.summaryCache = undefined;
          msg = `modify ${name} v${entry.version} from ${entry.parent} (found on open: an interrupted write or a hand edit)`;
        } else {
          msg = `modify ${name} v${cur.version}${cur.parent ? ` from ${cur.parent}` : ''} (recovered an interrupted write)`;
        }
      }
      await this.commit(msg, [`entries/${name}`]);
    }
  }

  /** A seed's own test results (verifier + stress in the sandbox), when the repo has them. */
  private async importSeedTests(name: string, version: number, file: string): Promise<void> {
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
      const dup = this.db.data.tests.some((x) => x.entry === name && x.at === p.data.at && x.kind === p.data.kind && x.kernel === p.data.kernel);
      if (!dup) this.db.data.tests.push(StoredTest.parse({ ...p.data, entry: name, version: (t as { version?: number }).version ?? version }));
    }
    await this.writeTestsFile(name);
  }

  private async writeTestsFile(name: string): Promise<void> {
    const mine = this.db.data.tests.filter((x) => x.entry === name).slice(-50);
    if (mine.length) await writeAtomic(join(this.entryDir(name), 'tests.json'), JSON.stringify(mine, null, 2) + '\n');
  }

  private async writeMemory(onlyIfChanged = false): Promise<void> {
    const text = renderMemory(this.db.data.history, this.summaries(), this.db.data);
    if (onlyIfChanged) await writeAtomicIfChanged(this.memoryPath, text);
    else await writeAtomic(this.memoryPath, text);
  }

  /** Source first, metadata last: an entry.json on disk always has its source. */
  private async writeEntry(entry: LibraryEntry, source: string, tests: TestResult[] = []): Promise<void> {
    const d = this.entryDir(entry.name);
    await mkdir(d, { recursive: true });
    await writeAtomic(join(d, entry.source), source);
    await writeAtomic(join(d, 'entry.json'), JSON.stringify(entry, null, 2) + '\n');
    this.entries.set(entry.name, entry);
    this.summaryCache = undefined;
    if (tests.length) {
      for (const t of tests) this.db.data.tests.push(StoredTest.parse({ ...TestResult.parse(t), entry: entry.name, version: entry.version }));
      await this.writeTestsFile(entry.name);
    }
  }

  private testsLine(tests: TestResult[] | undefined): string {
    if (!tests?.length) return '';
    return '\n\nTests:\n' + tests.map((t) => `- ${t.kind} on ${t.kernel}: ${t.pass ? 'pass' : 'FAIL'}${t.numbers ? ` ${JSON.stringify(t.numbers)}` : ''}`).join('\n');
  }

  private mustHave(name: string): LibraryEntry {
    checkName(name);
    const e = this.entries.get(name);
    if (!e) {
      const bad = this.problems.find((p) => p.name === name);
      throw new ScxError('OBJECT_MISSING', bad ? `library entry "${name}" is broken: ${bad.reason}` : `no library entry "${name}"`,
        bad ? `fix ${join(this.entryDir(name), 'entry.json')} or revert it with git` : `entries: ${[...this.entries.keys()].join(', ')}; search_library finds the right one`);
    }
    return e;
  }

  // ---------------------------------------------------------------- reading

  /** Entry summaries, sorted by name; the same array until something changes (search caches its index on it). */
  cachedSummaries(): EntrySummary[] {
    this.refresh();
    return (this.summaryCache ??= this.summaries());
  }

  summaries(): EntrySummary[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => ({
      name: e.name, title: e.title, family: e.family, tags: e.tags, description: e.description, algorithm: e.algorithm, useCases: e.useCases, version: e.version,
      objectives: e.objectives, minKernel: e.kernelApi.minKernel, userspace: e.userspace,
    }));
  }

  list(): EntrySummary[] {
    return this.cachedSummaries();
  }

  has(name: string): boolean {
    this.refresh();
    return this.entries.has(name);
  }

  async get(name: string): Promise<{ entry: LibraryEntry; source: string; dir: string; sourcePath: string }> {
    this.refresh();
    const entry = this.mustHave(name);
    const dir = this.entryDir(name);
    const sourcePath = join(dir, entry.source);
    return { entry, source: await readFile(sourcePath, 'utf8'), dir, sourcePath };
  }

  /** Every version of an entry, oldest first, from the git history. */
  async versions(name: string): Promise<VersionInfo[]> {
    checkName(name);
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
    if (!out.length) this.mustHave(name);
    return out;
  }

  private async commitOf(name: string, version: number): Promise<string> {
    if (!Number.isInteger(version) || version < 1) throw new ScxError('BAD_INPUT', `version ${version} is not a version number`, 'versions are 1, 2, 3, …');
    const all = await this.versions(name);
    const v = all.find((x) => x.version === version);
    if (!v) throw new ScxError('BAD_INPUT', `${name} has no version ${version}`, `its versions: ${all.map((x) => x.version).join(', ') || 'none'}`);
    return v.commit;
  }

  /** A unified diff of an entry's files between two versions (to the current one when `toVersion` is left out). */
  async diff(name: string, fromVersion: number, toVersion?: number): Promise<string> {
    const from = await this.commitOf(name, fromVersion);
    const to = toVersion === undefined ? 'HEAD' : await this.commitOf(name, toVersion);
    return this.git.diff([from, to, '--', `entries/${name}/`]);
  }

  tests(name?: string): StoredTest[] {
    this.refresh();
    return this.db.data.tests.filter((t) => !name || t.entry === name);
  }

  history(name?: string): HistoryRecord[] {
    this.refresh();
    return this.db.data.history.filter((r) => !name || r.entry === name);
  }

  weights(): RetrievalWeights {
    this.refresh();
    return { ...this.db.data.weights };
  }

  /** How the retrieval weights were tuned: current weights, evaluations, the last updates. */
  learning(): { weights: RetrievalWeights; evaluations: number; rankedBestFirst: number; recent: WeightUpdate[] } {
    this.refresh();
    const d = this.db.data;
    return { weights: { ...d.weights }, evaluations: d.evaluations.n, rankedBestFirst: d.evaluations.top1, recent: d.weightLog.slice(-5) };
  }

  memoryMarkdown(): string {
    this.refresh();
    try {
      return readFileSync(this.memoryPath, 'utf8');
    } catch {
      return renderMemory(this.db.data.history, this.summaries(), this.db.data);
    }
  }

  // ---------------------------------------------------------------- writing

  /** A new entry (version 1); `entry.parent` may name what it was derived from (e.g. a template or "fifo@2"). */
  async create(input: { entry: LibraryEntry; source: string; tests?: TestResult[]; author?: string; message?: string }): Promise<{ name: string; version: number; commit: string }> {
    checkName(input.entry?.name);
    const entry = validEntry({ ...input.entry, version: 1, createdBy: input.entry.createdBy ?? input.author ?? 'scx-mcp' }, `entry "${input.entry.name}"`);
    checkSourceName(entry.source);
    if (typeof input.source !== 'string' || !input.source.trim()) throw new ScxError('BAD_INPUT', 'the source is empty', 'pass the BPF C source of the scheduler');
    return this.locked(async () => {
      if (this.entries.has(entry.name)) throw new ScxError('BAD_INPUT', `an entry named "${entry.name}" exists already`, 'pick another name, or modify that entry');
      await this.writeEntry(entry, input.source, input.tests);
      await this.writeDb();
      const by = input.author ? ` (${input.author})` : '';
      const from = entry.parent ? ` from ${entry.parent}` : '';
      const commit = await this.commit(`create ${entry.name} v1${from}${by}: ${input.message ?? entry.title}${this.testsLine(input.tests)}`, [`entries/${entry.name}`, 'db.json']);
      return { name: entry.name, version: 1, commit };
    });
  }

  /** A new version of an entry: new source, a patch to it, and/or metadata; its parent is the version it came from. */
  async modify(name: string, change: EntryChange): Promise<{ name: string; version: number; parent: string; commit: string }> {
    checkName(name);
    return this.locked(async () => {
      const cur = this.mustHave(name);
      const curSource = await readFile(join(this.entryDir(name), cur.source), 'utf8');
      if (change.entry?.name !== undefined && change.entry.name !== name) throw new ScxError('BAD_INPUT', `cannot rename ${name} to ${change.entry.name} with modify`, 'create a new entry (with parent set) instead');
      if (change.entry?.source !== undefined && change.entry.source !== cur.source) throw new ScxError('BAD_INPUT', `the source file of ${name} is ${cur.source}; it cannot be renamed`);
      let source = change.source ?? curSource;
      if (change.patch) source = await applyEntryPatch(cur.source, source, change.patch);
      const parent = `${name}@${cur.version}`;
      const { version: _v, parent: _p, ...meta } = change.entry ?? {};
      const entry = validEntry({ ...cur, ...meta, name, source: cur.source, version: cur.version + 1, parent }, `the changed entry ${name}`);
      if (source === curSource && JSON.stringify({ ...entry, version: cur.version, parent: cur.parent }) === JSON.stringify(cur)) {
        throw new ScxError('BAD_INPUT', `nothing changed in ${name} v${cur.version}`, 'pass a different source, a patch that changes something, or changed metadata');
      }
      await this.writeEntry(entry, source, change.tests);
      await this.writeDb();
      const by = change.author ? ` (${change.author})` : '';
      const commit = await this.commit(`modify ${name} v${entry.version} from ${parent}${by}: ${change.message ?? 'new version'}${this.testsLine(change.tests)}`, [`entries/${name}`, 'db.json']);
      return { name, version: entry.version, parent, commit };
    });
  }

  /** Restore an old version's files as a new version (history is never rewritten); the new version's parent is the old one. */
  async revert(name: string, version: number, opts: { author?: string } = {}): Promise<{ version: number; commit: string }> {
    checkName(name);
    const commit = await this.commitOf(name, version);
    return this.locked(async () => {
      const cur = this.mustHave(name);
      if (version === cur.version) throw new ScxError('BAD_INPUT', `${name} is at version ${version} already`, 'revert to an older version (see versions)');
      const old = validEntry(JSON.parse(await this.git.show([`${commit}:entries/${name}/entry.json`])), `${name} v${version}`);
      const source = await this.git.show([`${commit}:entries/${name}/${old.source}`]);
      const entry = validEntry({ ...old, version: cur.version + 1, parent: `${name}@${version}` }, `${name} v${version}`);
      await this.writeEntry(entry, source);
      await this.writeDb();
      const by = opts.author ? ` (${opts.author})` : '';
      const c = await this.commit(`revert ${name} to v${version} as v${entry.version} (was v${cur.version})${by}`, [`entries/${name}`, 'db.json']);
      return { version: entry.version, commit: c };
    });
  }

  /** Store a test result (static / verifier / stress) of an entry's current version: in db.json, tests.json and a commit. */
  async recordTest(name: string, result: TestResult): Promise<void> {
    checkName(name);
    const t = TestResult.safeParse(result);
    if (!t.success) throw new ScxError('BAD_INPUT', `not a test result: ${t.error.issues[0]?.path.join('.')}: ${t.error.issues[0]?.message}`);
    await this.locked(async () => {
      const cur = this.mustHave(name);
      this.db.data.tests.push({ ...t.data, entry: name, version: cur.version });
      await this.writeDb();
      await this.writeTestsFile(name);
      await this.commit(`test ${name} v${cur.version}: ${t.data.kind} ${t.data.pass ? 'pass' : 'FAIL'} on ${t.data.kernel}`, [`entries/${name}`, 'db.json']);
    });
  }

  /** The entry's named parameter sets (tuned configurations), newest first. */
  presets(name: string): Preset[] {
    this.refresh();
    return [...(this.db.data.presets[name] ?? [])].sort((a, b) => b.at.localeCompare(a.at));
  }

  /** One preset of an entry, or a clear error listing the ones it has. */
  preset(name: string, preset: string): Preset {
    this.refresh();
    const p = this.db.data.presets[name]?.find((x) => x.name === preset);
    if (!p) {
      const have = (this.db.data.presets[name] ?? []).map((x) => x.name);
      throw new ScxError('BAD_INPUT', `${name} has no preset "${preset}"`, have.length ? `its presets: ${have.join(', ')}` : 'it has none yet: tune_scheduler creates them');
    }
    return p;
  }

  /** Store (or replace, by name) a preset of the entry's current version; a commit. */
  async setPreset(name: string, preset: Omit<z.input<typeof Preset>, 'version'>): Promise<Preset> {
    checkName(name);
    return this.locked(async () => {
      const cur = this.mustHave(name);
      const p = Preset.safeParse({ ...preset, version: cur.version });
      if (!p.success) throw new ScxError('BAD_INPUT', `not a valid preset: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}`);
      // an scx binary entry's parameters are its installed binary's options (parsed from --help at set-up)
      const declared = new Set(cur.kind === 'scx' ? (scxParams(cur.scx?.crate ?? name)?.params ?? []).filter((x) => x.tunable).map((x) => x.name) : cur.params.map((x) => x.name));
      const unknown = Object.keys(p.data.params).filter((k) => !declared.has(k));
      if (unknown.length) throw new ScxError('BAD_INPUT', `preset ${p.data.name}: ${name} has no parameter ${unknown.join(', ')}`);
      const list = (this.db.data.presets[name] ?? []).filter((x) => x.name !== p.data.name);
      this.db.data.presets = { ...this.db.data.presets, [name]: [...list, p.data] };
      await this.writeDb();
      await this.commit(`preset ${name} v${cur.version}: ${p.data.name} ${JSON.stringify(p.data.params)}`, ['db.json']);
      return p.data;
    });
  }

  /**
   * Store a measured result; the outcome is computed from metrics vs baseline when not given.
   * Then tune the retrieval weights from it (learning.ts) and rewrite MEMORY.md from the whole history.
   */
  async recordResult(input: HistoryInput): Promise<{ id: string; outcome: HistoryRecord['outcome']; weightsChanged: boolean }> {
    const p = HistoryInput.safeParse(input);
    if (!p.success) {
      const i = p.error.issues[0];
      throw new ScxError('BAD_INPUT', `not a valid result: ${i?.path.join('.')}: ${i?.message}`, 'entry, target, workload {name, fingerprint?}, metrics and (ideally) baseline are needed');
    }
    checkName(p.data.entry);
    return this.locked(async () => {
      const cur = this.mustHave(p.data.entry);
      const rec = toHistoryRecord(p.data, { id: randomUUID(), version: cur.version });
      const before = this.db.data.history;
      this.db.data.history = [...before, rec];
      const learned = learnFromResult(this.cachedSummaries(), rec, before, this.db.data.weights);
      if (learned.evaluated) {
        this.db.data.evaluations = { n: this.db.data.evaluations.n + 1, top1: this.db.data.evaluations.top1 + (learned.rankedBestFirst ? 1 : 0) };
      }
      if (learned.update) {
        this.db.data.weights = learned.update.after;
        this.db.data.weightLog = [...this.db.data.weightLog, learned.update].slice(-100);
      }
      await this.writeDb();
      await this.writeMemory();
      await this.commit(`result ${rec.entry} v${rec.version}: ${rec.outcome} on "${rec.workload.name}"${learned.update ? ' (retrieval weights tuned)' : ''}`, ['db.json', 'MEMORY.md']);
      return { id: rec.id, outcome: rec.outcome, weightsChanged: !!learned.update };
    });
  }
}

/** applyPatch, with the failed hunks quoted (header and first changed line) so the agent sees which one. */
async function applyEntryPatch(file: string, source: string, patch: string): Promise<string> {
  try {
    return await applyPatch(file, source, patch);
  } catch (e) {
    if (!(e instanceof ScxError)) throw e;
    const hunks: { header: string; first: string }[] = [];
    for (const line of patch.split('\n')) {
      if (line.startsWith('@@')) hunks.push({ header: line.replace(/^(@@[^@]*@@).*$/, '$1'), first: '' });
      else if (hunks.length && !hunks.at(-1)!.first && /^[-+]/.test(line) && !/^(---|\+\+\+) /.test(line)) hunks.at(-1)!.first = line.slice(0, 100);
    }
    const failed = [...e.message.matchAll(/Hunk #(\d+) FAILED/g)].map((m) => Number(m[1]));
    const reversed = /Reversed \(or previously applied\)/.test(e.message);
    const which = failed.length ? failed : reversed ? hunks.map((_, i) => i + 1) : [];
    const quoted = which.map((n) => `hunk #${n}${hunks[n - 1] ? ` ${hunks[n - 1]!.header} (${hunks[n - 1]!.first})` : ''}`);
    const why = reversed && !failed.length ? 'it looks already applied (or reversed)' : 'its context or removed lines do not match the current source';
    throw new ScxError('BAD_INPUT', `${e.message}${quoted.length ? `\nfailed: ${quoted.join('; ')} — ${why}` : ''}`, e.hint, { failedHunks: which });
  }
}

async function writeAtomicIfChanged(path: string, text: string): Promise<void> {
  const cur = await readFile(path, 'utf8').catch(() => null);
  if (cur !== text) await writeAtomic(path, text);
}

export const _internal = { acquireLock, writeAtomic };
