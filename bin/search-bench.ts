/**
 * npm run bench:search — search_library latency on synthetic libraries of 100 and 1,000
 * entries (3 recorded results per entry), each a real library directory in a temp dir
 * (git repository, db.json, entries) opened with LibraryStore: the timed call is
 * searchLibrary(store, …), what the MCP tool runs. Queries combine words, a tag and a
 * fingerprint. Target: p50 < 20 ms at 1,000 entries.
 * Then precision@1 on the labelled description sets against the repo's seed library, from the
 * words alone and with the objective given; the held-out set was never used to tune search.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyDb, type HistoryRecord } from '../core/library/history.js';
import { LibraryEntry, Tag } from '../core/model/entry.js';
import { searchLibrary } from '../core/library/search.js';
import { LibraryStore } from '../core/library/store.js';
import { repoRoot, templatesDir } from '../core/paths.js';
import { FINGERPRINT_DIMENSIONS, type Fingerprint } from '../core/model/fingerprint.js';
import {
  LABELLED_SETS,
  READINGS_PATH,
  RecordedReadings,
  SET_NOTES,
  TARGET_SET,
  loadLabelled,
  precisionAt1,
  precisionRead,
} from '../core/bench/search-precision.js';
import { summarize } from '../core/model/stats.js';
import { formatTable } from '../core/bench/table.js';

const WORDS = (
  'batch latency fair queue slice job long short uneven cache locality deadline priority build compile server request ' +
  'throughput wakeup interactive desktop backup database render video test suite log parse join hash compress frame audio tenant ' +
  'weight nice steal central dispatch idle migrate warm core makespan completion starvation preempt boost class period'
).split(' ');
const FAMILIES = LibraryEntry.shape.family.options;
const TAGS = Tag.options;

let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const sentence = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const fingerprint = (): Fingerprint => Object.fromEntries(FINGERPRINT_DIMENSIONS.map((d) => [d, Math.round(rnd() * 100) / 100])) as Fingerprint;

/** A library directory with n entries and 3n results, opened as the server would. */
async function makeLibrary(root: string, n: number): Promise<{ store: LibraryStore; openMs: number }> {
  const seedDir = join(root, 'seed');
  const lib = join(root, 'lib');
  const source = readFileSync(join(templatesDir, 'fifo', 'fifo.bpf.c'), 'utf8');
  for (let i = 0; i < n; i++) {
    const name = `sched_${i}`;
    const entry = LibraryEntry.parse({
      name,
      title: sentence(4),
      description: sentence(40),
      algorithm: sentence(25),
      family: pick(FAMILIES),
      tags: [pick(TAGS), pick(TAGS)],
      params: [],
      useCases: [sentence(10), sentence(10)],
      limitations: [sentence(8)],
      kernelApi: { minKernel: '6.12', kfuncs: [], ops: [] },
      source: `${name}.bpf.c`,
    });
    mkdirSync(join(seedDir, name), { recursive: true });
    writeFileSync(join(seedDir, name, 'entry.json'), JSON.stringify(entry));
    writeFileSync(join(seedDir, name, `${name}.bpf.c`), source);
  }
  cpSync(join(repoRoot, 'library', 'questions'), join(seedDir, 'questions'), { recursive: true }); // the shipped past questions vote too
  const history: HistoryRecord[] = Array.from({ length: n * 3 }, (_, i) => ({
    id: String(i),
    entry: `sched_${Math.floor(rnd() * n)}`,
    params: {},
    target: 'sandbox' as const,
    workload: { name: `w${i}`, fingerprint: fingerprint() },
    metrics: { makespan_ms: 500 + rnd() * 1000 },
    baseline: { makespan_ms: 1000 },
    outcome: pick(['improved', 'regressed', 'neutral'] as const),
    at: new Date().toISOString(),
  }));
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'db.json'), JSON.stringify({ ...emptyDb(), history }));
  const t0 = performance.now();
  const store = await LibraryStore.open({ dir: lib, seedDir });
  return { store, openMs: performance.now() - t0 };
}

const QUERIES = 200;
const rows: (string | number)[][] = [];
for (const n of [100, 1000]) {
  const root = mkdtempSync(join(tmpdir(), 'scx-search-bench-'));
  try {
    const { store, openMs } = await makeLibrary(root, n);
    const c0 = performance.now();
    await searchLibrary(store, { query: 'warm up: builds the text index once, as the first search of a server does' });
    const cold = performance.now() - c0;
    const times: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const q = { query: sentence(8), tags: [pick(TAGS)], fingerprint: fingerprint(), limit: 5 };
      const t0 = performance.now();
      await searchLibrary(store, q);
      times.push(performance.now() - t0);
    }
    const s = summarize(times);
    const sorted = [...times].sort((a, b) => a - b);
    rows.push([
      `${n} entries, ${store.history().length} results`,
      s.n,
      s.median.toFixed(2),
      sorted[Math.floor(0.95 * sorted.length)]!.toFixed(2),
      s.max.toFixed(2),
      cold.toFixed(1),
      (openMs / 1000).toFixed(1),
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
console.log(`\nsearch_library latency (ms): searchLibrary(store, {query, tags, fingerprint}) on a library opened from disk, ${QUERIES} queries each\n`);
console.log(formatTable(['library', 'queries', 'p50', 'p95', 'max', 'first (index build)', 'open+seed (s)'], rows));
const p50at1000 = Number(rows.at(-1)![2]);
console.log(`\ntarget p50 < 20 ms at 1,000 entries: ${p50at1000 < 20 ? 'met' : 'NOT met'} (${p50at1000} ms)`);

// precision@1 on the labelled sets, against the seed library (a fresh copy)
const proot = mkdtempSync(join(tmpdir(), 'scx-search-precision-'));
try {
  const store = await LibraryStore.open({ dir: join(proot, 'lib'), seedDir: join(repoRoot, 'library') });
  const prows: (string | number)[][] = [];
  let heldMisses: Awaited<ReturnType<typeof precisionAt1>>['misses'] = [];
  for (const set of LABELLED_SETS) {
    const p = await precisionAt1(store, loadLabelled(set), set);
    prows.push([
      SET_NOTES[set]?.label ?? set,
      p.n,
      p.text.toFixed(2),
      p.objectiveGuessed.toFixed(2),
      p.withObjective.toFixed(2),
      p.withObjectiveTop3.toFixed(2),
    ]);
    if (set === TARGET_SET) heldMisses = p.misses;
  }
  console.log('\nsearch_library precision@1 on the labelled sets (seed library):\n');
  console.log(formatTable(['set', 'items', 'text alone', 'objective guessed right', 'objective given', 'objective given, in the first 3'], prows));
  const held = prows[LABELLED_SETS.indexOf(TARGET_SET)]!;
  console.log(
    '\n' +
      Object.entries(SET_NOTES)
        .map(([set, n]) => `${set}: ${n.note}`)
        .join('\n'),
  );
  console.log(
    `\ntargets on the real-question held-out set (${TARGET_SET}): text alone >= 0.9: ${Number(held[2]) >= 0.9 ? 'met' : 'NOT met'} (${held[2]}); objective given 1.0: ${Number(held[4]) >= 1 ? 'met' : 'NOT met'} (${held[4]})`,
  );
  for (const m of heldMisses)
    console.log(`  held-out miss (${m.mode}): want ${m.want}, got ${m.got}, objective ${m.guessed ?? 'not guessed'}: "${m.description.slice(0, 90)}"`);

  // the same sets with each question read by a model (what a client that lends its model gets), on recorded answers
  if (existsSync(READINGS_PATH)) {
    const recorded = RecordedReadings.parse(JSON.parse(readFileSync(READINGS_PATH, 'utf8')));
    const sets = LABELLED_SETS.filter((set) => recorded.items.some((x) => x.id.startsWith(`${set}:`)));
    const rrows: (string | number)[][] = [];
    const misses: string[] = [];
    for (const set of sets) {
      const p = await precisionRead(store, loadLabelled(set), set, recorded);
      rrows.push([
        SET_NOTES[set]?.label ?? set,
        p.n,
        p.text.toFixed(2),
        p.objectiveRead.toFixed(2),
        p.withObjective.toFixed(2),
        p.withObjectiveTop3.toFixed(2),
        p.unanswered,
        p.refused,
      ]);
      if (set === TARGET_SET) for (const m of p.misses) misses.push(`  read miss (${m.mode}): want ${m.want}, got ${m.got}: "${m.description.slice(0, 90)}"`);
    }
    console.log(`
precision@1 with the question read by a model (sampling), on ${recorded.model}'s recorded answers (${READINGS_PATH.replace(repoRoot + '/', '')}):
`);
    console.log(
      formatTable(
        [
          'set',
          'items',
          'read: text alone',
          "model's objective right",
          'read: objective given',
          'read: objective given, in the first 3',
          'unanswered requests',
          'answers refused',
        ],
        rrows,
      ),
    );
    console.log(misses.join('\n'));
  }
} finally {
  rmSync(proot, { recursive: true, force: true });
}
