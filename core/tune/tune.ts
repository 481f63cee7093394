/**
 * Feedback-driven tuning: improve a library scheduler's parameters from measured results, in the
 * sandbox. Successive halving (search.ts) over quasi-random parameter sets; every trial is a real
 * run of the workload under the scheduler loaded through scx-loader with --param, and every rung
 * also runs the kernel default in the same boot (core/bench/runner.ts), so each trial is scored
 * against a reference measured minutes, not hours, away:
 *
 *   score of a run = Σ weight × (value / reference)   (reference / value for higher-is-better)
 *
 * where the reference is the run's own bound when the workload bounds each run (batch: the CPU
 * time its jobs took, which follows TCG's drifting speed exactly) and otherwise the kernel
 * default's median in the same rung. Lower scores are better; 1.0 = as good as the reference.
 *
 * A trial that fails (load, ejection, workload error) or regresses beyond `maxRegressionPct`
 * against the entry's defaults in the same round eliminates its candidate. Every trial is recorded in the library
 * history; the best configuration becomes a named preset of the entry when it beat the defaults.
 */
import type { JobHints } from '../job-hints.js';
import { basename } from 'node:path';
import { ScxError } from '../errors.js';
import type { KernelInfo } from '../kernel/fetch.js';
import { buildPaths, buildScheduler } from '../builds/build.js';
import { asParamSpecs, requireScx, scxArgs } from '../scx/catalog.js';
import type { SandboxSession } from '../sandbox/session.js';
import type { LibraryStore } from '../library/store.js';
import type { ParamSpec } from '../model/entry.js';
import { historyWorkload } from '../bench/compare.js';
import {
  DEFAULT_POLICY,
  runBenchmark,
  SandboxPool,
  type BenchmarkResult,
  type Candidate,
  type SessionSource,
  type Progress,
  type RunRecord,
  type WorkloadProfile,
} from '../bench/runner.js';
import { median, summarize } from '../model/stats.js';
import type { MetricDef, Workload } from '../bench/workloads.js';
import {
  candidates as makeCandidates,
  key,
  planHalving,
  successiveHalving,
  tunableSpace,
  type HalvingResult,
  type ParamSet,
  type Trial,
  type TrialOutcome,
} from './search.js';
import { renderTrialChart } from '../bench/chart.js';

export interface ObjectivePart {
  metric: string;
  weight: number;
}

export interface TuneOptions {
  kernel: KernelInfo;
  store: LibraryStore;
  entry: string;
  workload: Workload;
  objective: ObjectivePart[];
  /** Trials (scheduler runs) at most; the kernel default's reference runs are extra. */
  budget: number;
  /** Wall-clock limit (minutes): no new rung starts after it. */
  minutes?: number;
  /** Values every trial uses (e.g. unit_us of a batch); not searched. */
  fixed?: ParamSet;
  /** Search only these parameters (default: every parameter with a declared range). */
  only?: string[];
  /** Narrower ranges than the declared ones. */
  ranges?: Record<string, { min?: number; max?: number }>;
  /**
   * A trial this much worse than the entry's defaults in the same round (primary metric, %) counts
   * as failed (default 100): the tuner never proposes what regresses from what the user had.
   */
  maxRegressionPct?: number;
  /** Preset name for the best configuration (default tuned-<workload id>). */
  preset?: string;
  seed?: number;
  /** Job hints every trial's scheduler gets (core/job-hints.ts), for entries that read them. */
  hints?: JobHints;
  /** Reuse this VM (the caller owns it; no fresh one after a crash); else a pool boots one, and another after a crash. */
  session?: SandboxSession;
  signal?: AbortSignal;
  onProgress?: (message: string, done: number, total: number) => void;
  log?: (line: string) => void;
}

export interface TrialReport {
  index: number;
  rung: number;
  candidate: number;
  params: ParamSet;
  ok: boolean;
  score: number | null;
  failure: string | null;
  metrics: Record<string, number>;
  /** The kernel default's medians in the same rung. */
  kernelDefault: Record<string, number>;
  recordId: string | null;
}

export interface ConfigSummary {
  params: ParamSet;
  trials: number;
  score: { median: number; min: number; max: number } | null;
  /** Per metric: median, min, max of its counted runs. */
  metrics: Record<string, { median: number; min: number; max: number; n: number }>;
}

export interface TuneResult {
  entry: string;
  /** The build every trial loaded (core/builds: static analysis, clang, an id), with each trial's --param values; null for an scx binary entry. */
  buildId: string | null;
  workload: { id: string; title: string };
  objective: ObjectivePart[];
  searched: { name: string; min: number; max: number; log: boolean; kind: string }[];
  fixed: ParamSet;
  budget: number;
  plannedCandidates: number;
  trialsRun: number;
  kernelDefault: ConfigSummary;
  defaults: ConfigSummary;
  best: ConfigSummary | null;
  /**
   * Of the best over the scheduler's defaults and over the kernel default, on the objective's score
   * (median of the runs' scores; %, positive = better); beyondSpread: every run of the best scored
   * better than every run of the defaults. `metric` is the primary metric (raw values in the summaries).
   */
  improvement: {
    vsDefaultsPct: number | null;
    vsKernelPct: number | null;
    metric: string;
    beyondSpread: boolean;
    /** The raw primary metric, best vs the defaults run in the same round: median of those pairs' improvements (%). */
    pairedPct: number | null;
    pairs: number;
  };
  trials: TrialReport[];
  preset: { name: string; params: ParamSet } | null;
  stopped: string | null;
  environment: { kernel: string | null; accelerator: string | null; guestCpus: number | null };
  /** Fresh VMs booted after crashes, and the runs the emulator's own faults took down (each run again; core/bench lostRuns). */
  sandbox: { restarts: number; lostRuns: string[] };
  /** The workload profiled under the kernel default before the first round: its fingerprint is in every trial's history record. */
  profile: WorkloadProfile | null;
  chartSvg: string;
  durationMs: number;
}

/** The objective's metrics must be the workload's; weights default to 1. */
export function checkObjective(workload: Workload, objective: ObjectivePart[]): MetricDef[] {
  if (!objective.length)
    throw new ScxError('BAD_INPUT', 'the objective names no metric', `metrics of ${workload.id}: ${workload.metrics.map((m) => m.key).join(', ')}`);
  return objective.map((o) => {
    const m = workload.metrics.find((x) => x.key === o.metric);
    if (!m)
      throw new ScxError(
        'BAD_INPUT',
        `workload ${workload.id} has no metric "${o.metric}"`,
        `its metrics: ${workload.metrics.map((x) => `${x.key} (${x.better} is better)`).join(', ')}`,
      );
    if (!(o.weight > 0)) throw new ScxError('BAD_INPUT', `weight of ${o.metric} must be positive, got ${o.weight}`);
    return m;
  });
}

/**
 * The score of one run (lower is better): the weighted mean of each metric relative to its
 * reference (the run's own bound, else the kernel default's median in the same rung).
 */
export function scoreRun(
  metrics: Record<string, number>,
  bounds: Record<string, number>,
  reference: Record<string, number>,
  objective: ObjectivePart[],
  defs: MetricDef[],
): number {
  let sum = 0;
  let wsum = 0;
  objective.forEach((o, i) => {
    const v = metrics[o.metric];
    const ref = bounds[o.metric] ?? reference[o.metric];
    if (v === undefined || ref === undefined || !(ref > 0) || !(v > 0)) {
      sum = Number.NaN;
      return;
    }
    sum += o.weight * (defs[i]!.better === 'lower' ? v / ref : ref / v);
    wsum += o.weight;
  });
  return wsum > 0 ? sum / wsum : Number.NaN;
}

function metricMedians(records: RunRecord[]): Record<string, number> {
  const keys = new Set(records.flatMap((r) => Object.keys(r.sample?.metrics ?? {})));
  const out: Record<string, number> = {};
  for (const k of keys) {
    const vs = records.map((r) => r.sample!.metrics[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (vs.length) out[k] = summarize(vs).median;
  }
  return out;
}

function summarizeConfig(params: ParamSet, runs: { metrics: Record<string, number>; score: number | null }[]): ConfigSummary {
  const metrics: ConfigSummary['metrics'] = {};
  for (const k of new Set(runs.flatMap((r) => Object.keys(r.metrics)))) {
    const s = summarize(runs.map((r) => r.metrics[k]).filter((v): v is number => typeof v === 'number'));
    metrics[k] = { median: s.median, min: s.min, max: s.max, n: s.n };
  }
  const scores = runs.map((r) => r.score).filter((x): x is number => x !== null && Number.isFinite(x));
  const sc = scores.length ? summarize(scores) : null;
  return { params, trials: runs.length, score: sc ? { median: sc.median, min: sc.min, max: sc.max } : null, metrics };
}

type StoreEntry = Awaited<ReturnType<LibraryStore['get']>>['entry'];
type CandidateRuns = { metrics: Record<string, number>; score: number | null }[];

/** What a tuning searches, checked before anything is built: the objective, the parameter space, the halving plan. */
interface TunePlan {
  defs: MetricDef[];
  primary: MetricDef;
  entry: StoreEntry;
  source: string;
  sourcePath: string;
  /** An scx binary (sched-ext/scx) instead of a .bpf.o: its options from its --help, started with arguments instead of --param. */
  scx: ReturnType<typeof requireScx> | null;
  fixed: ParamSet;
  dims: ReturnType<typeof tunableSpace>;
  plan: ReturnType<typeof planHalving>;
  cands: ParamSet[];
  log: (line: string) => void;
}

/** A tuning while it runs: its plan, its VM, and the trials and runs measured so far. */
interface TuneRun {
  o: TuneOptions;
  p: TunePlan;
  /** The build every trial loads with its own --param values (core/builds), null for an scx entry (its binary is started). */
  build: { buildId: string; object: string } | null;
  /** The caller's session, or the tuning's own pool (a fresh VM after a crash, the calibration kept). */
  sessions: SessionSource;
  t0: number;
  deadline: number;
  maxReg: number;
  reports: TrialReport[];
  kernelRuns: { metrics: Record<string, number>; score: number }[];
  runsByCandidate: Map<number, CandidateRuns>;
  env: TuneResult['environment'];
  sandbox: TuneResult['sandbox'];
  profile: WorkloadProfile | null;
  /** Trials finished (for progress). */
  done: number;
}

export async function tuneScheduler(o: TuneOptions): Promise<TuneResult> {
  const t0 = performance.now();
  const p = await planTune(o);
  const build = await buildForTrials(o, p);
  const given = o.session;
  const pool = given ? null : new SandboxPool({ kernel: o.kernel, cpus: 2, log: p.log });
  const t: TuneRun = {
    o,
    p,
    build,
    sessions: pool ?? { get: async () => given!, restartable: false },
    t0,
    deadline: o.minutes ? t0 + o.minutes * 60_000 : Number.POSITIVE_INFINITY,
    maxReg: o.maxRegressionPct ?? 100,
    reports: [],
    kernelRuns: [],
    runsByCandidate: new Map(),
    env: { kernel: null, accelerator: null, guestCpus: null },
    sandbox: { restarts: 0, lostRuns: [] },
    profile: null,
    done: 0,
  };
  try {
    const result = await successiveHalving({
      candidates: p.cands,
      budget: o.budget,
      shouldStop: () => stopReason(t),
      evaluate: (batch, rung) => evaluateRung(t, batch, rung),
    });
    await recordTrials(t);
    return await tuneResult(t, result);
  } finally {
    await pool?.close();
  }
}

/** Check the objective, the entry's parameters and the budget, and plan the candidates and rungs. */
async function planTune(o: TuneOptions): Promise<TunePlan> {
  const defs = checkObjective(o.workload, o.objective);
  const { entry, source, sourcePath } = await o.store.get(o.entry);
  const fixed: ParamSet = { ...(o.fixed ?? {}) };
  // an scx binary (sched-ext/scx): its options from its --help, started with arguments instead of --param
  const scx = entry.kind === 'scx' ? requireScx(entry) : null;
  const specs = scx ? asParamSpecs(scx.params) : entry.params;
  checkValues(specs, fixed);
  const dims = tunableSpace(specs, { fixed, only: o.only, ranges: o.ranges });
  if (!(o.budget >= 2 && o.budget <= 200)) throw new ScxError('BAD_INPUT', `budget must be 2..200 trials, got ${o.budget}`, 'about 20 trials is a good budget');
  const plan = planHalving(o.budget);
  const cands = makeCandidates(dims, plan.n, o.seed ?? 0);
  const log = o.log ?? (() => {});
  log(
    `tuning ${o.entry} on ${o.workload.id}: ${dims.map((d) => `${d.name} ${d.min}..${d.max}${d.log ? ' (log)' : ''}`).join(', ')}; ${cands.length} candidates, rungs ${plan.rungs.join('/')}, at most ${plan.trials} trials`,
  );
  return { defs, primary: defs[0]!, entry, source, sourcePath, scx, fixed, dims, plan, cands, log };
}

/**
 * One build of the entry at its defaults through core/builds (static analysis, clang, a build id:
 * the same as build_scheduler's for the entry), loaded with different --param values. An scx entry
 * needs none: its binary is started.
 */
async function buildForTrials(o: TuneOptions, p: TunePlan): Promise<{ buildId: string; object: string } | null> {
  if (p.scx) return null;
  const rec = await buildScheduler({
    source: p.source,
    fileName: basename(p.sourcePath),
    origin: { kind: 'library', entry: o.entry, version: p.entry.version },
    paramSpecs: p.entry.params,
    kernel: o.kernel,
  });
  if (!rec.ok) {
    const first = rec.findings.find((f) => f.severity === 'error') ?? rec.diagnostics.find((d) => d.severity === 'error');
    throw new ScxError(
      rec.stage === 'static' ? 'BAD_INPUT' : 'COMPILE_FAILED',
      `${o.entry} ${rec.stage === 'static' ? 'stopped at static analysis' : 'does not compile'} (build ${rec.id})${first ? `: ${first.file}:${first.line}: ${first.message}` : ''}`,
      'fix the entry (build_scheduler shows every finding), then tune again',
    );
  }
  p.log(`built ${o.entry} v${p.entry.version} as ${rec.id}`);
  return { buildId: rec.id, object: buildPaths(rec.id).object };
}

function stopReason(t: TuneRun): string | null {
  if (t.o.signal?.aborted) return 'cancelled';
  if (performance.now() > t.deadline) return `the time budget (${t.o.minutes} min) is used up`;
  return null;
}

/** A candidate's parameters with the fixed values every trial uses. */
function withFixed(t: TuneRun, params: ParamSet): ParamSet {
  return { ...t.p.fixed, ...params };
}

/** One rung: the kernel default and the rung's candidates, interleaved in one benchmark; an outcome per candidate. */
async function evaluateRung(t: TuneRun, batch: { id: number; params: ParamSet }[], rung: number): Promise<TrialOutcome[]> {
  const { o, p } = t;
  const r: BenchmarkResult = await runBenchmark({
    workload: o.workload,
    sessions: t.sessions,
    repeats: 1,
    hostProbe: null,
    defaultSim: null,
    profile: rung === 0 && !t.profile,
    candidates: rungCandidates(t, batch),
    log: p.log,
    onProgress: (x: Progress) => {
      const why = stopReason(t);
      if (why) throw new ScxError('BAD_INPUT', `tuning stopped: ${why}`);
      if (x.phase === 'run' && x.policy !== DEFAULT_POLICY)
        o.onProgress?.(`rung ${rung + 1}/${p.plan.rungs.length}: ${x.message}`, t.done + x.done, p.plan.trials);
    },
  });
  t.env = { kernel: r.environment.kernel, accelerator: r.environment.accelerator, guestCpus: r.environment.guestCpus };
  t.sandbox.restarts += r.restarts;
  t.sandbox.lostRuns.push(...r.lostRuns.map((x) => `rung ${rung + 1}, ${x.policy}: ${x.error}`));
  t.profile ??= r.profile;
  const def = r.policies.find((x) => x.isDefault)!;
  const reference = metricMedians(def.runs.filter((x) => x.ok));
  for (const k of def.runs.filter((x) => x.ok && x.sample)) {
    t.kernelRuns.push({ metrics: k.sample!.metrics, score: scoreRun(k.sample!.metrics, k.sample!.bounds, reference, o.objective, p.defs) });
  }
  if (!def.runs.some((x) => x.ok) && r.error) throw new ScxError('VM_CRASHED', `the kernel default's reference run failed: ${r.error}`);
  // the entry's defaults in this rung: the reference a trial must not regress from
  const defRun = r.policies.find((x) => x.name === 'c0')?.runs[0];
  const regRef = defRun?.ok ? defRun.sample?.metrics[p.primary.key] : undefined;
  return batch.map((c) => judgeTrial(t, c, rung, r.policies.find((x) => x.name === `c${c.id}`)!.runs[0], reference, regRef));
}

/** The rung's candidates as benchmark candidates: the .bpf.o with --param values, or the scx binary with its arguments. */
function rungCandidates(t: TuneRun, batch: { id: number; params: ParamSet }[]): Candidate[] {
  const {
    o,
    p: { scx, entry },
  } = t;
  return batch.map((c) =>
    scx
      ? {
          name: `c${c.id}`,
          object: scx.binary,
          scx: { binary: scx.binary, args: scxArgs(scx.params, withFixed(t, c.params)).args, opsName: entry.scx!.opsName },
          source: `${o.entry} ${key(c.params)}`,
        }
      : {
          name: `c${c.id}`,
          object: t.build!.object,
          params: withFixed(t, c.params),
          source: `${o.entry} ${key(c.params)}`,
          ...(o.hints ? { hints: o.hints } : {}),
        },
  );
}

/**
 * A candidate's trial from its run: failed (no run, a failed run, no score), regressed beyond
 * maxRegressionPct from the entry's defaults in the same rung, or its score; recorded in the run.
 */
function judgeTrial(
  t: TuneRun,
  c: { id: number; params: ParamSet },
  rung: number,
  run: RunRecord | undefined,
  reference: Record<string, number>,
  regRef: number | undefined,
): TrialOutcome {
  const {
    o,
    p: { primary, defs },
  } = t;
  t.done++;
  let outcome: TrialOutcome;
  const metrics = run?.ok && run.sample ? run.sample.metrics : {};
  let score: number | null = null;
  if (!run || !run.ok || !run.sample) {
    outcome = { ok: false, failure: run ? `${run.failure ?? 'failed'}: ${run.error ?? ''}`.trim() : 'not run' };
  } else {
    score = scoreRun(run.sample.metrics, run.sample.bounds, reference, o.objective, defs);
    const v = run.sample.metrics[primary.key];
    const ref = regRef;
    const worse = v !== undefined && ref !== undefined && ref > 0 ? (primary.better === 'lower' ? (v - ref) / ref : (ref - v) / ref) * 100 : 0;
    outcome = !Number.isFinite(score)
      ? { ok: false, failure: `the run gave no ${o.objective.map((x) => x.metric).join('/')}` }
      : worse > t.maxReg && c.id !== 0
        ? { ok: false, failure: `regressed: ${primary.key} ${worse.toFixed(0)} % worse than the entry's defaults in the same round (limit ${t.maxReg} %)` }
        : { ok: true, score };
  }
  const list = t.runsByCandidate.get(c.id) ?? [];
  if (run?.ok) list.push({ metrics, score });
  t.runsByCandidate.set(c.id, list);
  t.reports.push({
    index: t.reports.length,
    rung,
    candidate: c.id,
    params: withFixed(t, c.params),
    ok: outcome.ok,
    score: outcome.ok ? outcome.score : null,
    failure: outcome.ok ? null : outcome.failure,
    metrics,
    kernelDefault: reference,
    recordId: null,
  });
  return outcome;
}

/** Every trial into the library history (failures too: search and memory learn from them). */
async function recordTrials(t: TuneRun): Promise<void> {
  const {
    o,
    p: { primary },
  } = t;
  for (const r of t.reports) {
    const rec = await o.store.recordResult({
      entry: o.entry,
      params: r.params,
      target: 'sandbox',
      workload: historyWorkload(o.workload, t.profile),
      metrics: r.metrics,
      ...(Object.keys(r.metrics).length ? { baseline: r.kernelDefault } : {}),
      better: Object.fromEntries(o.workload.metrics.map((m) => [m.key, m.better])),
      primary: primary.key,
      ...(r.ok ? {} : { outcome: r.failure?.startsWith('regressed') ? ('regressed' as const) : ('failed' as const) }),
      note: `tune_scheduler trial ${r.index + 1} (rung ${r.rung + 1}, candidate ${r.candidate})${r.failure ? `: ${r.failure}` : ''}`,
    });
    r.recordId = rec.id;
  }
}

/** The result: the best against the defaults and the kernel default, the preset it became, the chart. */
async function tuneResult(t: TuneRun, result: HalvingResult): Promise<TuneResult> {
  const { o, p } = t;
  const cmp = compareBest(t, result);
  const { kernelDefault, defaults, best, vsDefaultsPct, vsKernelPct, beyondSpread, paired } = cmp;
  const preset = await savePreset(t, result, cmp);
  return {
    entry: o.entry,
    buildId: t.build?.buildId ?? null,
    workload: { id: o.workload.id, title: o.workload.title },
    objective: o.objective,
    searched: p.dims.map((d) => ({ name: d.name, min: d.min, max: d.max, log: d.log, kind: d.kind })),
    fixed: p.fixed,
    budget: o.budget,
    plannedCandidates: p.cands.length,
    trialsRun: t.reports.length,
    kernelDefault,
    defaults,
    best,
    improvement: {
      vsDefaultsPct: round1(vsDefaultsPct),
      vsKernelPct: round1(vsKernelPct),
      metric: p.primary.key,
      beyondSpread,
      pairedPct: round1(paired.length ? median(paired) : null),
      pairs: paired.length,
    },
    trials: t.reports,
    preset,
    stopped: result.stopped,
    environment: t.env,
    sandbox: t.sandbox,
    profile: t.profile,
    chartSvg: trialChart(o, t.reports, p.primary, kernelDefault),
    durationMs: Math.round(performance.now() - t.t0),
  };
}

interface BestComparison {
  kernelDefault: ConfigSummary;
  defaults: ConfigSummary;
  best: ConfigSummary | null;
  vsDefaultsPct: number | null;
  vsKernelPct: number | null;
  beyondSpread: boolean;
  /** The raw primary metric, best vs the defaults in the same rung, per rung (%). */
  paired: number[];
}

/**
 * The best, the entry's defaults and the kernel default summarized and compared, judged on the
 * objective's scores (lower is better; each run relative to its own bound or its round's kernel
 * default, so the emulated CPUs' speed drifting between rounds cancels out).
 */
function compareBest(t: TuneRun, result: HalvingResult): BestComparison {
  const kernelDefault = summarizeConfig({}, t.kernelRuns);
  const defaults = summarizeConfig(withFixed(t, t.p.cands[0]!), t.runsByCandidate.get(0) ?? []);
  const best = result.best ? summarizeConfig(withFixed(t, result.best.params), t.runsByCandidate.get(result.best.id) ?? []) : null;
  const bs = best?.score;
  const ds = defaults.score;
  const ks = kernelDefault.score;
  return {
    kernelDefault,
    defaults,
    best,
    vsDefaultsPct: improvementOver(bs?.median, ds?.median),
    vsKernelPct: improvementOver(bs?.median, ks?.median),
    beyondSpread: Boolean(bs && ds && result.best && result.best.id !== 0 && bs.max < ds.min),
    paired: pairedImprovements(t, result),
  };
}

/** Improvement of a over b in % of b (lower is better), null without both. */
function improvementOver(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || !(b > 0) ? null : ((b - a) / b) * 100;
}

/** The raw primary metric, best vs defaults in the same round (paired: same minutes of the host). */
function pairedImprovements(t: TuneRun, result: HalvingResult): number[] {
  const { primary } = t.p;
  const paired: number[] = [];
  if (!result.best || result.best.id === 0) return paired;
  for (const r of t.reports.filter((x) => x.ok && x.candidate === result.best!.id)) {
    const d = t.reports.find((x) => x.ok && x.candidate === 0 && x.rung === r.rung);
    const p = improvementOver(
      primary.better === 'lower' ? r.metrics[primary.key] : 1 / r.metrics[primary.key]!,
      primary.better === 'lower' ? d?.metrics[primary.key] : 1 / d!.metrics[primary.key]!,
    );
    if (d && p !== null && Number.isFinite(p)) paired.push(p);
  }
  return paired;
}

/** The best becomes a named preset of the entry when it is not the defaults and beat them. */
async function savePreset(t: TuneRun, result: HalvingResult, cmp: BestComparison): Promise<TuneResult['preset']> {
  const { o } = t;
  const { best, vsDefaultsPct, vsKernelPct, beyondSpread } = cmp;
  if (!best || !result.best || result.best.id === 0 || vsDefaultsPct === null || !(vsDefaultsPct > 0)) return null;
  const name = o.preset ?? `tuned-${o.workload.id}`;
  await o.store.setPreset(o.entry, {
    name,
    params: best.params,
    workload: o.workload.title,
    objective: o.objective,
    improvementPct: Math.round(vsDefaultsPct * 10) / 10,
    vsKernelPct: round1(vsKernelPct),
    beyondSpread,
    trials: t.reports.length,
    at: new Date().toISOString(),
  });
  return { name, params: best.params };
}

function round1(x: number | null): number | null {
  return x === null ? null : Math.round(x * 10) / 10;
}

function checkValues(params: ParamSpec[], values: ParamSet): void {
  for (const [k, v] of Object.entries(values)) {
    const p = params.find((x) => x.name === k);
    if (!p) throw new ScxError('BAD_INPUT', `the scheduler has no parameter "${k}"`, `its parameters: ${params.map((x) => x.name).join(', ')}`);
    if (p.type === 'bool' ? typeof v !== 'boolean' : typeof v !== 'number' || !Number.isInteger(v)) {
      throw new ScxError('BAD_INPUT', `${k} must be ${p.type === 'bool' ? 'true or false' : 'an integer'}, got ${JSON.stringify(v)}`);
    }
    if (typeof v === 'number' && ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max))) {
      throw new ScxError('BAD_INPUT', `${k}=${v} is outside its range ${p.min ?? '-∞'}..${p.max ?? '∞'}`);
    }
  }
}

function trialChart(o: TuneOptions, trials: TrialReport[], primary: MetricDef, kernel: ConfigSummary): string {
  const km = kernel.metrics[primary.key]?.median;
  return renderTrialChart({
    title: `tuning ${o.entry} on ${o.workload.title}`,
    subtitle: `${primary.label} (${primary.unit}, ${primary.better} is better) per trial; candidate 0 = the entry's defaults; x = failed trial`,
    unit: primary.unit,
    points: trials.map((t) => ({
      x: t.index + 1,
      y: t.ok ? (t.metrics[primary.key] ?? null) : null,
      label: `c${t.candidate}`,
      highlight: t.candidate === 0,
      rung: t.rung,
    })),
    reference: km !== undefined ? { value: km, label: 'kernel default (median)' } : null,
  });
}

export type { Trial };
