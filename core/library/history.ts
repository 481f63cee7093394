/**
 * What the library remembers besides the entries (db.json): measured results,
 * test results, the retrieval weights and how they were tuned.
 */
import { z } from 'zod';
import { Objective } from '../model/entry.js';
import { Fingerprint } from '../model/fingerprint.js';
import { PresetName } from '../model/names.js';

export const Outcome = z.enum(['improved', 'regressed', 'neutral', 'failed']);
export type Outcome = z.infer<typeof Outcome>;

export const Direction = z.enum(['lower', 'higher']);
export type Direction = z.infer<typeof Direction>;

export const Workload = z.object({
  name: z.string().min(1),
  /** the workload and its goal in words (what was searched for): an improved result makes it a past question (questions.ts) */
  description: z.string().optional(),
  /** what the workload's owner wanted optimised */
  objective: Objective.optional(),
  command: z.string().optional(),
  fingerprint: Fingerprint.optional(),
});
export type Workload = z.infer<typeof Workload>;

export const HistoryRecord = z.object({
  id: z.string(),
  entry: z.string(),
  version: z.number().optional(),
  buildId: z.string().optional(),
  params: z.record(z.string(), z.union([z.number(), z.boolean()])).default({}),
  target: z.enum(['sandbox', 'host']),
  workload: Workload,
  /** e.g. makespan_ms, mean_completion_ms, p99_latency_us, throughput_rps, fairness */
  metrics: z.record(z.string(), z.number()),
  /** the same metrics under the kernel default, measured the same way */
  baseline: z.record(z.string(), z.number()).optional(),
  /** direction per metric; default: throughput/rps/ops/score/fairness higher, everything else lower */
  better: z.record(z.string(), Direction).optional(),
  /** the metric that matters for this workload's goal; default: all metrics with a baseline, averaged */
  primary: z.string().optional(),
  outcome: Outcome,
  note: z.string().optional(),
  at: z.string(),
});
export type HistoryRecord = z.infer<typeof HistoryRecord>;

/** The id prefix of the results the seed ships (library/<name>/history.json, written by npm run bench on the fixtures). */
export const SEED_RESULT_PREFIX = 'seed-';

/** A result the seed shipped (measured on the benchmark fixtures), not one recorded in this library. */
export function isSeedResult(r: Pick<HistoryRecord, 'id'>): boolean {
  return r.id.startsWith(SEED_RESULT_PREFIX);
}

/** What recordResult takes: no id; outcome (computed from metrics vs baseline), params and time are optional. */
export const HistoryInput = HistoryRecord.omit({ id: true }).extend({
  outcome: Outcome.optional(),
  at: z.string().optional(),
  params: HistoryRecord.shape.params.optional(),
});
export type HistoryInput = z.input<typeof HistoryInput>;

/** A result as stored: its id, the entry version (when not given), the time, and the outcome computed from metrics vs baseline when not given. */
export function toHistoryRecord(input: HistoryInput, o: { id: string; version: number; at?: string }): HistoryRecord {
  const d = HistoryInput.parse(input);
  return HistoryRecord.parse({
    ...d, id: o.id, version: d.version ?? o.version, params: d.params ?? {}, at: d.at ?? o.at ?? new Date().toISOString(),
    outcome: d.outcome ?? inferOutcome(d),
  });
}

export const TestResult = z.object({
  kind: z.enum(['static', 'verifier', 'stress']),
  kernel: z.string(),
  at: z.string(),
  pass: z.boolean(),
  details: z.record(z.string(), z.unknown()).default({}),
  numbers: z.record(z.string(), z.number()).optional(),
});
export type TestResult = z.input<typeof TestResult>;
export const StoredTest = TestResult.extend({ entry: z.string(), version: z.number().optional() });
export type StoredTest = z.infer<typeof StoredTest>;

export const RetrievalWeights = z.object({
  text: z.number().min(0).max(1),
  tags: z.number().min(0).max(1),
  history: z.number().min(0).max(1),
  /** past results count for a query only on workloads at least this similar (fingerprint similarity) */
  similarityThreshold: z.number().min(0).max(1),
  /** how many times learning changed the weights */
  updates: z.number().int().min(0),
});
export type RetrievalWeights = z.infer<typeof RetrievalWeights>;

export const DEFAULT_WEIGHTS: RetrievalWeights = { text: 0.5, tags: 0.2, history: 0.3, similarityThreshold: 0.7, updates: 0 };

/** One learning step, kept so the tuning can be reported and audited. */
export const WeightUpdate = z.object({
  at: z.string(),
  record: z.string().describe('the history record that triggered it'),
  best: z.string().describe('the entry that measured best on similar workloads'),
  rankedFirst: z.string().describe('what search ranked first before the result was known'),
  before: RetrievalWeights,
  after: RetrievalWeights,
});
export type WeightUpdate = z.infer<typeof WeightUpdate>;

/** A named parameter set of an entry, e.g. the best configuration tune_scheduler found for a workload. */
export const Preset = z.object({
  name: PresetName,
  params: z.record(z.string(), z.union([z.number(), z.boolean()])),
  /** entry version it was found with */
  version: z.number().int().positive().optional(),
  workload: z.string(),
  objective: z.array(z.object({ metric: z.string(), weight: z.number() })).default([]),
  /** primary metric, % better than the entry's defaults (median of the runs) */
  improvementPct: z.number().nullable().default(null),
  /** primary metric, % better than the kernel default */
  vsKernelPct: z.number().nullable().default(null),
  /** the best's runs did not overlap the defaults' runs */
  beyondSpread: z.boolean().default(false),
  trials: z.number().int().min(0).default(0),
  at: z.string(),
});
export type Preset = z.infer<typeof Preset>;

export const LibraryDb = z.object({
  /** named parameter sets per entry (tune_scheduler's results, or set by hand) */
  presets: z.record(z.string(), z.array(Preset)).default({}),
  history: z.array(HistoryRecord).default([]),
  tests: z.array(StoredTest).default([]),
  weights: RetrievalWeights.default(DEFAULT_WEIGHTS),
  weightLog: z.array(WeightUpdate).default([]),
  /** learning evaluations, right or wrong (updates counts only the wrong ones) */
  evaluations: z.object({ n: z.number().int().min(0), top1: z.number().int().min(0) }).default({ n: 0, top1: 0 }),
  /** seed entries copied from the repo: hashes of the seed and of the library's copy when it was seeded */
  seeds: z.record(z.string(), z.object({ seed: z.string(), lib: z.string() })).default({}),
  /** bumped by every write, so other processes sharing the library notice changes */
  rev: z.number().int().min(0).default(0),
});
export type LibraryDb = z.infer<typeof LibraryDb>;

export function emptyDb(): LibraryDb {
  return { presets: {}, history: [], tests: [], weights: { ...DEFAULT_WEIGHTS }, weightLog: [], evaluations: { n: 0, top1: 0 }, seeds: {}, rev: 0 };
}

/** Which way is better for a metric. */
export function direction(metric: string, better?: Record<string, Direction>): Direction {
  return better?.[metric] ?? (/throughput|rps|ops|per_s|bogo|score|fairness|iops|bandwidth/.test(metric) ? 'higher' : 'lower');
}

/** Per metric, % better than baseline (positive = better, negative = worse). */
export function improvementPct(r: Pick<HistoryRecord, 'metrics' | 'baseline' | 'better'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [m, v] of Object.entries(r.metrics)) {
    const b = r.baseline?.[m];
    if (b === undefined || b === 0 || !Number.isFinite(b) || !Number.isFinite(v)) continue;
    out[m] = ((direction(m, r.better) === 'lower' ? b - v : v - b) / Math.abs(b)) * 100;
  }
  return out;
}

/** The improvement that stands for a record: its primary metric, else the mean over metrics with a baseline. */
export function headlineImprovement(r: Pick<HistoryRecord, 'metrics' | 'baseline' | 'better' | 'primary'>): { metric: string; pct: number } | undefined {
  const imps = improvementPct(r);
  if (r.primary && imps[r.primary] !== undefined) return { metric: r.primary, pct: imps[r.primary]! };
  const entries = Object.entries(imps);
  if (!entries.length) return undefined;
  if (entries.length === 1) return { metric: entries[0]![0], pct: entries[0]![1] };
  return { metric: 'mean of ' + entries.map(([m]) => m).join(', '), pct: entries.reduce((a, [, x]) => a + x, 0) / entries.length };
}

/** The outcome the numbers say, when the caller gave none: > 3 % better somewhere and nowhere > 3 % worse. */
export function inferOutcome(r: Pick<HistoryRecord, 'metrics' | 'baseline' | 'better' | 'primary'>): Outcome {
  const imps = improvementPct(r);
  const vals = r.primary && imps[r.primary] !== undefined ? [imps[r.primary]!] : Object.values(imps);
  if (!vals.length) return 'neutral';
  if (vals.some((x) => x < -3)) return 'regressed';
  if (vals.some((x) => x > 3)) return 'improved';
  return 'neutral';
}

/** One number in [-1, 1] for how well a record went: the outcome, scaled by the improvement (30 % counts as full). */
export function recordScore(r: HistoryRecord): number {
  if (r.outcome === 'failed') return -1;
  const mag = Math.min(1, Math.abs(headlineImprovement(r)?.pct ?? 0) / 30);
  if (r.outcome === 'improved') return Math.max(0.3, mag);
  if (r.outcome === 'regressed') return -Math.max(0.3, mag);
  return 0;
}
