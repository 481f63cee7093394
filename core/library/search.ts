/**
 * search_library's ranking. Three parts, each in [0, 1] (history in [-1, 1]):
 *  - text: full-text match (minisearch, BM25) of the query against what an entry is
 *    for (title, description, algorithm, use cases, tags, family), relative to the best hit;
 *  - tags: overlap with the query's tags and, at half weight, the tags its fingerprint implies;
 *  - history: how the entry did on past workloads with a similar fingerprint
 *    (similarity-weighted mean of outcomes, shrunk towards 0 when there is little evidence).
 *  - objective: 1 when the objective asked for (or guessed from the words, objective.ts) is the
 *    entry's main one, 0.6 when it also serves it, -0.5 when it trades it away (entry.json objectives);
 *    a positive objective part is scaled by (1 + history) when the entry measured worse than the
 *    default on similar workloads (history < 0): measurements outweigh what an entry claims.
 * The first three are combined with the retrieval weights that learning.ts tunes from outcomes; the
 * objective adds OBJECTIVE_WEIGHT.given when it was given, or the guess's confidence x OBJECTIVE_WEIGHT.inferred.
 * Past questions (questions.ts) add a second opinion from users' words: the families of the questions most
 * like the query vote, and an entry gains QUESTION_WEIGHT x its family's share x the best score before the vote.
 * Constraints exclude entries (kernel, userspace) or rank them lower (no hints).
 * Every result carries its parts and the reasons, in plain words.
 */
import MiniSearch, { type SearchResult as MiniResult } from 'minisearch';
import { ScxError } from '../errors.js';
import { similarity, type Fingerprint } from '../model/fingerprint.js';
import { headlineImprovement, improvementPct, recordScore, type HistoryRecord, type RetrievalWeights } from './history.js';
import { inferObjective, OBJECTIVE_METRICS, OBJECTIVE_WORDS } from './objective.js';
import { familiesAskedFor, questionVotes, type Question, type QuestionVotes } from './questions.js';
import { ownReading, readQuestion, type OwnReading, type Reader, type Reading } from './reading.js';
import { LibraryEntry, Objective, type EntrySummary } from '../model/entry.js';

export interface SearchQuery {
  /** the workload and the goal, in words */
  query?: string;
  tags?: string[];
  /** from profile_workload */
  fingerprint?: Fingerprint;
  /** only this policy family */
  family?: string;
  /** what to optimise; when absent, guessed from the query's words (and reported) */
  objective?: Objective;
  /** guess the objective from the words when none is given (default true) */
  guessObjective?: boolean;
  /** the question as the agent read it (reading.ts's guide, scx://families): checked, then ranked by like a model's reading */
  readAs?: OwnReading;
  /** the question as read, checked (searchLibrary sets it from `readAs` or its reader): its family ranks first, its objective is ranked for unless one is given */
  reading?: Reading;
  constraints?: SearchConstraints;
  limit?: number;
  /** skip this many results (pagination: the previous page's `next`) */
  offset?: number;
}

export interface SearchConstraints {
  /** only schedulers that need no userspace part of their own */
  noUserspace?: boolean;
  /** the kernel it must work on, e.g. "6.12": entries whose minKernel is newer are excluded */
  kernel?: string;
  /** no job hints can be given: entries that need job lengths rank lower */
  noHints?: boolean;
}

export interface SearchResult {
  name: string;
  title: string;
  family: string;
  score: number;
  parts: { text: number; tags: number; history: number; objective: number; questions: number };
  why: string[];
  /** how it relates to the objective ranked for: its main one, one it also serves, one it costs, none, or it declares none */
  objective: { match: 'main' | 'serves' | 'costs' | 'no' | 'none' | 'undeclared'; serves: Objective[]; costs: { objective: Objective; why: string }[]; evidence: string };
}

/** The weights in use, and how well learning's rankings have matched measurements so far. */
export type SearchWeights = RetrievalWeights & { evaluated: number; rankedBestFirst: number };

const STOP = new Set((
  'a an and are as at be but by can do does for from get gets has have how i in into is it its just me my of on or our so ' +
  'that the their them then there these this those to too was we what when which while who will with would you your ' +
  'want wants need needs make makes like very much more less than should could please also all any each other same ' +
  'job jobs workload workloads task tasks process processes thing things one some lot lots many per'
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
  small: ['short'], tiny: ['short'], quick: ['short'],
  big: ['long'], huge: ['long'], giant: ['long'], slow: ['long'], lengthy: ['long'],
  lag: ['latency'], laggy: ['latency'], stutter: ['latency', 'responsiveness'], jank: ['latency'], glitch: ['latency'],
  sluggish: ['responsiveness'], responsive: ['responsiveness'], snappy: ['responsiveness'],
  favour: ['priority'], favor: ['priority'], prefer: ['priority'], prioritise: ['priority'], prioritize: ['priority'], important: ['priority'],
  fairly: ['fair'], share: ['fair'], starve: ['starvation'], starving: ['starvation'],
  periodic: ['deadline'], period: ['deadline'], realtime: ['deadline'],
  sooner: ['makespan'], reference: ['baseline'], simplest: ['simple'], evenly: ['equal'], identical: ['similar'], migrate: ['migration'], migrating: ['migration'], bounce: ['migration'], bouncing: ['migration'],
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

/** How much the objective counts: given, it decides among entries (text orders those that serve it); guessed, it leans (by the shares of the objectives the words suggest). */
export const OBJECTIVE_WEIGHT = { given: 1, inferred: 0.75 } as const;

/** How much the past questions' vote counts, relative to the best score before it (a family all neighbours voted for gains that score once more). */
export const QUESTION_WEIGHT = 1;

/** The objective search ranked for, and where it came from. */
export interface ObjectiveUsed {
  objective: Objective | null;
  source: 'given' | 'read' | 'inferred' | 'none';
  /** for an inferred one: its confidence, the phrases that decided it, the runners-up */
  confidence?: number;
  evidence?: string[];
  alternatives?: { objective: Objective; score: number }[];
  /** each objective's share of the classifier's rule scores for the query's words */
  shares?: Partial<Record<Objective, number>>;
  note: string;
}

function objectiveFit(e: EntrySummary, o: Objective | null): { part: number; match: SearchResult['objective']['match'] } {
  if (!o || !e.objectives) return { part: 0, match: o ? 'undeclared' : 'none' };
  const i = e.objectives.serves.indexOf(o);
  if (i === 0) return { part: 1, match: 'main' };
  if (i > 0) return { part: i === 1 ? 0.8 : 0.6, match: 'serves' };
  if (e.objectives.costs.some((c) => c.objective === o)) return { part: -0.5, match: 'costs' };
  return { part: 0, match: 'no' };
}

/**
 * The objective part of an entry's score. Guessed: the fit to every objective the words suggest,
 * weighted by its share of the rule scores. Given: 1 for an entry whose main objective it is, 0.95 for
 * one that also serves it (the agent said what it wants), -0.5 for one that trades it away, plus
 * the fit to the others the words suggest, halved (they break ties among entries that serve it).
 */
function objectivePart(e: EntrySummary, used: ObjectiveUsed): number {
  const shares = used.shares ?? {};
  const stated = isStated(used);
  let words = 0;
  for (const [o, share] of Object.entries(shares) as [Objective, number][]) {
    if (stated && o === used.objective) continue;
    words += share * objectiveFit(e, o).part;
  }
  if (stated) {
    const fit = objectiveFit(e, used.objective);
    return (fit.match === 'main' ? 1 : fit.match === 'serves' ? 0.95 : fit.part) + words / 2;
  }
  return words;
}

/** An objective given by the caller or read by a model counts as stated: it decides; a guess from the words only leans. */
const isStated = (used: ObjectiveUsed) => used.source === 'given' || used.source === 'read';

/** What the library measured for an entry on an objective's metrics (all its history, not only similar workloads): how often, the mean change, the best. */
function measuredEvidence(history: HistoryRecord[], o: Objective | null): string {
  if (!history.length) return 'no measured results yet';
  const re = o ? OBJECTIVE_METRICS[o] : undefined;
  let best: { r: HistoryRecord; metric: string; pct: number } | undefined;
  let n = 0;
  let sum = 0;
  for (const r of history) {
    for (const [metric, v] of Object.entries(improvementPct(r))) {
      if (re && !re.test(metric)) continue;
      n++;
      sum += v;
      if (!best || v > best.pct) best = { r, metric, pct: v };
    }
  }
  const results = `${history.length} result${history.length > 1 ? 's' : ''}`;
  if (!best) return `${results} measured, none on ${o ? OBJECTIVE_WORDS[o].split(' (')[0] : 'a metric with a baseline'}`;
  const signed = (x: number) => `${x >= 0 ? '+' : '-'}${pct(x)}`;
  return `${n} measurement${n > 1 ? 's' : ''} of ${o ? OBJECTIVE_WORDS[o].split(' (')[0] : 'its metrics'} in ${results} vs the kernel default: mean ${signed(sum / n)}, best ${best.metric} ${signed(best.pct)} on "${best.r.workload.name}" (${best.r.target}, ${best.r.at.slice(0, 10)})`;
}

function kernelAtLeast(have: string, need: string): boolean {
  const a = have.split(/[.+-]/).map((x) => parseInt(x, 10) || 0);
  const b = need.split(/[.+-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < 2; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** How much the rules' reading of the words counts in the guess, against the past questions' objectives (1 - this). */
export const RULE_SHARE = 0.7;
/** A guess from the past questions alone needs at least this share of their vote: scattered neighbours are no guess. */
export const QUESTIONS_ALONE_MIN_SHARE = 0.5;

/**
 * The objective to rank for: the one given, else a guess from the query's words (objective.ts's rules) and the
 * objectives of the past questions most like it (questions.ts), each objective's share mixed RULE_SHARE to 1 - RULE_SHARE.
 */
export function objectiveFor(q: SearchQuery, votes: QuestionVotes | null = null): ObjectiveUsed {
  const g = q.query?.trim() ? inferObjective(q.query) : undefined;
  const ruleTotal = Object.values(g?.scores ?? {}).reduce((a, x) => a + x, 0);
  const mixed = new Map<Objective, number>();
  const wRule = votes ? RULE_SHARE : 1;
  for (const [o, x] of Object.entries(g?.scores ?? {}) as [Objective, number][]) mixed.set(o, (wRule * x) / ruleTotal);
  for (const [o, x] of votes?.objectives ?? []) mixed.set(o, (mixed.get(o) ?? 0) + (ruleTotal ? 1 - wRule : 1) * x);
  if (q.objective || q.reading) {
    // given, or read by a model: the words' other objectives only break ties among the entries that serve it
    const words = Object.fromEntries(Object.entries(g?.scores ?? {}).map(([o, x]) => [o, x / ruleTotal])) as Partial<Record<Objective, number>>;
    if (q.objective) return { objective: q.objective, source: 'given', shares: words, note: `ranked for ${OBJECTIVE_WORDS[q.objective]}, as given` };
    const o = q.reading!.objective;
    return { objective: o, source: 'read', shares: words, note: `ranked for ${OBJECTIVE_WORDS[o]}, as ${q.reading!.by} read your question; if that is not the goal, pass \`objective\`` };
  }
  const shares = Object.fromEntries([...mixed].map(([o, x]) => [o, round(x)])) as Partial<Record<Objective, number>>;
  if (q.guessObjective === false) return { objective: null, source: 'none', note: 'no objective given or guessed: pass `objective` to rank by what the entries optimise' };
  const ranked = [...mixed].sort((a, b) => b[1] - a[1] || Objective.options.indexOf(a[0]) - Objective.options.indexOf(b[0]));
  const best = ranked[0];
  // from the past questions alone (no rule matched the words), only a majority of their vote is a guess
  if (!best || (!ruleTotal && best[1] < QUESTIONS_ALONE_MIN_SHARE))
    return { objective: null, source: 'none', note: 'could not tell the objective from the words: pass `objective` (e.g. "makespan", "tail_latency")' };
  const [objective, confidence] = best;
  const fromWords = g?.objective === objective ? g.evidence : [];
  const asked = votes?.neighbours.filter((n) => n.question.objective === objective).length ?? 0;
  const from = [
    ...(fromWords.length ? [fromWords.map((x) => `'${x}'`).join(', ')] : []),
    ...(asked ? [`${asked} of the ${votes!.neighbours.length} past questions most like yours`] : []),
  ].join(' and ');
  const alternatives = ranked.slice(1, 3).map(([o, x]) => ({ objective: o, score: round(x) }));
  return {
    objective, source: 'inferred', confidence: round(confidence), evidence: fromWords, alternatives, shares,
    note: `guessed ${OBJECTIVE_WORDS[objective]} from ${from} (confidence ${confidence.toFixed(2)}`
      + `${alternatives.length ? `; next: ${alternatives.map((a) => a.objective).join(', ')}` : ''}); if that is not the goal, pass \`objective\``,
  };
}

type Scored = { e: EntrySummary; score: number; factor: number; unasked: boolean; readTier: number; parts: SearchResult['parts']; fit: ReturnType<typeof objectiveFit>; recs?: { r: HistoryRecord; sim: number }[]; notes: string[] };
type Ranking = { ranked: Scored[]; objective: ObjectiveUsed; excluded: { name: string; why: string }[]; text: Map<string, { score: number; hit: MiniResult }>; votes: QuestionVotes | null };

/** Every matching entry scored and sorted, the objective used, and what the constraints excluded. */
export function rankAll(entries: EntrySummary[], history: HistoryRecord[], weights: RetrievalWeights, q: SearchQuery, questions: Question[] = []): Ranking {
  const text = new Map<string, { score: number; hit: MiniResult }>();
  if (q.query?.trim()) {
    const hits = indexFor(entries).search(q.query);
    const top = hits[0]?.score || 1;
    for (const h of hits) text.set(String(h.id), { score: h.score / top, hit: h });
  }
  const votes = q.query?.trim() ? questionVotes(questions, q.query, processTerm) : null;
  const objective = objectiveFor(q, votes);
  // a given objective: the families the past questions that asked for it were served by rank first (a reading orders by its families instead)
  const stated = isStated(objective);
  const reading = q.reading;
  const askedFor = stated && objective.objective && !reading ? familiesAskedFor(questions, objective.objective) : null;
  const wObj = stated ? OBJECTIVE_WEIGHT.given : objective.source === 'inferred' ? OBJECTIVE_WEIGHT.inferred : 0;
  // a model's reading: its family first, then the ones it said would also serve, then the rest
  const readTier = (family: string) => (!reading ? 0 : family === reading.family ? 0 : reading.alsoFine.includes(family) ? 1 : 2);

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

  const c = q.constraints ?? {};
  const excluded: { name: string; why: string }[] = [];
  const scored: Scored[] = [];
  for (const e of entries) {
    if (q.family && e.family !== q.family) continue;
    const needs = e.objectives?.needs ?? [];
    if (c.kernel && e.minKernel && !kernelAtLeast(c.kernel, e.minKernel)) {
      excluded.push({ name: e.name, why: `needs kernel ${e.minKernel} or newer, not ${c.kernel}` });
      continue;
    }
    if (c.noUserspace && needs.includes('userspace')) {
      excluded.push({ name: e.name, why: 'needs its userspace part running beside it' });
      continue;
    }
    const t = text.get(e.name);
    let tagHits = 0;
    for (const x of e.tags) tagHits += explicit.has(x) ? 1 : implied.has(x) ? 0.5 : 0;
    const recs = similar.get(e.name);
    const fit = objectiveFit(e, objective.objective);
    // an entry built for the objective (given, or guessed: its main one) is a candidate even when no word matched
    const servesObjective = stated ? fit.part > 0 : fit.match === 'main';
    const tier = readTier(e.family);
    const asked = votes?.families.get(e.family) ?? 0;
    if (!t && !tagHits && !recs && !servesObjective && !asked && !(reading && tier < 2) && (q.query?.trim() || tagMass)) continue; // nothing in common
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
    const notes: string[] = [];
    let factor = 1;
    if (c.noHints && needs.includes('job-lengths')) {
      factor = 0.6;
      notes.push('without hints it must read job lengths from length-coded task names or learn them from history (ranked lower: no hints available)');
    }
    const unasked = askedFor ? !askedFor.has(e.family) : false;
    if (reading && tier === 1) notes.push(`${reading.by} said ${e.family} would also serve: ranked after ${reading.family}, the family it read your question as`);
    if (reading && tier === 2) notes.push(`${reading.by} read your question as ${reading.family}: ranked after it`);
    if (unasked) notes.push(`no past question that asked for ${objective.objective} was served by ${e.family}: ranked after the families that were`);
    if (c.noUserspace && e.userspace) notes.push(`its userspace part (${e.userspace}) is optional: it runs without it`);
    let objPart = objectivePart(e, objective);
    if (hist < 0 && objPart > 0) {
      // measured worse than the default on similar workloads: what the entry claims to serve counts
      // for as much as its measurements leave of it (history -1: nothing)
      objPart *= 1 + hist;
      notes.push(`measured worse than the kernel default on similar workloads (history ${hist.toFixed(2)}): its claim to the objective counts for ${Math.round((1 + hist) * 100)} %`);
    }
    const parts = { text: round(t?.score ?? 0), tags: round(tagMass ? tagHits / tagMass : 0), history: round(hist), objective: round(objPart), questions: round(asked) };
    const score = round(factor * (weights.text * parts.text + weights.tags * parts.tags + weights.history * parts.history + wObj * parts.objective));
    scored.push({ e, score, factor, unasked, readTier: tier, parts, fit, recs, notes });
  }
  if (votes) {
    const top = Math.max(...scored.map((x) => x.score));
    const scale = top > 0 ? top : 1;
    for (const x of scored) x.score = round(x.score + x.factor * QUESTION_WEIGHT * scale * x.parts.questions); // a constraint's penalty holds for the vote too
  }
  scored.sort((a, b) => a.readTier - b.readTier || Number(a.unasked) - Number(b.unasked) || b.score - a.score || b.parts.text - a.parts.text || a.e.name.localeCompare(b.e.name));
  return { ranked: scored, objective, excluded, text, votes };
}

/** Reasons in words for one scored entry. */
function explain({ e, score, parts, fit, recs, notes }: Scored, { text, votes, objective }: Ranking, q: SearchQuery, history: HistoryRecord[]): SearchResult {
  const why: string[] = [];
  if (q.reading?.family === e.family) why.push(`${q.reading.by} read your question as ${e.family}, for ${q.reading.objective}`);
  const t = text.get(e.name);
  if (t) why.push(textWhy(t.hit));
  if (parts.questions && votes) why.push(askedWhy(e.family, votes));
  const explicit = new Set(q.tags ?? []);
  const implied = new Set((q.fingerprint ? impliedTags(q.fingerprint) : []).filter((x) => !explicit.has(x)));
  const fromQuery = e.tags.filter((x) => explicit.has(x));
  const fromProfile = e.tags.filter((x) => implied.has(x));
  const o = objective.objective;
  if (o) {
    const cost = e.objectives?.costs.find((x) => x.objective === o);
    why.push(fit.match === 'main' ? `built for ${OBJECTIVE_WORDS[o]}`
      : fit.match === 'serves' ? `also serves ${OBJECTIVE_WORDS[o]} (mainly ${e.objectives!.serves[0]})`
        : fit.match === 'costs' ? `trades ${o} away: ${cost?.why ?? ''}`
          : fit.match === 'undeclared' ? 'declares no objectives' : `does not aim at ${o} (it serves ${e.objectives!.serves.join(', ')})`);
  }
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
  why.push(...notes);
  const mine = history.filter((r) => r.entry === e.name);
  return {
    name: e.name, title: e.title, family: e.family, score, parts, why,
    objective: { match: fit.match, serves: e.objectives?.serves ?? [], costs: e.objectives?.costs ?? [], evidence: measuredEvidence(mine, o) },
  };
}

/** Pure ranking over entry summaries and history (the store wrapper is searchLibrary): one page of results. */
export function rankEntries(entries: EntrySummary[], history: HistoryRecord[], weights: RetrievalWeights, q: SearchQuery, questions: Question[] = []): SearchResult[] {
  return rankPage(entries, history, weights, q, questions).results;
}

export function rankPage(entries: EntrySummary[], history: HistoryRecord[], weights: RetrievalWeights, q: SearchQuery, questions: Question[] = []): SearchPage {
  const ranking = rankAll(entries, history, weights, q, questions);
  const { ranked, objective, excluded } = ranking;
  const offset = q.offset ?? 0;
  const limit = q.limit ?? 5;
  const results = ranked.slice(offset, offset + limit).map((s) => explain(s, ranking, q, history));
  return { results, objective, excluded, total: ranked.length, next: offset + limit < ranked.length ? offset + limit : null };
}

/** "3 of the 7 past questions most like yours were served by ljf, e.g. "..." (source)". */
function askedWhy(family: string, votes: QuestionVotes): string {
  const mine = votes.neighbours.filter((n) => n.question.expectedFamily === family);
  const ex = mine[0]!.question;
  const words = ex.description.replace(/[\p{Cc}\s]+/gu, ' ').trim(); // one line, whoever wrote it (a learned question is a record's words)
  const quote = words.length > 90 ? `${words.slice(0, 87)}...` : words;
  const share = Math.round((votes.families.get(family) ?? 0) * 100);
  return `${mine.length} of the ${votes.neighbours.length} past questions most like yours were served by ${family} (${share} % of the vote), e.g. "${quote}"${ex.source ? ` (${ex.source})` : ''}`;
}

export interface SearchPage {
  results: SearchResult[];
  objective: ObjectiveUsed;
  excluded: { name: string; why: string }[];
  /** how many entries matched in all */
  total: number;
  /** the offset of the next page, or null on the last one */
  next: number | null;
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** What search reads of the library (a LibraryStore): its entries, history and learned weights. */
export interface SearchSource {
  cachedSummaries(): EntrySummary[];
  history(): HistoryRecord[];
  /** past questions in users' words (library/questions), when the source has them */
  questions?(): Question[];
  learning(): { weights: RetrievalWeights; evaluations: number; rankedBestFirst: number };
}

/** How the question was read, when a reader was lent: the reading used, or why there is none. */
export type ReadingOutcome = { reading: Reading } | { error: string };

/**
 * search_library: rank the library's entries for a query; returns the weights in use and how learning is doing.
 * With the agent's own reading (`readAs`), it is ranked by; else, with a `reader` (a model the client lends) and words
 * to read, the question is read first (reading.ts); a reading that fails leaves the words-only search, and says why.
 */
export async function searchLibrary(
  store: SearchSource,
  q: SearchQuery,
  reader?: Reader,
  signal?: AbortSignal,
): Promise<SearchPage & { weights: SearchWeights; read?: ReadingOutcome }> {
  if (q.family !== undefined && !LibraryEntry.shape.family.safeParse(q.family).success) {
    throw new ScxError('BAD_INPUT', `unknown family "${q.family}"`, `families: ${LibraryEntry.shape.family.options.join(', ')}`);
  }
  if (q.limit !== undefined && (!Number.isInteger(q.limit) || q.limit < 1)) throw new ScxError('BAD_INPUT', `limit must be a positive integer, not ${q.limit}`);
  if (q.offset !== undefined && (!Number.isInteger(q.offset) || q.offset < 0)) throw new ScxError('BAD_INPUT', `offset must be a non-negative integer, not ${q.offset}`);
  if (q.objective !== undefined && !Objective.safeParse(q.objective).success) {
    throw new ScxError('BAD_INPUT', `unknown objective "${q.objective}"`, `objectives: ${Objective.options.join(', ')}`);
  }
  const l = store.learning();
  const entries = store.cachedSummaries();
  // the agent's own reading, when it gave one, else the client's model's, when one was lent
  const own = q.readAs ? ownReading(q.readAs, entries) : q.reading;
  const read = reader && q.query?.trim() && !own ? await readQuestion(reader, entries, q.query, q.objective, signal) : undefined;
  const asked = own ? { ...q, reading: own } : read && 'reading' in read ? { ...q, reading: read.reading } : q;
  const page = rankPage(entries, store.history(), l.weights, asked, store.questions?.() ?? []);
  if (read && 'error' in read) page.objective = { ...page.objective, note: `${page.objective.note} (${read.error}: ranked from the words alone)` };
  return { ...page, weights: { ...l.weights, evaluated: l.evaluations, rankedBestFirst: l.rankedBestFirst }, ...(read ? { read } : {}) };
}
