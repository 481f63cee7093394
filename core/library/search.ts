/**
 * search_library's ranking. Three parts, each in [0, 1] (history in [-1, 1]):
 *  - text: full-text match (minisearch, BM25) of the query against what an entry is
 *    for (title, description, algorithm, use cases, tags, family), relative to the best hit;
 *  - tags: overlap with the query's tags and, at half weight, the tags its fingerprint implies;
 *  - history: how the entry did on past workloads with a similar fingerprint
 *    (similarity-weighted mean of outcomes, shrunk towards 0 when there is little evidence).
 * They are combined with the retrieval weights that learning.ts tunes from outcomes.
 * Every result carries its parts and the reasons, in plain words.
 */
import MiniSearch, { type SearchResult as MiniResult } from 'minisearch';
import { ScxError } from '../errors.js';
import { similarity, type Fingerprint } from '../profile/fingerprint.js';
import { headlineImprovement, recordScore, type HistoryRecord, type RetrievalWeights } from './history.js';
import { LibraryEntry } from './schema.js';
import type { EntrySummary, LibraryStore } from './store.js';

export interface SearchQuery {
  /** the workload and the goal, in words */
  query?: string;
  tags?: string[];
  /** from profile_workload */
  fingerprint?: Fingerprint;
  /** only this policy family */
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

/** The weights in use, and how well learning's rankings have matched measurements so far. */
export type SearchWeights = RetrievalWeights & { evaluated: number; rankedBestFirst: number };

const STOP = new Set((
  'a an and are as at be but by can do does for from get gets has have how i in into is it its just me my of on or our so ' +
  'that the their them then there these this those to too was we what when which while who will with would you your ' +
  'want wants need needs make makes like very much more less than should could please also all any each other same ' +
  'job jobs workload workloads task tasks process processes thing things one some lot lots'
).split(' '));

/** Lower-case, drop stop words, fold simple plurals (jobs → job, queues → queue). */
export function processTerm(term: string): string | null {
  let t = term.toLowerCase();
  if (t.length < 2 || STOP.has(t)) return null;
  if (t.length > 4 && t.endsWith('ies')) t = t.slice(0, -3) + 'y';
  else if (t.length > 4 && /(ch|sh|ss|x)es$/.test(t)) t = t.slice(0, -2);
  else if (t.length > 3 && t.endsWith('s') && !/(ss|us|is)$/.test(t)) t = t.slice(0, -1);
  return STOP.has(t) ? null : t;
}

/**
 * Query-side synonyms: how people describe jobs and symptoms → the words library entries use.
 * Only the query is expanded (the index keeps each entry's own words), and a synonym is a
 * full term, so "large working sets" never turns into "long".
 */
const SYNONYMS: Record<string, string[]> = {
  small: ['short'], tiny: ['short'], quick: ['short'], little: ['short'],
  big: ['long'], huge: ['long'], giant: ['long'], slow: ['long'], lengthy: ['long'],
  lag: ['latency'], laggy: ['latency'], stutter: ['latency', 'responsiveness'], jank: ['latency'], glitch: ['latency'],
  sluggish: ['responsiveness'], responsive: ['responsiveness'], snappy: ['responsiveness'],
  favour: ['priority'], favor: ['priority'], prefer: ['priority'], prioritise: ['priority'], prioritize: ['priority'], important: ['priority'],
  fairly: ['fair'], share: ['fair'], starve: ['starvation'], starving: ['starvation'],
  periodic: ['deadline'], period: ['deadline'], realtime: ['deadline'],
  sooner: ['makespan'], migrate: ['migration'], migrating: ['migration'], bounce: ['migration'], bouncing: ['migration'],
};

function queryTerm(term: string): string[] | null {
  const t = processTerm(term);
  if (!t) return null;
  const extra = SYNONYMS[t] ?? SYNONYMS[term.toLowerCase()];
  return extra ? [t, ...extra.filter((x) => x !== t)] : [t];
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

const FIELD_WORDS: Record<string, string> = {
  title: 'title', description: 'description', algorithm: 'algorithm', useCases: 'use cases', family: 'family', tagsText: 'tags',
};

type Doc = { id: string; title: string; description: string; algorithm: string; useCases: string; family: string; tagsText: string };
const indexCache = new WeakMap<EntrySummary[], MiniSearch<Doc>>();

function indexFor(entries: EntrySummary[]): MiniSearch<Doc> {
  let idx = indexCache.get(entries);
  if (!idx) {
    idx = new MiniSearch<Doc>({
      fields: ['title', 'description', 'algorithm', 'useCases', 'family', 'tagsText'],
      processTerm,
      searchOptions: {
        boost: { title: 2, family: 3, tagsText: 2, useCases: 1.5, description: 1, algorithm: 0.7 },
        // one typo in long words only ("parsing" must not find "passing"); prefixes from 4 letters
        fuzzy: (term) => (term.length >= 8 ? 0.15 : 0), prefix: (term) => term.length > 3, combineWith: 'OR', processTerm: queryTerm,
      },
    });
    idx.addAll(entries.map((e) => ({
      id: e.name, title: e.title, description: e.description, algorithm: e.algorithm, useCases: e.useCases.join(' \n '),
      family: e.family, tagsText: e.tags.join(' ').replace(/-/g, ' '),
    })));
    indexCache.set(entries, idx);
  }
  return idx;
}

function textWhy(hit: MiniResult): string {
  const byField = new Map<string, string[]>();
  for (const [term, fields] of Object.entries(hit.match)) {
    const f = FIELD_WORDS[fields[0] ?? ''] ?? fields[0] ?? '?';
    byField.set(f, [...(byField.get(f) ?? []), term]);
  }
  const parts = [...byField].sort((a, b) => b[1].length - a[1].length).slice(0, 3)
    .map(([f, terms]) => `${terms.slice(0, 4).map((t) => `'${t}'`).join(', ')} in its ${f}`);
  return `matched ${parts.join('; ')}`;
}

const pct = (x: number) => `${Math.abs(x).toFixed(0)} %`;

/** Pure ranking over entry summaries and history (the store wrapper is searchLibrary). */
export function rankEntries(entries: EntrySummary[], history: HistoryRecord[], weights: RetrievalWeights, q: SearchQuery): SearchResult[] {
  const text = new Map<string, { score: number; hit: MiniResult }>();
  if (q.query?.trim()) {
    const hits = indexFor(entries).search(q.query);
    const top = hits[0]?.score || 1;
    for (const h of hits) text.set(String(h.id), { score: h.score / top, hit: h });
  }

  const explicit = new Set(q.tags ?? []);
  const implied = new Set((q.fingerprint ? impliedTags(q.fingerprint) : []).filter((t) => !explicit.has(t)));
  const tagMass = explicit.size + 0.5 * implied.size;

  // results on similar workloads, by entry: one pass over the history
  const similar = new Map<string, { r: HistoryRecord; sim: number }[]>();
  if (q.fingerprint) {
    for (const r of history) {
      if (!r.workload.fingerprint) continue;
      const sim = similarity(q.fingerprint, r.workload.fingerprint);
      if (sim < weights.similarityThreshold) continue;
      let list = similar.get(r.entry);
      if (!list) similar.set(r.entry, (list = []));
      list.push({ r, sim });
    }
  }

  // scores for every entry first; reasons (strings) only for the ones returned
  const scored: { e: EntrySummary; score: number; parts: SearchResult['parts']; recs?: { r: HistoryRecord; sim: number }[] }[] = [];
  for (const e of entries) {
    if (q.family && e.family !== q.family) continue;
    const t = text.get(e.name);
    let tagHits = 0;
    for (const x of e.tags) tagHits += explicit.has(x) ? 1 : implied.has(x) ? 0.5 : 0;
    const recs = similar.get(e.name);
    if (!t && !tagHits && !recs && (q.query?.trim() || tagMass)) continue; // nothing in common
    let hist = 0;
    if (recs) {
      let num = 0;
      let den = 0;
      for (const { r, sim } of recs) {
        num += sim * recordScore(r);
        den += sim;
      }
      hist = (num / den) * (den / (den + 1)); // shrink towards 0 with little evidence
    }
    const parts = { text: round(t?.score ?? 0), tags: round(tagMass ? tagHits / tagMass : 0), history: round(hist) };
    const score = round(weights.text * parts.text + weights.tags * parts.tags + weights.history * parts.history);
    scored.push({ e, score, parts, recs });
  }
  scored.sort((a, b) => b.score - a.score || b.parts.text - a.parts.text || a.e.name.localeCompare(b.e.name));

  return scored.slice(0, q.limit ?? 5).map(({ e, score, parts, recs }) => {
    const why: string[] = [];
    const t = text.get(e.name);
    if (t) why.push(textWhy(t.hit));
    const fromQuery = e.tags.filter((x) => explicit.has(x));
    const fromProfile = e.tags.filter((x) => implied.has(x));
    if (fromQuery.length) why.push(`has the tags you asked for: ${fromQuery.join(', ')}`);
    if (fromProfile.length) why.push(`has tags the profile suggests: ${fromProfile.join(', ')}`);
    if (recs) {
      // the strongest piece of evidence: most similar and most decisive
      let ev = recs[0]!;
      let evS = recordScore(ev.r);
      for (const x of recs) {
        const s = recordScore(x.r);
        if (x.sim * Math.abs(s) > ev.sim * Math.abs(evS)) [ev, evS] = [x, s];
      }
      const h = headlineImprovement(ev.r);
      const what = ev.r.outcome === 'failed' ? `failed${ev.r.note ? ` (${ev.r.note.slice(0, 80)})` : ''}`
        : h ? `${h.pct >= 0 ? 'improved' : 'worsened'} ${h.metric} by ${pct(h.pct)}` : ev.r.outcome;
      const more = recs.length > 1 ? `; ${recs.length} results on similar workloads, history score ${parts.history.toFixed(2)}` : '';
      why.push(`${what} on a similar workload "${ev.r.workload.name}" (similarity ${ev.sim.toFixed(2)}${more})`);
    }
    return { name: e.name, title: e.title, family: e.family, score, parts, why };
  });
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** search_library: rank the library's entries for a query; returns the weights in use and how learning is doing. */
export async function searchLibrary(store: LibraryStore, q: SearchQuery): Promise<{ results: SearchResult[]; weights: SearchWeights }> {
  if (q.family !== undefined && !LibraryEntry.shape.family.safeParse(q.family).success) {
    throw new ScxError('BAD_INPUT', `unknown family "${q.family}"`, `families: ${LibraryEntry.shape.family.options.join(', ')}`);
  }
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 1)) throw new ScxError('BAD_INPUT', `limit must be a positive integer, not ${q.limit}`);
  const l = store.learning();
  const results = rankEntries(store.cachedSummaries(), store.history(), l.weights, q);
  return { results, weights: { ...l.weights, evaluated: l.evaluations, rankedBestFirst: l.rankedBestFirst } };
}
