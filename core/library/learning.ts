/**
 * Tuning the retrieval weights from outcomes (online, one result at a time).
 *
 * When a result is recorded for a workload with a fingerprint, and entries have been
 * measured on similar workloads (at least two of them, at least one improving), the
 * entry that measured best is the "right answer" for that workload. We ask what search
 * would have ranked first *before* this result was known (prediction, then feedback):
 *  - it ranked the best entry first: nothing to correct (counted as a hit);
 *  - it did not: a multiplicative-weights step moves weight towards the score parts
 *    on which the best entry beats the one ranked first (w_k *= exp(eta * (best_k - top_k))),
 *    then clamps (no part may vanish or take over) and normalises; and the similarity
 *    threshold moves one step (±0.05) if that ranks the best entry higher.
 */
import { similarity } from '../model/fingerprint.js';
import { recordScore, type HistoryRecord, type RetrievalWeights, type WeightUpdate } from './history.js';
import { rankEntries, type SearchResult } from './search.js';
import type { EntrySummary } from '../model/entry.js';

export const ETA = 0.5;
/** text must always count (a good record on similar workloads is not right for every goal), and so must history */
export const MIN_W = 0.1;
export const MAX_W = 0.6;
const THRESHOLD_STEP = 0.05;
const THRESHOLD_MIN = 0.5;
const THRESHOLD_MAX = 0.95;
const PARTS = ['text', 'tags', 'history'] as const;

export interface LearnResult {
  /** there was a best-measured entry to compare the ranking with */
  evaluated: boolean;
  /** search (before this result) ranked it first */
  rankedBestFirst?: boolean;
  best?: string;
  /** present when the weights changed */
  update?: WeightUpdate;
}

/** The entry that measured best on workloads similar to `rec`'s (including `rec`), if the evidence says so. */
export function bestMeasured(rec: HistoryRecord, all: HistoryRecord[], threshold: number): string | undefined {
  const fp = rec.workload.fingerprint;
  if (!fp) return undefined;
  const by = new Map<string, { num: number; den: number }>();
  for (const r of all) {
    if (!r.workload.fingerprint) continue;
    const sim = similarity(fp, r.workload.fingerprint);
    if (sim < threshold) continue;
    const a = by.get(r.entry) ?? { num: 0, den: 0 };
    a.num += sim * recordScore(r);
    a.den += sim;
    by.set(r.entry, a);
  }
  if (by.size < 2) return undefined; // one entry measured: we do not know it is the best
  const ranked = [...by].map(([name, a]) => ({ name, m: a.num / a.den })).sort((a, b) => b.m - a.m);
  if (ranked[0]!.m <= 0 || ranked[0]!.m === ranked[1]!.m) return undefined; // nothing improved, or a tie
  return ranked[0]!.name;
}

const rankOf = (rs: SearchResult[], name: string) => {
  const i = rs.findIndex((r) => r.name === name);
  return i < 0 ? rs.length : i;
};

function normalise(w: Record<(typeof PARTS)[number], number>): Record<(typeof PARTS)[number], number> {
  const out = { ...w };
  for (let i = 0; i < 5; i++) {
    const sum = out.text + out.tags + out.history;
    for (const k of PARTS) out[k] = Math.min(MAX_W, Math.max(MIN_W, out[k] / sum));
  }
  const sum = out.text + out.tags + out.history;
  for (const k of PARTS) out[k] = out[k] / sum;
  return out;
}

/**
 * One learning step for a new record. `prior` is the history before it: the ranking is
 * judged as it was when the result was not known yet.
 */
export function learnFromResult(entries: EntrySummary[], rec: HistoryRecord, prior: HistoryRecord[], weights: RetrievalWeights): LearnResult {
  const fp = rec.workload.fingerprint;
  if (!fp) return { evaluated: false };
  const best = bestMeasured(rec, [...prior, rec], weights.similarityThreshold);
  if (!best || !entries.some((e) => e.name === best)) return { evaluated: false };

  const q = { query: rec.workload.description ?? rec.workload.name, fingerprint: fp, limit: entries.length };
  const ranked = rankEntries(entries, prior, weights, q);
  const top = ranked[0];
  if (!top || top.name === best) return { evaluated: true, rankedBestFirst: true, best };
  const mine = ranked.find((r) => r.name === best)?.parts ?? { text: 0, tags: 0, history: 0 };

  const w = { text: weights.text, tags: weights.tags, history: weights.history };
  for (const k of PARTS) w[k] *= Math.exp(ETA * (mine[k] - top.parts[k]));
  const nw = normalise(w);
  let next: RetrievalWeights = { ...weights, ...nw };

  // the similarity threshold: one step either way if that ranks the best entry higher
  const here = rankOf(rankEntries(entries, prior, next, q), best);
  let bestT = { t: weights.similarityThreshold, rank: here };
  for (const t of [weights.similarityThreshold - THRESHOLD_STEP, weights.similarityThreshold + THRESHOLD_STEP]) {
    if (t < THRESHOLD_MIN - 1e-9 || t > THRESHOLD_MAX + 1e-9) continue;
    const r = rankOf(rankEntries(entries, prior, { ...next, similarityThreshold: t }, q), best);
    if (r < bestT.rank) bestT = { t: Math.round(t * 100) / 100, rank: r };
  }
  next = { ...next, similarityThreshold: bestT.t };

  const changed = PARTS.some((k) => Math.abs(next[k] - weights[k]) > 1e-9) || next.similarityThreshold !== weights.similarityThreshold;
  if (!changed) return { evaluated: true, rankedBestFirst: false, best };
  next = { ...next, updates: weights.updates + 1 };
  return {
    evaluated: true, rankedBestFirst: false, best,
    update: { at: rec.at, record: rec.id, best, rankedFirst: top.name, before: weights, after: next },
  };
}
