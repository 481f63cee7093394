/**
 * search_library's ranking: full-text (minisearch, BM25-style) over what an entry
 * is for, tag overlap (the query's tags plus those its fingerprint implies), and
 * history (how entries did on workloads with a similar fingerprint), combined with
 * weights that learning.ts tunes from outcomes. Each result says why it ranked.
 */
import MiniSearch from 'minisearch';
import { similarity, type Fingerprint } from '../profile/fingerprint.js';
import { recordScore, type HistoryRecord, type RetrievalWeights } from './history.js';
import type { EntrySummary, LibraryStore } from './store.js';

export interface SearchQuery {
  query?: string;
  tags?: string[];
  fingerprint?: Fingerprint;
  family?: string;
  limit?: number;
}

export interface SearchResult {
  name: string;
  title: string;
  family: string;
  score: number;
  parts: { text: number; tags: number; history: number };
  why: string[];
}

const STOP = new Set('a an and are as at be but by for from has have i in is it its my of on or our so that the their them then there these this to too was we when which while will with want need make like very much more less than job jobs workload one many some'.split(' '));

function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (t.length < 2 || STOP.has(t)) return null;
  return t.length > 4 && t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t;
}

/** Tags a fingerprint implies (a dimension clearly present). */
export function impliedTags(f: Fingerprint): string[] {
  const t: string[] = [];
  if (f.cpuBound > 0.6) t.push('cpu-bound', 'throughput');
  if (f.ioHeavy > 0.4) t.push('io-heavy');
  if (f.latencySensitive > 0.5) t.push('latency-sensitive', 'interactive');
  if (f.unevenness > 0.5) t.push('uneven-jobs', 'batch');
  if (f.manyShortTasks > 0.6) t.push('many-short-tasks');
  if (f.parallelism > 0.6) t.push('fairness');
  return t;
}

const indexCache = new WeakMap<EntrySummary[], MiniSearch<EntrySummary & { id: string; text: string }>>();

function indexFor(entries: EntrySummary[]) {
  let idx = indexCache.get(entries);
  if (!idx) {
    idx = new MiniSearch({
      fields: ['title', 'description', 'algorithm', 'text', 'family', 'tagsText'],
      storeFields: ['name'],
      processTerm,
      searchOptions: { boost: { title: 2, family: 3, tagsText: 2, text: 1.5 }, fuzzy: 0.15, prefix: true, combineWith: 'OR', processTerm },
    });
    idx.addAll(entries.map((e) => ({ ...e, id: e.name, text: e.useCases.join(' \n '), tagsText: e.tags.join(' ').replace(/-/g, ' ') })));
    indexCache.set(entries, idx);
  }
  return idx;
}

/** Pure ranking over entry summaries and history; the store wrapper is below. */
export function rankEntries(entries: EntrySummary[], history: HistoryRecord[], weights: RetrievalWeights, q: SearchQuery): SearchResult[] {
  const text = new Map<string, { score: number; terms: string[] }>();
  if (q.query?.trim()) {
    const hits = indexFor(entries).search(q.query);
    const top = hits[0]?.score ?? 1;
    for (const h of hits) text.set(String(h.id), { score: h.score / top, terms: h.terms });
  }
  const wantTags = new Set([...(q.tags ?? []), ...(q.fingerprint ? impliedTags(q.fingerprint) : [])]);
  // records of similar workloads, grouped by entry: one pass over the history, not one per entry
  const similar = new Map<string, { r: HistoryRecord; sim: number }[]>();
  if (q.fingerprint) {
    for (const r of history) {
      if (!r.workload.fingerprint) continue;
      const sim = similarity(q.fingerprint, r.workload.fingerprint);
      if (sim < weights.similarityThreshold) continue;
      similar.set(r.entry, [...(similar.get(r.entry) ?? []), { r, sim }]);
    }
  }
  const results: SearchResult[] = [];
  for (const e of entries) {
    if (q.family && e.family !== q.family) continue;
    const why: string[] = [];
    const t = text.get(e.name);
    if (t) why.push(`matched ${t.terms.slice(0, 5).map((x) => `"${x}"`).join(', ')} in its description`);
    const overlap = e.tags.filter((x) => wantTags.has(x));
    const tags = wantTags.size ? overlap.length / wantTags.size : 0;
    if (overlap.length) why.push(`tags ${overlap.join(', ')}`);

    let hist = 0;
    {
      let num = 0;
      let den = 0;
      let best: { imp: string; sim: number } | undefined;
      for (const { r, sim } of similar.get(e.name) ?? []) {
        const s = recordScore(r);
        num += sim * s;
        den += sim;
        if (!best || sim > best.sim) best = { imp: `${r.outcome} on "${r.workload.name}"`, sim };
      }
      if (den > 0) {
        const n = den; // similarity-weighted count
        hist = (num / den) * (n / (n + 1)); // shrink towards 0 with little evidence
        why.push(`${best!.imp} (similar workload, similarity ${best!.sim.toFixed(2)}; history score ${hist.toFixed(2)})`);
      }
    }
    const score = weights.text * (t?.score ?? 0) + weights.tags * tags + weights.history * hist;
    if (!t && !overlap.length && hist === 0 && (q.query || wantTags.size)) continue; // nothing at all in common
    results.push({ name: e.name, title: e.title, family: e.family, score, parts: { text: t?.score ?? 0, tags, history: hist }, why });
  }
  return results.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name)).slice(0, q.limit ?? 5);
}

export async function searchLibrary(store: LibraryStore, q: SearchQuery): Promise<{ results: SearchResult[]; weights: RetrievalWeights }> {
  const weights = store.weights();
  return { results: rankEntries(store.cachedSummaries(), store.history(), weights, q), weights };
}
