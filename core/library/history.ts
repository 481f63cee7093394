/** What the library remembers besides the entries: results, test results, retrieval weights. */
import { z } from 'zod';
import { Fingerprint } from '../profile/fingerprint.js';

export const Outcome = z.enum(['improved', 'regressed', 'neutral', 'failed']);
export type Outcome = z.infer<typeof Outcome>;

export const HistoryRecord = z.object({
  id: z.string(),
  entry: z.string(),
  version: z.number().optional(),
  buildId: z.string().optional(),
  params: z.record(z.string(), z.union([z.number(), z.boolean()])),
  target: z.enum(['sandbox', 'host']),
  workload: z.object({
    name: z.string(),
    description: z.string().optional(),
    command: z.string().optional(),
    fingerprint: Fingerprint.optional(),
  }),
  metrics: z.record(z.string(), z.number()),
  baseline: z.record(z.string(), z.number()).optional(),
  better: z.record(z.string(), z.enum(['lower', 'higher'])).optional(),
  outcome: Outcome,
  note: z.string().optional(),
  at: z.string(),
});
export type HistoryRecord = z.infer<typeof HistoryRecord>;
export type HistoryInput = Omit<HistoryRecord, 'id'>;

export const TestResult = z.object({
  kind: z.enum(['static', 'verifier', 'stress']),
  kernel: z.string(),
  at: z.string(),
  pass: z.boolean(),
  details: z.record(z.string(), z.unknown()).default({}),
  numbers: z.record(z.string(), z.number()).optional(),
});
export type TestResult = z.infer<typeof TestResult>;

export const RetrievalWeights = z.object({
  text: z.number(),
  tags: z.number(),
  history: z.number(),
  similarityThreshold: z.number().min(0).max(1),
  updates: z.number().int(),
});
export type RetrievalWeights = z.infer<typeof RetrievalWeights>;

export const DEFAULT_WEIGHTS: RetrievalWeights = { text: 0.5, tags: 0.2, history: 0.3, similarityThreshold: 0.7, updates: 0 };

export const LibraryDb = z.object({
  history: z.array(HistoryRecord),
  tests: z.array(TestResult.extend({ entry: z.string(), version: z.number().optional() })),
  weights: RetrievalWeights,
});
export type LibraryDb = z.infer<typeof LibraryDb>;

/** Per metric, % better than baseline (positive = better). */
export function improvementPct(r: Pick<HistoryRecord, 'metrics' | 'baseline' | 'better'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [m, v] of Object.entries(r.metrics)) {
    const b = r.baseline?.[m];
    if (b === undefined || b === 0) continue;
    const lower = (r.better?.[m] ?? (/throughput|rps|per_s|ops|score|fairness/.test(m) ? 'higher' : 'lower')) === 'lower';
    out[m] = ((lower ? b - v : v - b) / Math.abs(b)) * 100;
  }
  return out;
}

/** One number in [-1, 1] for how well a record went: the outcome, scaled by the mean improvement. */
export function recordScore(r: HistoryRecord): number {
  if (r.outcome === 'failed') return -1;
  const imps = Object.values(improvementPct(r));
  const mean = imps.length ? imps.reduce((a, b) => a + b, 0) / imps.length : 0;
  const mag = Math.min(1, Math.abs(mean) / 30); // 30 % better counts as a full success
  if (r.outcome === 'improved') return Math.max(0.3, mag);
  if (r.outcome === 'regressed') return -Math.max(0.3, mag);
  return 0;
}
