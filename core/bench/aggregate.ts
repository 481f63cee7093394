/**
 * The pure parts of a benchmark (core/bench/runner.ts re-exports them): the interleaved order,
 * statistics per policy and metric from the run records, bounds, and the simulator's ranking next
 * to the measured one.
 */
import { simulate } from '../sim/index.js';
import { median, summarize } from '../model/stats.js';
import type { MetricStats, PolicyResult, Prediction, RankEntry, RunRecord, SimModel } from './types.js';
import type { Better, MetricDef, Workload } from './workloads.js';

/** The interleaved run order: every policy once per round, rounds repeated. */
export function interleave(policies: readonly string[], repeats: number): { policy: string; repeat: number }[] {
  const out: { policy: string; repeat: number }[] = [];
  for (let r = 0; r < repeats; r++) for (const p of policies) out.push({ policy: p, repeat: r });
  return out;
}

/** Improvement of `value` over `base` in % of base; positive means better in the metric's direction. */
export function improvementPct(base: number, value: number, better: Better): number | null {
  if (!Number.isFinite(base) || !Number.isFinite(value) || base === 0) return null;
  return better === 'lower' ? ((base - value) / base) * 100 : ((value - base) / base) * 100;
}

/** Distance of `value` from the bound in % of the bound (lower-is-better metrics; can be < 0 within timer noise). */
export function gapToBoundPct(value: number, bound: number | null): number | null {
  if (bound === null || !Number.isFinite(bound) || bound <= 0 || !Number.isFinite(value)) return null;
  return ((value - bound) / bound) * 100;
}

/** Order entries best first (ties keep their input order). */
export function rank(entries: RankEntry[], better: Better = 'lower'): RankEntry[] {
  return [...entries].sort((a, b) => (better === 'lower' ? a.value - b.value : b.value - a.value));
}

/**
 * Pairwise agreement of a predicted and a measured ordering (a Kendall-style count): a pair counts
 * when the prediction separates it by more than `tiePct` %, and agrees when the measurement puts it
 * the same way round.
 */
export function rankAgreement(predicted: RankEntry[], measured: RankEntry[], tiePct = 1): { concordant: number; comparable: number } {
  const m = new Map(measured.map((e) => [e.policy, e.value]));
  const ps = predicted.filter((e) => m.has(e.policy));
  let concordant = 0;
  let comparable = 0;
  for (let i = 0; i < ps.length; i++) {
    for (let j = i + 1; j < ps.length; j++) {
      const a = ps[i]!;
      const b = ps[j]!;
      const scale = Math.max(Math.abs(a.value), Math.abs(b.value), 1e-12);
      if ((Math.abs(a.value - b.value) / scale) * 100 <= tiePct) continue;
      comparable++;
      const dp = a.value - b.value;
      const dm = m.get(a.policy)! - m.get(b.policy)!;
      if (Math.sign(dp) === Math.sign(dm)) concordant++;
    }
  }
  return { concordant, comparable };
}

/** Statistics per policy and metric from the run records (pure; exported for tests). */
export function aggregate(
  policyNames: { name: string; isDefault: boolean; source: string }[],
  records: RunRecord[],
  metrics: MetricDef[],
  /** The workload's bounds; metrics without one fall back to the median of the runs' own bounds. */
  workloadBounds: Record<string, number> = {},
): { policies: PolicyResult[]; bounds: Record<string, number | null>; sameWork: boolean; workSummary: string | null } {
  const counted = records.filter((r) => r.ok && r.sample);
  const bounds: Record<string, number | null> = {};
  for (const m of metrics) {
    const wb = workloadBounds[m.key];
    if (typeof wb === 'number' && Number.isFinite(wb)) {
      bounds[m.key] = wb;
      continue;
    }
    const bs = counted.map((r) => r.sample!.bounds[m.key]).filter((b): b is number => typeof b === 'number' && Number.isFinite(b));
    bounds[m.key] = bs.length ? median(bs) : null;
  }
  const digests = new Set(counted.map((r) => r.sample!.work.digest));
  const policies: PolicyResult[] = policyNames.map((p) => {
    const runs = records.filter((r) => r.policy === p.name);
    const ok = runs.filter((r) => r.ok && r.sample);
    const stats: Record<string, MetricStats> = {};
    for (const m of metrics) {
      const values = ok.map((r) => r.sample!.metrics[m.key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const s = summarize(values);
      let bound = bounds[m.key] ?? null;
      let gap = gapToBoundPct(s.median, bound);
      if (typeof workloadBounds[m.key] !== 'number') {
        // bounds from each run's own work (e.g. the CPU time its jobs took): each run against its own
        // bound, so a slow phase of the host raises value and bound together
        const own = ok
          .map((r) => ({ v: r.sample!.metrics[m.key], b: r.sample!.bounds[m.key] }))
          .filter(
            (x): x is { v: number; b: number } => typeof x.v === 'number' && Number.isFinite(x.v) && typeof x.b === 'number' && Number.isFinite(x.b) && x.b > 0,
          );
        if (own.length) {
          bound = median(own.map((x) => x.b));
          gap = median(own.map((x) => gapToBoundPct(x.v, x.b)!));
        }
      }
      stats[m.key] = { key: m.key, n: s.n, values, median: s.median, min: s.min, max: s.max, mean: s.mean, vsDefaultPct: null, bound, gapToBoundPct: gap };
    }
    const failures = runs.filter((r) => !r.ok).map((r) => ({ repeat: r.repeat, kind: r.failure ?? 'workload', message: r.error ?? 'failed' }));
    return {
      name: p.name,
      isDefault: p.isDefault,
      source: p.source,
      runs,
      metrics: stats,
      failures,
      contendedRuns: ok.filter((r) => (r.otherVms ?? 0) > 0).length,
      status: ok.length === 0 ? 'failed' : ok.length === runs.length ? 'ok' : 'partial',
    };
  });
  const def = policies.find((p) => p.isDefault);
  for (const p of policies) {
    for (const m of metrics) {
      const s = p.metrics[m.key]!;
      const base = def?.metrics[m.key];
      s.vsDefaultPct = p.isDefault || !base || base.n === 0 || s.n === 0 ? null : improvementPct(base.median, s.median, m.better);
    }
  }
  return { policies, bounds, sameWork: digests.size <= 1, workSummary: counted[0]?.sample!.work.summary ?? null };
}

/** The simulator's ranking of the policies it has a model for, next to the measured one. */
export function predictRanking(
  workload: Workload,
  calibration: unknown,
  cpus: number,
  models: { name: string; sim: SimModel | null | undefined }[],
  policies: PolicyResult[],
): Prediction[] {
  if (!workload.sim || calibration === null || calibration === undefined) return [];
  const setup = workload.sim(calibration);
  const modelled = models.filter((m): m is { name: string; sim: SimModel } => Boolean(m.sim));
  if (modelled.length < 2) return [];
  const sims = modelled.map((m) => ({
    name: m.name,
    model: m.sim.quantum_ms ? `${m.sim.policy} (${m.sim.quantum_ms} ms slice)` : m.sim.policy,
    result: simulate({ ...setup.input, cpus, ...(m.sim.quantum_ms ? { quantum_ms: m.sim.quantum_ms } : {}) }, m.sim.policy),
  }));
  const out: Prediction[] = [];
  for (const o of setup.objectives) {
    const def = workload.metrics.find((m) => m.key === o.metric);
    const predicted = sims.map((s) => ({
      policy: s.name,
      model: s.model,
      value: o.objective === 'makespan' ? s.result.makespan_ms : s.result.mean_completion_ms,
    }));
    const measured = policies
      .filter((p) => predicted.some((x) => x.policy === p.name) && (p.metrics[o.metric]?.n ?? 0) > 0)
      .map((p) => ({ policy: p.name, value: p.metrics[o.metric]!.median }));
    const predictedRanked = (rank(predicted) as (RankEntry & { model: string })[]).filter((e) => measured.some((m) => m.policy === e.policy));
    const { concordant, comparable } = rankAgreement(predictedRanked, measured);
    out.push({
      metric: o.metric,
      objective: o.objective,
      predicted: predictedRanked,
      measured: rank(measured, def?.better ?? 'lower'),
      concordantPairs: concordant,
      comparablePairs: comparable,
      agreement: comparable ? concordant / comparable : null,
    });
  }
  return out;
}
