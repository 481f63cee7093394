/**
 * The parameter search of the tuner, pure: the space of a scheduler's typed parameters,
 * quasi-random candidates in it (a Halton sequence, so a few points already cover every
 * dimension evenly), and successive halving over them: every candidate gets one measured trial,
 * the better half gets another, and so on (then, budget permitting, more rounds of the finalists),
 * so the budget goes to the configurations that look good while noise is averaged out where it matters (a candidate's score is the median of all
 * its trials). Trials that fail (load, ejection, workload error, regression) eliminate the
 * candidate for good; it is never returned as the best.
 *
 * The evaluation is a function (the sandbox runner in tune.ts, or a synthetic objective in
 * tests), called once per rung with the candidates to measure.
 */
import type { ParamSpec } from '../model/entry.js';
import { ScxError } from '../errors.js';
import { median } from '../model/stats.js';

export type ParamValue = number | boolean;
export type ParamSet = Record<string, ParamValue>;

/** One tunable dimension. */
export interface Dimension {
  name: string;
  kind: 'int' | 'bool';
  min: number;
  max: number;
  /** Sample on a log scale (ranges spanning two decades or more, e.g. microseconds). */
  log: boolean;
  default: ParamValue;
}

const INT_TYPES = new Set(['u64', 'u32', 's64', 's32']);

/**
 * The dimensions to search: the entry's parameters minus the fixed ones, each within its declared
 * range (or the caller's narrower `ranges`). `only` limits the search to those names.
 */
export function tunableSpace(
  params: ParamSpec[],
  o: { fixed?: ParamSet; only?: string[]; ranges?: Record<string, { min?: number; max?: number }> } = {},
): Dimension[] {
  const known = new Set(params.map((p) => p.name));
  for (const n of [...(o.only ?? []), ...Object.keys(o.ranges ?? {}), ...Object.keys(o.fixed ?? {})]) {
    if (!known.has(n)) throw new ScxError('BAD_INPUT', `the scheduler has no parameter "${n}"`, `its parameters: ${[...known].join(', ') || 'none'}`);
  }
  const dims: Dimension[] = [];
  for (const p of params) {
    if (o.fixed && p.name in o.fixed) continue;
    if (o.only && !o.only.includes(p.name)) continue;
    if (p.type === 'bool') {
      dims.push({ name: p.name, kind: 'bool', min: 0, max: 1, log: false, default: Boolean(p.default) });
      continue;
    }
    if (!INT_TYPES.has(p.type)) continue;
    const r = o.ranges?.[p.name] ?? {};
    const lo = Math.max(r.min ?? p.min ?? Number.NaN, p.min ?? Number.NEGATIVE_INFINITY);
    const hi = Math.min(r.max ?? p.max ?? Number.NaN, p.max ?? Number.POSITIVE_INFINITY);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      if (o.only?.includes(p.name))
        throw new ScxError('BAD_INPUT', `parameter "${p.name}" has no declared range to search`, `give one: ranges: {"${p.name}": {"min": ..., "max": ...}}`);
      continue;
    }
    if (lo > hi)
      throw new ScxError('BAD_INPUT', `the range of "${p.name}" is empty (${lo} > ${hi})`, `the declared range is ${p.min ?? '-∞'}..${p.max ?? '∞'}`);
    if (lo === hi) continue;
    dims.push({ name: p.name, kind: 'int', min: lo, max: hi, log: lo > 0 && hi / lo >= 100, default: Number(p.default) });
  }
  if (!dims.length)
    throw new ScxError(
      'BAD_INPUT',
      'nothing to tune: the scheduler has no parameter with a range left to search',
      'pick an entry with typed parameters (see scx://library/<name>), or fewer fixed ones',
    );
  return dims;
}

/** The `index`-th element (1-based) of the van der Corput sequence in `base`: evenly spread in [0, 1). */
export function radicalInverse(index: number, base: number): number {
  let f = 1;
  let r = 0;
  for (let i = index; i > 0; i = Math.floor(i / base)) {
    f /= base;
    r += f * (i % base);
  }
  return r;
}

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/** A point of the space from a point of the unit cube. */
export function fromUnit(dims: Dimension[], u: number[]): ParamSet {
  const out: ParamSet = {};
  dims.forEach((d, i) => {
    const x = Math.min(Math.max(u[i] ?? 0, 0), 1);
    if (d.kind === 'bool') {
      out[d.name] = x >= 0.5;
      return;
    }
    const v = d.log ? Math.exp(Math.log(d.min) + x * (Math.log(d.max) - Math.log(d.min))) : d.min + x * (d.max - d.min);
    out[d.name] = Math.min(d.max, Math.max(d.min, Math.round(v)));
  });
  return out;
}

/**
 * `n` candidate parameter sets: the entry's defaults first (the reference every result is
 * compared with), then Halton points (skipping `seed` points, so another seed gives other points),
 * without duplicates.
 */
export function candidates(dims: Dimension[], n: number, seed = 0): ParamSet[] {
  if (dims.length > PRIMES.length)
    throw new ScxError('BAD_INPUT', `too many parameters to tune at once (${dims.length}, at most ${PRIMES.length})`, 'list the ones that matter in `only`');
  const defaults = Object.fromEntries(dims.map((d) => [d.name, d.default]));
  const out: ParamSet[] = [defaults];
  const seen = new Set([key(defaults)]);
  for (let i = 1 + seed; out.length < n && i < 1 + seed + n * 50; i++) {
    const p = fromUnit(
      dims,
      dims.map((_, k) => radicalInverse(i, PRIMES[k]!)),
    );
    const k = key(p);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(p);
  }
  return out;
}

export function key(p: ParamSet): string {
  return Object.keys(p)
    .sort()
    .map((k) => `${k}=${String(p[k])}`)
    .join(',');
}

/* ------------------------------------------------------ successive halving -- */

/** What one trial of one candidate gave: a score (lower is better) or a failure. */
export type TrialOutcome = { ok: true; score: number } | { ok: false; failure: string };

export interface Trial {
  /** 0-based, in the order run. */
  index: number;
  candidate: number;
  rung: number;
  params: ParamSet;
  outcome: TrialOutcome;
}

export interface CandidateState {
  id: number;
  params: ParamSet;
  isDefault: boolean;
  scores: number[];
  failed: string | null;
  /** Median of its scores (Infinity when failed or not measured). */
  score: number;
}

/** Measure these candidates once each; return one outcome per candidate, in order. */
export type Evaluate = (batch: { id: number; params: ParamSet }[], rung: number) => Promise<TrialOutcome[]>;

/**
 * The rung sizes successive halving uses for `n` candidates: n, ceil(n/eta), …, down to `keep`.
 * Total trials, worst case: their sum plus one per later rung (the defaults, kept as the
 * reference, when halving would have dropped them).
 */
export function rungSizes(n: number, eta: number, keep = 2): number[] {
  const out = [n];
  while (out.at(-1)! > keep) out.push(Math.max(keep, Math.ceil(out.at(-1)! / eta)));
  return out;
}

/** The most candidates whose successive halving fits `budget` trials, with its rungs and worst-case trial count. */
export function planHalving(budget: number, eta = 2, keep = 2): { n: number; rungs: number[]; trials: number } {
  if (!(budget >= 2))
    throw new ScxError('BAD_INPUT', `a budget of ${budget} trial(s) is too small to compare anything`, 'give at least 2 trials (about 20 is a good budget)');
  let best = { n: 2, rungs: [2], trials: 2 };
  for (let n = 2; n <= budget; n++) {
    const rungs = rungSizes(n, eta, Math.min(keep, n));
    const trials = rungs.reduce((a, b) => a + b, 0) + rungs.length - 1;
    if (trials > budget) break;
    best = { n, rungs, trials };
  }
  return best;
}

export interface HalvingOptions {
  /** Candidates, the defaults first (see candidates()). */
  candidates: ParamSet[];
  /** At most this many trials in all. */
  budget: number;
  eta?: number;
  /** Halve down to this many survivors (default 2: the best and the runner-up get the most repeats). */
  keep?: number;
  evaluate: Evaluate;
  /** Checked before every rung: a reason stops the search (cancelled, out of time). */
  shouldStop?: () => string | null;
  onTrial?: (t: Trial) => void;
}

export interface HalvingResult {
  trials: Trial[];
  candidates: CandidateState[];
  /** The best candidate that never failed, among those measured in the last rung (null: none succeeded). */
  best: CandidateState | null;
  defaults: CandidateState;
  stopped: string | null;
}

export async function successiveHalving(o: HalvingOptions): Promise<HalvingResult> {
  const eta = o.eta ?? 2;
  if (!o.candidates.length) throw new ScxError('BAD_INPUT', 'no candidates to try');
  const plan = rungSizes(o.candidates.length, eta, Math.min(o.keep ?? 2, o.candidates.length));
  const states: CandidateState[] = o.candidates.map((params, id) => ({
    id,
    params,
    isDefault: id === 0,
    scores: [],
    failed: null,
    score: Number.POSITIVE_INFINITY,
  }));
  const def = states[0]!;
  const trials: Trial[] = [];
  let alive = states.slice();
  let lastMeasured: CandidateState[] = [];
  let stopped: string | null = null;
  // the planned rungs, then (budget permitting) more rounds of the finalists, each a full round
  for (let rung = 0; alive.length; rung++) {
    const left = o.budget - trials.length;
    if (rung >= plan.length && left < alive.length) break;
    stopped = o.shouldStop?.() ?? null;
    if (stopped) break;
    if (left <= 0) {
      stopped = 'the trial budget is used up';
      break;
    }
    // the defaults first (they are the reference), then by rank
    const batch = alive.slice(0, left);
    const outcomes = await o.evaluate(
      batch.map((s) => ({ id: s.id, params: s.params })),
      rung,
    );
    if (outcomes.length !== batch.length) throw new Error(`evaluate returned ${outcomes.length} outcomes for ${batch.length} candidates`);
    batch.forEach((s, i) => {
      const outcome = outcomes[i]!;
      const t: Trial = { index: trials.length, candidate: s.id, rung, params: s.params, outcome };
      trials.push(t);
      o.onTrial?.(t);
      if (outcome.ok && Number.isFinite(outcome.score)) s.scores.push(outcome.score);
      else s.failed ??= outcome.ok ? 'no finite score' : outcome.failure;
      s.score = s.failed ? Number.POSITIVE_INFINITY : median(s.scores);
    });
    lastMeasured = batch.filter((s) => !s.failed);
    const next = plan[rung + 1] ?? plan.at(-1)!;
    const ranked = lastMeasured
      .filter((s) => !s.isDefault)
      .sort((a, b) => a.score - b.score)
      .slice(0, next);
    alive = [...(def.failed ? [] : [def]), ...ranked];
  }
  const best = [...lastMeasured].sort((a, b) => a.score - b.score)[0] ?? null;
  return { trials, candidates: states, best, defaults: def, stopped };
}
