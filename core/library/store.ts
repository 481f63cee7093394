/**
 * The scheduler library on disk: its own git repository (simple-git) under
 * $SCX_MCP_LIBRARY (default $XDG_DATA_HOME/scx-mcp/library), seeded from the
 * repo's library/ directory. Every created, modified or reverted scheduler and
 * every recorded result is a commit, so nothing an agent makes is lost and any
 * version can be listed, diffed and restored.
 *
 *   entries/<name>/entry.json, <name>.bpf.c, tests.json
 *   db.json     results history, test results, retrieval weights (lowdb, atomic writes)
 *   MEMORY.md   the agent's memory, rewritten from the history on every result
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ScxError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { applyPatch } from '../toolchain/patch.js';
import { learnFromResult } from './learning.js';
import { renderMemory } from './memory.js';
import { DEFAULT_WEIGHTS, HistoryRecord, LibraryDb, TestResult, type HistoryInput, type RetrievalWeights } from './history.js';
import { LibraryEntry } from './schema.js';

const NAME_RE = /^[a-z][a-z0-9_]{1,30}$/;

export interface EntrySummary {
  name: string;
  title: string;
  family: string;
  tags: string[];
  description: string;
  algorithm: string;
  useCases: string[];
  version: number;
}

export function defaultLibraryDir(): string {
  if (process.env.SCX_MCP_LIBRARY) return resolve(process.env.SCX_MCP_LIBRARY);
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'scx-mcp', 'library');
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new ScxError('BAD_INPUT', `"${name}" is not a valid scheduler name`, 'lower-case letters, digits and _, starting with a letter, 2-31 characters');
}

/** Write a file so that a crash leaves either the old or the new content, never half of one. */
async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export class LibraryStore {
  private entries = new Map<string, LibraryEntry>();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string, private readonly git: SimpleGit, private readonly db: Low<LibraryDb>) {}

  get memoryPath(): string {
    return join(this.dir, 'MEMORY.md');
  }

  static async open(opts: { dir?: string; seedDir?: string } = {}): Promise<LibraryStore> {
    const dir = opts.dir ?? defaultLibraryDir();
    await mkdir(join(dir, 'entries'), { recursive: true });
    // a crash during a git commit can leave its lock behind; we are the only writer
    await rm(join(dir, '.git', 'index.lock'), { force: true });
    const git = simpleGit(dir);
    if (!existsSync(join(dir, '.git'))) {
      await git.init();
      await git.addConfig('user.name', 'scx-mcp');
      await git.addConfig('user.email', 'scx-mcp@localhost');
      await git.addConfig('commit.gpgsign', 'false');
    }
    // not JSONFilePreset: it silently keeps data in memory when NODE_ENV=test
    const db = new Low<LibraryDb>(new JSONFile<LibraryDb>(join(dir, 'db.json')), { history: [], tests: [], weights: { ...DEFAULT_WEIGHTS } });
    await db.read();
    const parsed = LibraryDb.safeParse(db.data);
    if (!parsed.success) {
      throw new ScxError('BAD_INPUT', `the library database ${join(dir, 'db.json')} is not valid: ${parsed.error.issues[0]?.message}`,
        'restore it from the library\'s git history (git -C <library> checkout db.json)');
    }
    if (!existsSync(join(dir, 'db.json'))) await db.write();
    const store = new LibraryStore(dir, git, db);
    await store.seed(opts.seedDir ?? join(repoRoot, 'library'));
    store.reload();
    if (!existsSync(store.memoryPath)) await writeAtomic(store.memoryPath, renderMemory(store.db.data.history, store.summaries()));
    await store.commit('open library', ['.']);
    return store;
  }

  /** Copy seed entries the library does not have yet (never overwriting agents' versions). */
  private async seed(seedDir: string): Promise<void> {
    if (!existsSync(seedDir)) return;
    for (const name of readdirSync(seedDir).sort()) {
      const src = join(seedDir, name);
      if (!NAME_RE.test(name) || !existsSync(join(src, 'entry.json'))) continue;
      const dst = join(this.dir, 'entries', name);
      if (existsSync(join(dst, 'entry.json'))) continue;
      const entry = LibraryEntry.safeParse(JSON.parse(readFileSync(join(src, 'entry.json'), 'utf8')));
      if (!entry.success || !existsSync(join(src, entry.data.source))) continue;
      await mkdir(dst, { recursive: true });
      await cp(join(src, entry.data.source), join(dst, entry.data.source));
      await writeAtomic(join(dst, 'entry.json'), JSON.stringify(entry.data, null, 2) + '\n');
    }
  }

  private reload(): void {
    this.entries.clear();
    for (const name of readdirSync(join(this.dir, 'entries')).sort()) {
      const f = join(this.dir, 'entries', name, 'entry.json');
      if (!existsSync(f)) continue;
      const e = LibraryEntry.safeParse(JSON.parse(readFileSync(f, 'utf8')));
      if (e.success) this.entries.set(name, e.data);
    }
  }

  /** Serialise writers: one git commit and one db write at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  private async commit(message: string, paths: string[]): Promise<string> {
    try {
      await this.git.add(paths);
    } catch (e) {
      throw new Error(`git add ${paths.join(' ')} in ${this.dir} failed (dir has: ${readdirSync(this.dir).join(', ')}): ${(e as Error).message}`);
    }
    const st = await this.git.status();
    if (st.staged.length === 0 && st.created.length === 0 && st.renamed.length === 0 && st.deleted.length === 0 && st.modified.length === 0) {
      return (await this.git.revparse(['HEAD']).catch(() => '')).trim();
    }
    const r = await this.git.commit(message);
    return r.commit || (await this.git.revparse(['HEAD'])).trim();
  }

  private summaryCache?: EntrySummary[];

  /** The same array until an entry changes (search caches its index on it). */
  cachedSummaries(): EntrySummary[] {
    return (this.summaryCache ??= this.summaries());
  }

  summaries(): EntrySummary[] {
    return [...this.entries.values()].map((e) => ({
      name: e.name, title: e.title, family: e.family, tags: e.tags, description: e.description, algorithm: e.algorithm, useCases: e.useCases, version: e.version,
    }));
  }

  list(): EntrySummary[] {
    return this.cachedSummaries();
  }

  async get(name: string): Promise<{ entry: LibraryEntry; source: string; dir: string; sourcePath: string }> {
    checkName(name);
    const entry = this.entries.get(name);
    if (!entry) {
      throw new ScxError('OBJECT_MISSING', `no library entry "${name}"`, `entries: ${[...this.entries.keys()].join(', ')}; search_library finds the right one`);
    }
    const dir = join(this.dir, 'entries', name);
    const sourcePath = join(dir, entry.source);
    return { entry, source: await readFile(sourcePath, 'utf8'), dir, sourcePath };
  }

  private async writeEntry(entry: LibraryEntry, source: string): Promise<void> {
    const dir = join(this.dir, 'entries', entry.name);
    await mkdir(dir, { recursive: true });
    // source first, metadata last: an entry.json on disk always has its source
    await writeAtomic(join(dir, entry.source), source);
    await writeAtomic(join(dir, 'entry.json'), JSON.stringify(entry, null, 2) + '\n');
    this.entries.set(entry.name, entry);
    this.summaryCache = undefined;
  }

  async create(input: { entry: LibraryEntry; source: string; author?: string; message?: string }): Promise<{ name: string; version: number; commit: string }> {
    return this.exclusive(async () => {
      const entry = LibraryEntry.parse({ ...input.entry, version: 1 });
      checkName(entry.name);
      if (this.entries.has(entry.name)) throw new ScxError('BAD_INPUT', `an entry named "${entry.name}" exists already`, 'pick another name, or modify that entry');
      if (!/^[A-Za-z0-9_-]+\.bpf\.c$/.test(entry.source)) throw new ScxError('BAD_INPUT', `source file name "${entry.source}" must look like name.bpf.c`);
      await this.writeEntry(entry, input.source);
      const commit = await this.commit(`create ${entry.name} v1${input.author ? ` (${input.author})` : ''}: ${input.message ?? entry.title}`, [join('entries', entry.name)]);
      return { name: entry.name, version: 1, commit };
    });
  }

  async modify(name: string, change: { source?: string; patch?: string; entry?: Partial<LibraryEntry>; author?: string; message?: string }): Promise<{ name: string; version: number; parent: string; commit: string }> {
    const cur = await this.get(name);
    return this.exclusive(async () => {
      let source = change.source ?? cur.source;
      if (change.patch) source = await applyPatch(cur.entry.source, source, change.patch);
      const parent = `${name}@${cur.entry.version}`;
      const entry = LibraryEntry.parse({ ...cur.entry, ...change.entry, name, source: cur.entry.source, version: cur.entry.version + 1, parent });
      await this.writeEntry(entry, source);
      const commit = await this.commit(`modify ${name} v${entry.version} (from ${parent})${change.author ? ` (${change.author})` : ''}: ${change.message ?? 'new version'}`, [join('entries', name)]);
      return { name, version: entry.version, parent, commit };
    });
  }

  /** Every version of an entry, oldest first, from git history. */
  async versions(name: string): Promise<{ version: number; commit: string; date: string; message: string }[]> {
    checkName(name);
    const log = await this.git.log({ file: join('entries', name, 'entry.json') });
    const out: { version: number; commit: string; date: string; message: string }[] = [];
    for (const c of [...log.all].reverse()) {
      const text = await this.git.show([`${c.hash}:entries/${name}/entry.json`]).catch(() => '');
      const v = text ? LibraryEntry.safeParse(JSON.parse(text)) : null;
      if (v?.success && !out.some((o) => o.version === v.data.version)) out.push({ version: v.data.version, commit: c.hash, date: c.date, message: c.message });
    }
    return out;
  }

  private async commitOf(name: string, version: number): Promise<string> {
    const v = (await this.versions(name)).find((x) => x.version === version);
    if (!v) throw new ScxError('BAD_INPUT', `${name} has no version ${version}`, 'list versions first');
    return v.commit;
  }

  async diff(name: string, fromVersion: number, toVersion?: number): Promise<string> {
    const from = await this.commitOf(name, fromVersion);
    const to = toVersion === undefined ? 'HEAD' : await this.commitOf(name, toVersion);
    return this.git.diff([from, to, '--', join('entries', name)]);
  }

  /** Restore an old version's files as a new version (history is never rewritten). */
  async revert(name: string, version: number): Promise<{ version: number; commit: string }> {
    const cur = await this.get(name);
    const commit = await this.commitOf(name, version);
    const old = LibraryEntry.parse(JSON.parse(await this.git.show([`${commit}:entries/${name}/entry.json`])));
    const source = await this.git.show([`${commit}:entries/${name}/${old.source}`]);
    return this.exclusive(async () => {
      const entry = LibraryEntry.parse({ ...old, version: cur.entry.version + 1, parent: `${name}@${version}` });
      await this.writeEntry(entry, source);
      const c = await this.commit(`revert ${name} to v${version} as v${entry.version}`, [join('entries', name)]);
      return { version: entry.version, commit: c };
    });
  }

  async recordTest(name: string, result: TestResult): Promise<void> {
    const cur = await this.get(name);
    const t = TestResult.parse(result);
    await this.exclusive(async () => {
      this.db.data.tests.push({ ...t, entry: name, version: cur.entry.version });
      await this.db.write();
      const mine = this.db.data.tests.filter((x) => x.entry === name).slice(-20);
      await writeAtomic(join(cur.dir, 'tests.json'), JSON.stringify(mine, null, 2) + '\n');
      await this.commit(`test ${name} v${cur.entry.version}: ${t.kind} ${t.pass ? 'pass' : 'FAIL'} on ${t.kernel}`, [join('entries', name), 'db.json']);
    });
  }

  tests(name?: string) {
    return this.db.data.tests.filter((t) => !name || t.entry === name);
  }

  async recordResult(input: HistoryInput): Promise<{ id: string }> {
    if (!this.entries.has(input.entry)) throw new ScxError('OBJECT_MISSING', `no library entry "${input.entry}"`);
    const rec = HistoryRecord.parse({ ...input, id: randomUUID() });
    return this.exclusive(async () => {
      this.db.data.history.push(rec);
      this.db.data.weights = learnFromResult(this, rec, this.db.data.history, this.db.data.weights);
      await this.db.write();
      await writeAtomic(this.memoryPath, renderMemory(this.db.data.history, this.summaries()));
      await this.commit(`result ${rec.entry}: ${rec.outcome} on ${rec.workload.name}`, ['db.json', 'MEMORY.md']);
      return { id: rec.id };
    });
  }

  history(name?: string): HistoryRecord[] {
    return this.db.data.history.filter((r) => !name || r.entry === name);
  }

  memoryMarkdown(): string {
    return existsSync(this.memoryPath) ? readFileSync(this.memoryPath, 'utf8') : renderMemory(this.db.data.history, this.summaries());
  }

  weights(): RetrievalWeights {
    return { ...this.db.data.weights };
  }
}
