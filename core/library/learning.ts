/**
 * Tuning the retrieval weights from outcomes. When a result is recorded for a
 * workload with a fingerprint, look at every entry measured on similar workloads:
 * if the entry that did best would not have ranked first, move weight towards the
 * score parts on which it beats the one that did (a multiplicative-weights step).
 */
import { similarity } from '../profile/fingerprint.js';
import { recordScore, type HistoryRecord, type RetrievalWeights } from './history.js';
import { rankEntries } from './search.js';
import type { LibraryStore } from './store.js';

const ETA = 0.3;
// no part may take over: text must always count (an entry with a good record on similar
// workloads is not right for every goal), and so must history
const MIN_W = 0.1;
const MAX_W = 0.6;

export function learnFromResult(store: Pick<LibraryStore, 'cachedSummaries'>, rec: HistoryRecord, history: HistoryRecord[], weights: RetrievalWeights): RetrievalWeights {
  const fp = rec.workload.fingerprint;
  if (!fp) return weights;
  const byEntry = new Map<string, number[]>();
  for (const r of history) {
    if (!r.workload.fingerprint || similarity(fp, r.workload.fingerprint) < weights.similarityThreshold) continue;
    byEntry.set(r.entry, [...(byEntry.get(r.entry) ?? []), recordScore(r)]);
  }
  let best: { name: string; score: number } | undefined;
  for (const [name, xs] of byEntry) {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    if (m > 0 && (!best || m > best.score)) best = { name, score: m };
  }
  if (!best) return weights;
  const ranked = rankEntries(store.cachedSummaries(), history, weights, { query: rec.workload.description ?? rec.workload.name, fingerprint: fp, limit: 50 });
  const top = ranked[0];
  const mine = ranked.find((r) => r.name === best!.name);
  if (!top || !mine || top.name === best.name) return weights;
  const w = { text: weights.text, tags: weights.tags, history: weights.history };
  for (const k of ['text', 'tags', 'history'] as const) w[k] = w[k] * Math.exp(ETA * (mine.parts[k] - top.parts[k]));
  // normalise, clamp, normalise again (clamping keeps every part in play)
  for (let i = 0; i < 3; i++) {
    const sum = w.text + w.tags + w.history;
    for (const k of ['text', 'tags', 'history'] as const) w[k] = Math.min(MAX_W, Math.max(MIN_W, w[k] / sum));
  }
  const sum = w.text + w.tags + w.history;
  return { ...weights, text: w.text / sum, tags: w.tags / sum, history: w.history / sum, updates: weights.updates + 1 };
}
