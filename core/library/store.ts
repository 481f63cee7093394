/**
 * The scheduler library on disk: its own git repository (simple-git) under
 * $SCX_MCP_LIBRARY (default $XDG_DATA_HOME/scx-mcp/library, i.e.
 * ~/.local/share/scx-mcp/library), seeded from the repo's library/ directory.
 * Every created, modified or reverted scheduler is a commit (with its test
 * results), and so is every recorded result, so nothing an agent makes is lost
 * and any version can be listed, diffed and restored.
 *
 * LibraryStore composes the parts, each in its own module:
 *   files.ts      entries/<name>/…, db.json and MEMORY.md, and what is held of them in memory
 *   fs-atomic.ts  atomic temp+rename writes, and .lock (held while writing, so several server processes can share one library)
 *   versions.ts   the git history: commits, versions, diffs
 *   open.ts       what runs at open: git set-up, crash recovery, seeding (seed.ts), MEMORY.md
 *   presets.ts, results.ts, entry-patch.ts   presets, test and measured results (learning), patches
 *
 * Crash safety: every file is written to a temporary file and renamed over the
 * old one (source before entry.json, so an entry.json always has its source);
 * git commits come after the files, and a library reopened after a crash
 * commits whatever an interrupted write left uncommitted, removes temporary
 * files and stale locks (ours and git's).
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { ScxError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { LibraryEntry, type EntrySummary } from '../model/entry.js';
import { applyEntryPatch } from './entry-patch.js';
import { LibraryFiles } from './files.js';
import { acquireLock, writeAtomic } from './fs-atomic.js';
import {
  HistoryInput, HistoryRecord, Preset, StoredTest, TestResult, toHistoryRecord,
  type RetrievalWeights, type WeightUpdate,
} from './history.js';
import { checkLibraryDir, prepareLibrary } from './open.js';
import { learnedQuestions, loadQuestions, type Question } from './questions.js';
import { checkedPreset, findPreset, presetsOf, putPreset } from './presets.js';
import { addResult, checkedResult, checkedTest, testsLine } from './results.js';
import { checkName, checkSourceName, validEntry } from './validate.js';
import { LibraryVersions, type VersionInfo } from './versions.js';

export type { HistoryInput, HistoryRecord, Preset, RetrievalWeights, TestResult } from './history.js';
export type { VersionInfo } from './versions.js';

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

export class LibraryStore {
  private queue: Promise<unknown> = Promise.resolve();
  private questionsDir: string | null = null;
  private seedQuestions: Question[] | undefined;
  private askedQuestions: { key: string; summaries: EntrySummary[]; list: Question[] } | undefined;

  private constructor(private readonly files: LibraryFiles, private readonly git: LibraryVersions) {}

  get dir(): string {
    return this.files.dir;
  }

  /** entry.json files that did not validate on the last load (hand-edited?), with the reason */
  get problems(): { name: string; reason: string }[] {
    return this.files.problems;
  }

  get memoryPath(): string {
    return this.files.memoryPath;
  }

  /**
   * Open (creating and seeding if needed) a library. `dir` defaults to defaultLibraryDir(),
   * `seedDir` to the repo's library/: seed entries the library lacks are copied in; seed
   * entries it has are updated only while nobody changed them (agents' versions are never overwritten).
   */
  static async open(opts: { dir?: string; seedDir?: string | null } = {}): Promise<LibraryStore> {
    const dir = resolve(opts.dir ?? defaultLibraryDir());
    checkLibraryDir(dir);
    await mkdir(join(dir, 'entries'), { recursive: true });
    const store = new LibraryStore(new LibraryFiles(dir), new LibraryVersions(dir));
    const seedDir = opts.seedDir === null ? null : opts.seedDir ?? join(repoRoot, 'library');
    await store.locked(() => prepareLibrary(store.files, store.git, seedDir));
    store.questionsDir = seedDir && join(seedDir, 'questions');
    return store;
  }

  /** One writer at a time: in this process (a queue) and across processes (the lock file); state re-read first. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const release = await acquireLock(join(this.dir, '.lock'));
      try {
        await this.git.clearLock();
        this.files.refresh();
        return await fn();
      } finally {
        await release();
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  // ---------------------------------------------------------------- reading

  /** Entry summaries, sorted by name; the same array until something changes (search caches its index on it). */
  cachedSummaries(): EntrySummary[] {
    this.files.refresh();
    return this.files.cachedSummaries();
  }

  /**
   * The past questions search asks: those shipped with the seed (library/questions, read once; none without a
   * seed) and those this library's improved results taught (questions.ts learnedQuestions). The same array until
   * a result or an entry changes (the vote caches its index on it).
   */
  questions(): Question[] {
    const seed = (this.seedQuestions ??= this.questionsDir ? loadQuestions(this.questionsDir) : []);
    const summaries = this.cachedSummaries(); // refreshes: history is current
    const history = this.files.data.history;
    const key = `${history.length}:${history.at(-1)?.id ?? ''}`;
    if (this.askedQuestions?.key !== key || this.askedQuestions.summaries !== summaries) {
      const learned = learnedQuestions(history, summaries);
      this.askedQuestions = { key, summaries, list: learned.length ? [...seed, ...learned] : seed };
    }
    return this.askedQuestions.list;
  }

  summaries(): EntrySummary[] {
    return this.files.summaries();
  }

  list(): EntrySummary[] {
    return this.cachedSummaries();
  }

  has(name: string): boolean {
    this.files.refresh();
    return this.files.entries.has(name);
  }

  async get(name: string): Promise<{ entry: LibraryEntry; source: string; dir: string; sourcePath: string }> {
    this.files.refresh();
    const entry = this.files.mustHave(name);
    return { entry, source: await this.files.readSource(entry), dir: this.files.entryDir(name), sourcePath: this.files.sourcePath(entry) };
  }

  /** Every version of an entry, oldest first, from the git history. */
  async versions(name: string): Promise<VersionInfo[]> {
    checkName(name);
    const out = await this.git.versions(name);
    if (!out.length) this.files.mustHave(name);
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
    return this.git.diff(name, from, to);
  }

  /** Test results (of one entry, or all), oldest first. */
  tests(name?: string): StoredTest[] {
    this.files.refresh();
    return this.files.data.tests.filter((t) => !name || t.entry === name);
  }

  history(name?: string): HistoryRecord[] {
    this.files.refresh();
    return this.files.data.history.filter((r) => !name || r.entry === name);
  }

  weights(): RetrievalWeights {
    this.files.refresh();
    return { ...this.files.data.weights };
  }

  /** How the retrieval weights were tuned: current weights, evaluations, the last updates. */
  learning(): { weights: RetrievalWeights; evaluations: number; rankedBestFirst: number; recent: WeightUpdate[] } {
    this.files.refresh();
    const d = this.files.data;
    return { weights: { ...d.weights }, evaluations: d.evaluations.n, rankedBestFirst: d.evaluations.top1, recent: d.weightLog.slice(-5) };
  }

  memoryMarkdown(): string {
    this.files.refresh();
    return this.files.memoryMarkdown();
  }

  /** The entry's named parameter sets (tuned configurations), newest first. */
  presets(name: string): Preset[] {
    this.files.refresh();
    return presetsOf(this.files.data, name);
  }

  /** One preset of an entry, or a clear error listing the ones it has. */
  preset(name: string, preset: string): Preset {
    this.files.refresh();
    return findPreset(this.files.data, name, preset);
  }

  // ---------------------------------------------------------------- writing

  /** A new entry (version 1); `entry.parent` may name what it was derived from (e.g. a template or "fifo@2"). */
  async create(input: { entry: LibraryEntry; source: string; tests?: TestResult[]; author?: string; message?: string }): Promise<{ name: string; version: number; commit: string }> {
    checkName(input.entry?.name);
    const entry = validEntry({ ...input.entry, version: 1, createdBy: input.entry.createdBy ?? input.author ?? 'scx-mcp' }, `entry "${input.entry.name}"`);
    checkSourceName(entry.source);
    if (typeof input.source !== 'string' || !input.source.trim()) throw new ScxError('BAD_INPUT', 'the source is empty', 'pass the BPF C source of the scheduler');
    return this.locked(async () => {
      if (this.files.entries.has(entry.name)) throw new ScxError('BAD_INPUT', `an entry named "${entry.name}" exists already`, 'pick another name, or modify that entry');
      await this.files.writeEntry(entry, input.source, input.tests);
      await this.files.writeDb();
      const by = input.author ? ` (${input.author})` : '';
      const from = entry.parent ? ` from ${entry.parent}` : '';
      const commit = await this.git.commit(`create ${entry.name} v1${from}${by}: ${input.message ?? entry.title}${testsLine(input.tests)}`, [`entries/${entry.name}`, 'db.json']);
      return { name: entry.name, version: 1, commit };
    });
  }

  /** A new version of an entry: new source, a patch to it, and/or metadata; its parent is the version it came from. */
  async modify(name: string, change: EntryChange): Promise<{ name: string; version: number; parent: string; commit: string }> {
    checkName(name);
    return this.locked(async () => {
      const cur = this.files.mustHave(name);
      const curSource = await this.files.readSource(cur);
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
      await this.files.writeEntry(entry, source, change.tests);
      await this.files.writeDb();
      const by = change.author ? ` (${change.author})` : '';
      const commit = await this.git.commit(`modify ${name} v${entry.version} from ${parent}${by}: ${change.message ?? 'new version'}${testsLine(change.tests)}`, [`entries/${name}`, 'db.json']);
      return { name, version: entry.version, parent, commit };
    });
  }

  /** Restore an old version's files as a new version (history is never rewritten); the new version's parent is the old one. */
  async revert(name: string, version: number, opts: { author?: string } = {}): Promise<{ version: number; commit: string }> {
    checkName(name);
    const commit = await this.commitOf(name, version);
    return this.locked(async () => {
      const cur = this.files.mustHave(name);
      if (version === cur.version) throw new ScxError('BAD_INPUT', `${name} is at version ${version} already`, 'revert to an older version (see versions)');
      const old = validEntry(JSON.parse(await this.git.show(commit, `entries/${name}/entry.json`)), `${name} v${version}`);
      const source = await this.git.show(commit, `entries/${name}/${old.source}`);
      const entry = validEntry({ ...old, version: cur.version + 1, parent: `${name}@${version}` }, `${name} v${version}`);
      await this.files.writeEntry(entry, source);
      await this.files.writeDb();
      const by = opts.author ? ` (${opts.author})` : '';
      const c = await this.git.commit(`revert ${name} to v${version} as v${entry.version} (was v${cur.version})${by}`, [`entries/${name}`, 'db.json']);
      return { version: entry.version, commit: c };
    });
  }

  /** Store a test result (static / verifier / stress) of an entry's current version: in db.json, tests.json and a commit. */
  async recordTest(name: string, result: TestResult): Promise<void> {
    checkName(name);
    const t = checkedTest(result);
    await this.locked(async () => {
      const cur = this.files.mustHave(name);
      this.files.data.tests.push({ ...t, entry: name, version: cur.version });
      await this.files.writeDb();
      await this.files.writeTestsFile(name);
      await this.git.commit(`test ${name} v${cur.version}: ${t.kind} ${t.pass ? 'pass' : 'FAIL'} on ${t.kernel}`, [`entries/${name}`, 'db.json']);
    });
  }

  /** Store (or replace, by name) a preset of the entry's current version; a commit. */
  async setPreset(name: string, preset: Omit<z.input<typeof Preset>, 'version'>): Promise<Preset> {
    checkName(name);
    return this.locked(async () => {
      const cur = this.files.mustHave(name);
      const p = checkedPreset(cur, preset);
      putPreset(this.files.data, name, p);
      await this.files.writeDb();
      await this.git.commit(`preset ${name} v${cur.version}: ${p.name} ${JSON.stringify(p.params)}`, ['db.json']);
      return p;
    });
  }

  /**
   * Store a measured result; the outcome is computed from metrics vs baseline when not given.
   * Then tune the retrieval weights from it (learning.ts) and rewrite MEMORY.md from the whole history.
   */
  async recordResult(input: HistoryInput): Promise<{ id: string; outcome: HistoryRecord['outcome']; weightsChanged: boolean }> {
    const p = checkedResult(input);
    checkName(p.entry);
    return this.locked(async () => {
      const cur = this.files.mustHave(p.entry);
      const rec = toHistoryRecord(p, { id: randomUUID(), version: cur.version });
      const weightsChanged = addResult(this.files.data, this.cachedSummaries(), rec);
      await this.files.writeDb();
      await this.files.writeMemory();
      await this.git.commit(`result ${rec.entry} v${rec.version}: ${rec.outcome} on "${rec.workload.name}"${weightsChanged ? ' (retrieval weights tuned)' : ''}`, ['db.json', 'MEMORY.md']);
      return { id: rec.id, outcome: rec.outcome, weightsChanged };
    });
  }
}

export const _internal = { acquireLock, writeAtomic };
