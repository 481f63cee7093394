/**
 * Side-by-side benchmark of builds on a fixture, for the benchmark_schedulers tool: the kernel
 * default and each build in one sandbox boot, repeats interleaved (runner.ts), with bounds,
 * the simulator's predicted ranking, a chart, a markdown section, and (for library builds) the
 * medians recorded in the library history against the kernel default's medians.
 */
import type { JobHints } from '../job-hints.js';
import { learnedHints, recordJobs } from '../learned-lengths.js';
import type { KernelInfo } from '../kernel/fetch.js';
import { ScxError } from '../errors.js';
import type { HistoryInput, LibraryStore } from '../library/store.js';
import { buildPaths, buildSource, getBuild, type BuildRecord } from '../builds/build.js';
import { chartForResult, markdownSection } from './report.js';
import { runBenchmark, type BenchmarkResult, type Candidate, type WorkloadProfile } from './runner.js';
import { isScxBuild, scxCommand } from '../builds/scx-build.js';
import { simPolicyFor, type Workload } from './workloads.js';

export interface CompareOptions {
  kernel: KernelInfo;
  store: LibraryStore;
  workload: Workload;
  buildIds: string[];
  repeats: number;
  /** Record each library build's medians in the library history (default true). */
  record?: boolean;
  /** Job hints for the builds that read them (a job_hints map in their source): fed through scx-job-hints. */
  hints?: JobHints;
  /**
   * Learned lengths (core/learned-lengths.ts) under this name for a recurring batch: builds with the
   * job-length core's exec half (job_lens) record each run's programs and CPU times under it, and,
   * when no hints are given, get the lengths earlier runs recorded as argv hints.
   */
  learnScope?: string;
  signal?: AbortSignal;
  onProgress?: (message: string, done: number, total: number) => void;
  log?: (line: string) => void;
}

export interface CompareResult {
  result: BenchmarkResult;
  chartSvg: string;
  markdown: string;
  recorded: { policy: string; entry: string; recordId: string; outcome: string }[];
  /** Where the job hints came from: given by the caller, learned from earlier runs of learnScope, or none. */
  hints: { from: 'given' | 'learned' | 'none'; rules: number; learnedNow: number };
}

/** How a history record names a benchmark's workload (a fixture, or the command itself), with the fingerprint the benchmark measured. */
export function historyWorkload(
  w: Pick<Workload, 'id' | 'title' | 'description' | 'params'>,
  profile: WorkloadProfile | null | undefined,
): HistoryInput['workload'] {
  const command = w.id === 'command' && typeof w.params.command === 'string' ? w.params.command : `fixture ${w.id}`;
  return { name: w.title, description: w.description, command, ...(profile?.fingerprint ? { fingerprint: profile.fingerprint } : {}) };
}

/**
 * The library history a benchmark makes: per library policy, its medians against the kernel
 * default's medians in the same boot, on the workload as profiled (pure; benchmark_schedulers
 * records these, `npm run bench` writes them into the seed library).
 */
export function benchmarkHistory(
  result: Pick<BenchmarkResult, 'workload' | 'policies' | 'profile'> & { workload: { description: string } },
  library: { policy: string; entry: string; params: Record<string, number | boolean>; buildId?: string; version?: number }[],
  by: string,
): { policy: string; record: HistoryInput }[] {
  const w = result.workload;
  const def = result.policies.find((p) => p.isDefault);
  const medians = (p: BenchmarkResult['policies'][number]) =>
    Object.fromEntries(
      Object.values(p.metrics)
        .filter((m) => m.n > 0)
        .map((m) => [m.key, m.median]),
    );
  const baseline = def ? medians(def) : {};
  const out: { policy: string; record: HistoryInput }[] = [];
  for (const l of library) {
    const p = result.policies.find((x) => x.name === l.policy);
    if (!p) continue;
    const metrics = medians(p);
    const failed = !Object.keys(metrics).length;
    out.push({
      policy: l.policy,
      record: {
        entry: l.entry,
        ...(l.buildId ? { buildId: l.buildId } : {}),
        ...(l.version ? { version: l.version } : {}),
        params: l.params,
        target: 'sandbox',
        workload: historyWorkload(w, result.profile),
        metrics,
        ...(failed || !Object.keys(baseline).length ? {} : { baseline }),
        better: Object.fromEntries(w.metrics.map((m) => [m.key, m.better])),
        primary: w.primary,
        ...(failed ? { outcome: 'failed' as const } : {}),
        note: `${by}: median of ${p.metrics[w.primary]?.n ?? 0} run(s)${p.failures.length ? `; ${p.failures.length} failed: ${p.failures[0]!.message}` : ''}`,
      },
    });
  }
  return out;
}

/** A readable, unique name per build: the entry (or ops) name, with the build id when it repeats. */
export function candidateNames(builds: Pick<BuildRecord, 'id' | 'name' | 'origin'>[]): string[] {
  const base = builds.map((b) => b.origin.entry ?? b.name);
  return base.map((n, i) => (base.filter((x) => x === n).length > 1 || n === 'default' ? `${n}@${builds[i]!.id.slice(0, 6)}` : n));
}

export async function compareBuilds(o: CompareOptions): Promise<CompareResult> {
  if (!o.buildIds.length) throw new ScxError('BAD_INPUT', 'no builds to compare', 'build_scheduler first, then pass the buildIds');
  if (new Set(o.buildIds).size !== o.buildIds.length) throw new ScxError('BAD_INPUT', 'a build is listed twice');
  const builds = await Promise.all(o.buildIds.map((id) => getBuild(id)));
  for (const b of builds) {
    if (!b.ok)
      throw new ScxError(
        'BAD_INPUT',
        `build ${b.id} (${b.name}) did not compile (stopped at ${b.stage})`,
        'fix it and build again; only built schedulers can be benchmarked',
      );
    if (b.verification?.verdict === 'fail')
      throw new ScxError(
        'BAD_INPUT',
        `build ${b.id} (${b.name}) failed verify_bpf: ${b.verification.reasons.join('; ')}`,
        'benchmark schedulers that pass verification',
      );
  }
  const names = candidateNames(builds);
  const learned = !o.hints && o.learnScope ? await learnedHints(o.learnScope) : [];
  const hintsFrom: CompareResult['hints']['from'] = o.hints ? 'given' : learned.length ? 'learned' : 'none';
  const candidates: Candidate[] = [];
  for (const [i, b] of builds.entries()) {
    let family: string | undefined;
    // the slice the build runs with: its own parameter, else the entry's default (the simulator's quantum)
    let slice = typeof b.params.slice_us === 'number' ? b.params.slice_us : undefined;
    if (b.origin.entry && o.store.has(b.origin.entry)) {
      const { entry } = await o.store.get(b.origin.entry);
      family = entry.family;
      const def = entry.params.find((p) => p.name === 'slice_us')?.default;
      if (slice === undefined && typeof def === 'number') slice = def;
    }
    const scx = isScxBuild(b) ? scxCommand(b) : null;
    const src = scx ? '' : await buildSource(b.id, b).catch(() => '');
    const hinted = !!o.hints && /\bjob_hints\b/.test(src);
    const execHalf = /\bjob_lens\b/.test(src) || /scx_joblen\.bpf\.h/.test(src);
    const hints = hinted ? o.hints : execHalf && learned.length ? learned : undefined;
    candidates.push({
      name: names[i]!,
      object: scx ? scx.binary : buildPaths(b.id).object,
      ...(scx ? { scx } : {}),
      ...(hints ? { hints } : {}),
      ...(o.learnScope && execHalf ? { learn: true } : {}),
      sim: family ? simPolicyFor(family, slice) : null,
      source: `build ${b.id}${b.origin.entry ? ` (library/${b.origin.entry}${b.origin.kind === 'patch' ? ', patched' : ''})` : ''}${Object.keys(b.params).length ? ` ${JSON.stringify(b.params)}` : ''}`,
    });
  }
  const result = await runBenchmark({
    workload: o.workload,
    candidates,
    repeats: o.repeats,
    hostProbe: null,
    log: o.log,
    profile: true,
    sessionOptions: { kernel: o.kernel },
    onProgress: (p) => {
      if (o.signal?.aborted) throw new ScxError('BAD_INPUT', 'benchmark cancelled');
      if (p.phase === 'run') o.onProgress?.(p.message, p.done, p.total);
    },
  });
  const recorded: CompareResult['recorded'] = [];
  if (o.record !== false) {
    const library = builds.flatMap((b, i) =>
      b.origin.entry && o.store.has(b.origin.entry) ? [{ policy: names[i]!, entry: b.origin.entry, params: b.params, buildId: b.id }] : [],
    );
    for (const { policy, record } of benchmarkHistory(result, library, 'benchmark_schedulers')) {
      const rec = await o.store.recordResult(record);
      recorded.push({ policy, entry: record.entry, recordId: rec.id, outcome: rec.outcome });
    }
  }
  let learnedNow = 0;
  if (o.learnScope) {
    for (const r of result.policies.flatMap((p) => p.runs)) if (r.jobs?.length) learnedNow += (await recordJobs(o.learnScope, r.jobs)).recorded;
  }
  const rules = o.hints ? (Array.isArray(o.hints) ? o.hints.length : Object.keys(o.hints).length) : learned.length;
  return { result, chartSvg: chartForResult(result), markdown: markdownSection(result), recorded, hints: { from: hintsFrom, rules, learnedNow } };
}
