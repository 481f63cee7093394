/**
 * npm run bench [-- --quick] [--repeats N] [--only WORKLOAD[,WORKLOAD]] [--policies a,b] [--cyclictest]
 *               [--wait-quiet S] [--out docs/results.md] [--no-write] [--no-tuned] [--no-seed]
 *
 * Builds the workload fixtures and the schedulers (the FIFO template and the library's ljf, sjf,
 * interactive, vtime_fair, rr when they exist and compile; sched-ext/scx's scx_* binaries that set-up
 * installed, with their own defaults), boots one sandbox VM and runs every
 * workload under the kernel default and each scheduler, repeats interleaved. Prints a table per
 * workload and writes docs/results.md, docs/results/<workload>.svg and docs/results/results.json.
 *
 * Workloads (ids for --only): batch-join, batch-hash (uneven batch 1x39,39x1), wakeup (wakebench
 * beside CPU hogs), build (buildsim -j2), hackbench; cyclictest with --cyclictest (slow).
 * --quick: one repeat, tiny sizes (a CI smoke run: a few minutes). --wait-quiet S: before each run,
 * wait up to S seconds while another QEMU VM runs on the host (they share its CPUs).
 * Tuned parameter sets from `npm run bench:tune` (docs/results/tuning.json) run as "<entry>+tuned"
 * beside their library default on the workload they were tuned for (--no-tuned: leave them out).
 * Each library scheduler's medians against the kernel default's, with the fixture's fingerprint
 * (profiled in the same boot), go into library/<name>/history.json (replacing that file's records
 * of the same fixtures): the seed library ships measured results, so search_library's history part
 * works from the first query (--no-seed, --quick or --no-write: leave the seed library alone).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { ensureKernel, type KernelInfo } from '../kernel/fetch.js';
import { cacheDir, repoRoot, stateDir, templatesDir } from '../paths.js';
import { compileBpf } from '../toolchain/compile.js';
import { toHistoryRecord, type HistoryRecord } from '../library/history.js';
import { benchmarkHistory } from './compare.js';
import { otherQemuVms, runBenchmark, SandboxPool, type BenchmarkResult, type Candidate } from './runner.js';
import { installedScxEntries, scxCandidate } from './scx-candidates.js';
import { peerSection } from './scx-peers.js';
import type { LibraryEntry as FullLibraryEntry } from '../model/entry.js';
import { chartForResult, extractAnalysis, jsonReport, markdownReport, textReport, type ReportMeta } from './report.js';
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

interface LibraryEntry {
  name: string;
  family?: string;
  source?: string;
  params?: { name: string; default: number | boolean }[];
}

export interface BuiltScheduler {
  candidate: Candidate;
  /** Why it is not in the benchmark (did not compile, missing). */
  skipped?: string;
}

/** Compile the FIFO template and the chosen library schedulers; those that do not compile are reported, not benchmarked. */
export async function buildSchedulers(kernel: KernelInfo, names: readonly string[], o: { unitMs: number; useLoader: boolean; log: (s: string) => void }): Promise<BuiltScheduler[]> {
  const outDir = join(stateDir(), 'builds', 'bench');
  const out: BuiltScheduler[] = [];
  for (const name of names) {
    let source: string;
    let entry: LibraryEntry | null = null;
    let label: string;
    if (name === 'fifo') {
      source = join(templatesDir, 'fifo', 'fifo.bpf.c');
      entry = { name: 'fifo', family: 'fifo', params: [{ name: 'slice_us', default: 5000 }] };
      // the template's slice (SCX_PARAM default) is what bpftool loads
      const m = /SCX_PARAM\(u64,\s*slice_us,\s*(\d+)\)/.exec(readFileSync(source, 'utf8'));
      if (m) entry.params = [{ name: 'slice_us', default: Number(m[1]) }];
      label = 'bpf-templates/fifo';
    } else {
      const dir = join(repoRoot, 'library', name);
      const ej = join(dir, 'entry.json');
      if (!existsSync(ej)) {
        out.push({ candidate: { name, object: '' }, skipped: `library/${name} does not exist` });
        continue;
      }
      try {
        entry = JSON.parse(readFileSync(ej, 'utf8')) as LibraryEntry;
      } catch (e) {
        out.push({ candidate: { name, object: '' }, skipped: `library/${name}/entry.json is not valid JSON: ${(e as Error).message}` });
        continue;
      }
      if ((entry as { kind?: string }).kind === 'scx') {
        // a sched-ext/scx binary: nothing to compile, run with its own defaults (core/bench/scx-candidates.ts)
        const c = scxCandidate(entry as unknown as FullLibraryEntry);
        out.push(c);
        o.log(c.skipped ? `not benchmarked: ${c.skipped}` : `scx binary ${c.candidate.object}`);
        continue;
      }
      source = join(dir, entry.source ?? `${name}.bpf.c`);
      label = `library/${name}`;
    }
    const object = join(outDir, `${name}.bpf.o`);
    try {
      const r = await compileBpf({ source, out: object, kernel });
      if (!r.ok) {
        const d = r.diagnostics.find((x) => x.severity === 'error');
        out.push({ candidate: { name, object }, skipped: `${label} does not compile${d ? `: ${d.file}:${d.line}: ${d.message}` : ''}` });
        continue;
      }
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
        name, object, source: label + (params ? ` (unit_us=${params.unit_us})` : ''),
        via: o.useLoader && name !== 'fifo' ? 'loader' : 'bpftool',
        ...(params ? { params } : {}),
        sim: simPolicyFor(entry.family, typeof slice === 'number' ? slice : undefined),
      },
    });
    o.log(`built ${label}`);
  }
  return out;
}

/** Samples the host for load that is not ours (other QEMU VMs) and the load average. */
class ContentionMonitor {
  private timer: NodeJS.Timeout | undefined;
  private samples = 0;
  private withOtherVm = 0;
  private maxOtherVms = 0;
  private loads: number[] = [];

  start(intervalMs = 10_000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const others = otherQemuVms();
    this.samples++;
    if (others > 0) this.withOtherVm++;
    this.maxOtherVms = Math.max(this.maxOtherVms, others);
    this.loads.push(loadavg()[0]!);
  }

  summary(): string {
    if (!this.samples) return 'not measured';
    const sorted = [...this.loads].sort((a, b) => a - b);
    const mid = sorted[sorted.length >> 1] ?? 0;
    const vm = this.withOtherVm
      ? `another QEMU VM (not this benchmark's) was running in ${this.withOtherVm} of ${this.samples} samples taken every 10 s (up to ${this.maxOtherVms} at once)`
      : `no other QEMU VM seen in ${this.samples} samples taken every 10 s`;
    return `${vm}; 1-minute load average median ${mid.toFixed(2)}, max ${Math.max(...this.loads).toFixed(2)} (this benchmark's own VM keeps it near 2)`;
  }

  get contended(): boolean {
    return this.withOtherVm > 0;
  }
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      only: { type: 'string' },
      policies: { type: 'string' },
      cyclictest: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string' },
      'no-tuned': { type: 'boolean', default: false },
      'no-seed': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*?|^ \* ?/gm, ''));
    return;
  }
  const quick = values.quick!;
  const repeats = values.repeats !== undefined ? Number(values.repeats) : undefined;
  if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1)) throw new Error('--repeats takes a whole number >= 1');
  const waitQuietS = values['wait-quiet'] !== undefined ? Number(values['wait-quiet']) : 0;
  if (!(waitQuietS >= 0)) throw new Error('--wait-quiet takes seconds >= 0');
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const plan = benchPlan({ quick, repeats, only, cyclictest: values.cyclictest });
  if (!plan.workloads.length) throw new Error(`--only ${values.only} matches no workload (batch-join, batch-hash, wakeup, build, hackbench, cyclictest)`);
  // sched-ext/scx's schedulers that set-up installed run in every benchmark, beside ours (issue 17)
  const policyNames = values.policies?.split(',').map((s) => s.trim()).filter(Boolean) ?? ['fifo', ...PREFERRED_LIBRARY, ...installedScxEntries()];
  const outMd = values.out ?? join(repoRoot, 'docs', 'results.md');
  const chartDir = join(dirname(outMd), 'results');
  const t0 = performance.now();
  const say = (s: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

  say('building workload fixtures (make -C fixtures/workloads)');
  await execa('make', ['-C', join(repoRoot, 'fixtures', 'workloads')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const kernel = await ensureKernel({ log: say });
  const useLoader = existsSync(join(cacheDir(), 'sched-rust-target', 'release', 'scx-loader'));
  const built = await buildSchedulers(kernel, policyNames, { unitMs: plan.batchUnitMs, useLoader, log: say });
  const candidates = built.filter((b) => !b.skipped).map((b) => b.candidate);
  const skipped = built.filter((b) => b.skipped).map((b) => b.skipped!);
  for (const s of skipped) say(`not benchmarked: ${s}`);
  say(`policies: default, ${candidates.map((c) => c.name).join(', ')}; workloads: ${plan.workloads.map((w) => w.id).join(', ')}; ${plan.repeats} repeat(s)`);

  // the tuned parameter sets of `npm run bench:tune`, each beside its library default on the
  // workload it was tuned for (same object, the tuned --param values)
  const tunedFor = new Map<string, Candidate[]>();
  const tuningFile = join(repoRoot, 'docs', 'results', 'tuning.json');
  if (useLoader && !values['no-tuned'] && existsSync(tuningFile)) {
    const tuned = JSON.parse(readFileSync(tuningFile, 'utf8')) as { entry: string; workload: { id: string }; best: { params: Record<string, number | boolean> } | null; defaults: { params: Record<string, number | boolean> } }[];
    for (const t of tuned) {
      if (!t.best || JSON.stringify(t.best.params) === JSON.stringify(t.defaults.params) || !plan.workloads.some((w) => w.id === t.workload.id)) continue;
      let base = candidates.find((c) => c.name === t.entry);
      if (!base) base = (await buildSchedulers(kernel, [t.entry], { unitMs: plan.batchUnitMs, useLoader, log: say }))[0]?.candidate;
      if (!base?.object) continue;
      const list = tunedFor.get(t.workload.id) ?? [];
      list.push({ ...base, name: `${t.entry}+tuned`, params: t.best.params, source: `library/${t.entry} with tuned ${JSON.stringify(t.best.params)} (docs/tuning.md)` });
      tunedFor.set(t.workload.id, list);
      say(`${t.entry}+tuned on ${t.workload.id}: ${JSON.stringify(t.best.params)}`);
    }
  }

  const monitor = new ContentionMonitor();
  monitor.start();
  const results: BenchmarkResult[] = [];
  const ran: { result: BenchmarkResult; candidates: Candidate[] }[] = [];
  const pool = new SandboxPool({ cpus: 2, log: say });
  try {
    for (const w of plan.workloads) {
      const these = withTuned(candidates, tunedFor.get(w.id) ?? []);
      const r = await runBenchmark({
        workload: w, candidates: these, repeats: plan.repeats, sessions: pool, waitQuietS, profile: true,
        onProgress: (p) => {
          if (p.phase === 'run') say(`[${p.done + 1}/${p.total}] ${p.message}`);
        },
        log: say,
      });
      results.push(r);
      ran.push({ result: r, candidates: these });
      console.log(`\n${textReport(r)}\n`);
    }
  } finally {
    await pool.close();
    monitor.stop();
  }

  const env = results.find((r) => r.environment.kernel)?.environment;
  const notes: string[] = [];
  if (useLoader) notes.push(`Library schedulers were loaded with scx-loader (sched-rust); schedulers with a \`unit_us\` parameter got unit_us=${plan.batchUnitMs * 1000} to match the batch's unit. The FIFO template was loaded with bpftool.`);
  else notes.push('scx-loader was not built: every scheduler was loaded with bpftool at its default parameters (unit_us defaults may not match the batch unit).');
  for (const s of skipped) notes.push(`Not benchmarked: ${s}.`);
  if (monitor.contended) notes.push('Measured while other QEMU VMs shared this 2-core host (see "other load on the host" and the per-policy count of runs beside another VM): absolute times are inflated and noisier than on an idle machine; the interleaved order spreads that over all policies, but a single run can still land in a busy or a quiet moment.');
  const restarts = results.reduce((n, r) => n + r.restarts, 0);
  if (restarts) notes.push(`The sandbox VM crashed ${restarts} time(s) and was rebooted (same calibration, same work); the policy running at the time got no further runs — see the failures of each workload.`);
  const meta: ReportMeta = {
    date: new Date().toISOString(),
    command: `node dist/core/bench/run-bench.js${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    hostCpus: env?.hostCpus ?? 0, hostModel: env?.hostModel ?? 'unknown',
    kernel: env?.kernel ?? null, accelerator: env?.accelerator ?? null, acceleratorReason: env?.acceleratorReason ?? null, guestCpus: env?.guestCpus ?? null,
    durationMs: Math.round(performance.now() - t0), contention: monitor.summary(), repeats: plan.repeats, quick, notes,
  };
  if (values['no-write']) return;
  await mkdir(chartDir, { recursive: true });
  const charts: Record<string, string> = {};
  for (const r of results) {
    const file = join(chartDir, `${r.workload.id}.svg`);
    await writeFile(file, chartForResult(r));
    charts[r.workload.id] = relative(dirname(outMd), file);
  }
  await writeFile(join(chartDir, 'results.json'), jsonReport(results, meta));
  const previous = existsSync(outMd) ? extractAnalysis(readFileSync(outMd, 'utf8')) : null;
  // the side-by-side with sched-ext/scx's schedulers, when they ran (core/bench/scx-peers.ts)
  const peers = peerSection(results, (n) => ran.some((x) => x.candidates.some((c) => c.name === n && c.scx)));
  await writeFile(outMd, markdownReport(results, meta, charts, previous) + (peers ? `\n${peers}` : ''));
  say(`wrote ${relative(process.cwd(), outMd)} and ${relative(process.cwd(), chartDir)}/ (${readdirSync(chartDir).length} files)`);
  if (quick || values['no-seed']) return;
  for (const [entry, n] of Object.entries(await writeSeedHistory(ran, meta.date))) say(`library/${entry}/history.json: ${n} result(s) from this run`);
}

/**
 * The library schedulers' results of this run into library/<entry>/history.json. Candidates are
 * library entries by name, or "<entry>+tuned" (the tuned parameters); the FIFO template is not a
 * library entry. Records of other fixtures stay; ids are derived from the run, so reopening a
 * library imports each once.
 */
export async function writeSeedHistory(runs: { result: BenchmarkResult; candidates: Candidate[] }[], date: string, libraryDir = join(repoRoot, 'library')): Promise<Record<string, number>> {
  const byEntry = new Map<string, { fixtures: Set<string>; records: HistoryRecord[] }>(); // fixtures: the workloads' commands as recorded
  for (const { result: r, candidates } of runs) {
    const library = candidates.flatMap((c) => {
      const entry = c.name.replace(/\+tuned$/, '');
      const ej = join(libraryDir, entry, 'entry.json');
      if (!c.source?.startsWith(`library/${entry}`) || !existsSync(ej)) return [];
      const version = (JSON.parse(readFileSync(ej, 'utf8')) as { version?: number }).version ?? 1;
      return [{ policy: c.name, entry, params: c.params ?? {}, version }];
    });
    for (const { policy, record: h } of benchmarkHistory(r, library, `npm run bench (${date})`)) {
      const id = `seed-${createHash('sha256').update(`${date}|${r.workload.id}|${policy}`).digest('hex').slice(0, 16)}`;
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

// run only as the entry point (the module is imported by tests for benchPlan)
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
