/**
 * The benchmark suite behind `npm run bench` (bin/run-bench.ts): which workloads and schedulers
 * it runs (benchPlan), building the schedulers (buildSchedulers), tuned parameter sets beside
 * their defaults (withTuned), and the seed library's measured history (writeSeedHistory).
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { KernelInfo } from '../kernel/fetch.js';
import { repoRoot, templatesDir } from '../paths.js';
import { buildPaths, buildScheduler } from '../builds/build.js';
import { SEED_RESULT_PREFIX, toHistoryRecord, type HistoryRecord } from '../library/history.js';
import { benchmarkHistory } from './compare.js';
import type { BenchmarkResult, Candidate } from './runner.js';
import { readSeedEntry, scxCandidate, seedEntry } from './scx-candidates.js';
import type { LibraryEntry } from '../model/entry.js';
import { sha256Hex } from '../model/hash.js';
import { fixtureWorkload, simPolicyFor, type FixtureId, type Workload } from './workloads.js';

/** Library schedulers benchmarked by default, in this order (those that exist and compile). */
export const PREFERRED_LIBRARY = ['ljf', 'sjf', 'interactive', 'vtime_fair', 'rr'] as const;

export interface BenchPlan {
  workloads: Workload[];
  repeats: number;
  /** Unit length of the batch fixtures (ms); passed to schedulers that read sizes from names (unit_us). */
  batchUnitMs: number;
}

/** The workloads of a full or a quick run. */
export function benchPlan(o: { quick: boolean; repeats?: number; only?: string[]; cyclictest?: boolean }): BenchPlan {
  const unitMs = o.quick ? 10 : 50;
  // one long job of 39 units and 39 of 1: the default shares the CPUs and leaves the long job
  // for last; the makespan bound is the long job alone (39 units), the SPT optimum far lower
  const ids: FixtureId[] = o.quick ? ['batch-join', 'wakeup', 'build', 'hackbench'] : ['batch-join', 'batch-hash', 'wakeup', 'build', 'hackbench'];
  if (o.cyclictest || o.only?.includes('cyclictest')) ids.push('cyclictest');
  const all = ids.map((id) => fixtureWorkload(id, { quick: o.quick, batchUnitMs: unitMs }));
  const workloads = o.only?.length ? all.filter((w) => o.only!.includes(w.id)) : all;
  return { workloads, repeats: o.repeats ?? (o.quick ? 1 : 3), batchUnitMs: unitMs };
}

/** What the benchmark reads of an entry: the FIFO template has none of its own, so it is made up here. */
type BenchEntry = Pick<LibraryEntry, 'name' | 'family'> & { source?: string; params?: { name: string; default: unknown }[]; version?: number };

export interface BuiltScheduler {
  candidate: Candidate;
  /** Why it is not in the benchmark (did not compile, missing). */
  skipped?: string;
}

/** Compile the FIFO template and the chosen library schedulers; those that do not compile are reported, not benchmarked. */
export async function buildSchedulers(
  kernel: KernelInfo,
  names: readonly string[],
  o: { unitMs: number; useLoader: boolean; log: (s: string) => void },
): Promise<BuiltScheduler[]> {
  const out: BuiltScheduler[] = [];
  for (const name of names) {
    let source: string;
    let entry: BenchEntry;
    let label: string;
    if (name === 'fifo') {
      source = join(templatesDir, 'fifo', 'fifo.bpf.c');
      entry = { name: 'fifo', family: 'fifo', params: [{ name: 'slice_us', default: 20000 }] };
      // the template's slice (SCX_PARAM default) is what the loader loads without --param
      const m = /SCX_PARAM\(u64,\s*slice_us,\s*(\d+)\)/.exec(readFileSync(source, 'utf8'));
      if (m) entry.params = [{ name: 'slice_us', default: Number(m[1]) }];
      label = 'bpf-templates/fifo';
    } else {
      const read = readSeedEntry(name);
      if (!read.entry) {
        out.push({ candidate: { name, object: '' }, skipped: read.why });
        continue;
      }
      if (read.entry.kind === 'scx') {
        // a sched-ext/scx binary: nothing to compile, run with its own defaults (core/bench/scx-candidates.ts)
        const c = scxCandidate(read.entry);
        out.push(c);
        o.log(c.skipped ? `not benchmarked: ${c.skipped}` : `scx binary ${c.candidate.object}`);
        continue;
      }
      entry = read.entry;
      source = join(repoRoot, 'library', name, read.entry.source ?? `${name}.bpf.c`);
      label = `library/${name}`;
    }
    // built like build_scheduler builds it: static analysis, clang, a build id (core/builds)
    let object = '';
    try {
      const rec = await buildScheduler({
        source: readFileSync(source, 'utf8'),
        fileName: basename(source),
        origin: name === 'fifo' ? { kind: 'path', path: source } : { kind: 'library', entry: name, version: entry.version ?? 1 },
        kernel,
      });
      if (!rec.ok) {
        const f = rec.findings.find((x) => x.severity === 'error');
        const d = rec.diagnostics.find((x) => x.severity === 'error');
        const why =
          rec.stage === 'static'
            ? `stops at static analysis${f ? `: ${f.file}:${f.line}: ${f.message}` : ''}`
            : `does not compile${d ? `: ${d.file}:${d.line}: ${d.message}` : ''}`;
        out.push({ candidate: { name, object }, skipped: `${label} ${why} (build ${rec.id})` });
        continue;
      }
      object = buildPaths(rec.id).object;
    } catch (e) {
      out.push({ candidate: { name, object }, skipped: `${label}: ${(e as Error).message}` });
      continue;
    }
    const slice = entry.params?.find((p) => p.name === 'slice_us')?.default;
    const hasUnit = entry.params?.some((p) => p.name === 'unit_us');
    // schedulers that read job sizes from task names need the unit the batch runs use
    const params = o.useLoader && hasUnit ? { unit_us: o.unitMs * 1000 } : undefined;
    out.push({
      candidate: {
        name,
        object,
        source: label + (params ? ` (unit_us=${params.unit_us})` : ''),
        ...(params ? { params } : {}),
        sim: simPolicyFor(entry.family, typeof slice === 'number' ? slice : undefined),
      },
    });
    o.log(`built ${label}`);
  }
  return out;
}

/** The candidates with each tuned variant right after its library default. */
export function withTuned(candidates: Candidate[], tuned: Candidate[]): Candidate[] {
  const out: Candidate[] = [];
  for (const c of candidates) {
    out.push(c);
    out.push(...tuned.filter((t) => t.name === `${c.name}+tuned`));
  }
  return [...out, ...tuned.filter((t) => !out.includes(t))];
}

/**
 * The library schedulers' results of this run into library/<entry>/history.json. Candidates are
 * library entries by name, or "<entry>+tuned" (the tuned parameters); the FIFO template is not a
 * library entry. Records of other fixtures stay; ids are derived from the run, so reopening a
 * library imports each once.
 */
export async function writeSeedHistory(
  runs: { result: BenchmarkResult; candidates: Candidate[] }[],
  date: string,
  libraryDir = join(repoRoot, 'library'),
): Promise<Record<string, number>> {
  const byEntry = new Map<string, { fixtures: Set<string>; records: HistoryRecord[] }>(); // fixtures: the workloads' commands as recorded
  for (const { result: r, candidates } of runs) {
    const library = candidates.flatMap((c) => {
      const entry = c.name.replace(/\+tuned$/, '');
      const seed = c.source?.startsWith(`library/${entry}`) ? seedEntry(entry, libraryDir) : null;
      if (!seed) return [];
      return [{ policy: c.name, entry, params: c.params ?? {}, version: seed.version ?? 1 }];
    });
    for (const { policy, record: h } of benchmarkHistory(r, library, `npm run bench (${date})`)) {
      const id = `${SEED_RESULT_PREFIX}${sha256Hex(`${date}|${r.workload.id}|${policy}`, 16)}`;
      const e = byEntry.get(h.entry) ?? { fixtures: new Set<string>(), records: [] };
      e.fixtures.add(h.workload.command ?? '');
      e.records.push(toHistoryRecord({ ...h, at: date }, { id, version: h.version ?? 1 }));
      byEntry.set(h.entry, e);
    }
  }
  const written: Record<string, number> = {};
  for (const [entry, { fixtures, records }] of byEntry) {
    const file = join(libraryDir, entry, 'history.json');
    const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HistoryRecord[]) : [];
    const kept = old.filter((x) => !fixtures.has(x.workload.command ?? ''));
    await writeFile(file, JSON.stringify([...kept, ...records], null, 2) + '\n');
    written[entry] = records.length;
  }
  return written;
}
