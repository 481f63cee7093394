/**
 * Past questions: workload descriptions people wrote (issue trackers, forums, paraphrases), each with the
 * scheduler family that serves it and the objective it asks for, shipped in library/questions/*.json.
 * search_library asks them as a second opinion: the families of the questions most like the query's words
 * (minisearch, BM25, the same term processing as the entries' index) vote, weighted by how alike they are.
 * Entries are described in their authors' words; past questions are in users' words, which is what a query is.
 *
 * The library's own results add to them (learnedQuestions): a workload described in words whose measured result
 * improved on the kernel default becomes a question served by the family that measured best on it.
 *
 * The sets kept out of any tuning (fixtures/search/heldout*.json) are never here; a precision run over a set
 * that is here asks the others only (core/bench/search-precision.ts: leave the set out).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { z } from 'zod';
import { ScxError } from '../errors.js';
import { LibraryEntry, Objective, type EntrySummary } from '../model/entry.js';
import { headlineImprovement, isSeedResult, type HistoryRecord } from './history.js';
import { objectiveOfMetric } from './objective.js';

export const QuestionItem = z.object({
  description: z.string().min(1),
  expectedFamily: LibraryEntry.shape.family,
  objective: Objective,
  tags: z.array(z.string()).optional(),
  source: z.string().optional(),
  why: z.string().optional(),
});
export type QuestionItem = z.infer<typeof QuestionItem>;
export const QuestionSet = z.object({ about: z.string(), items: z.array(QuestionItem).min(1) });

/** One past question, with the set it came from (for leave-one-set-out measurement). */
export type Question = QuestionItem & { set: string };

/** The questions of every set in `dir` (library/questions): a set that does not validate is an error, not skipped. */
export function loadQuestions(dir: string): Question[] {
  if (!existsSync(dir)) return [];
  const out: Question[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const set = f.slice(0, -'.json'.length);
    const parsed = QuestionSet.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    if (!parsed.success) throw new ScxError('BAD_INPUT', `${join(dir, f)} is not a question set: ${parsed.error.issues[0]?.message ?? ''}`, 'each item needs description, expectedFamily and objective: fix the file or move it out of library/questions');
    for (const it of parsed.data.items) out.push({ ...it, set });
  }
  return out;
}

/** The set name of the questions the library's own results make. */
export const LEARNED_SET = 'learned';
/** A description shorter than this (in words) says too little to be asked. */
const LEARNED_MIN_WORDS = 4;

/**
 * Past questions from the library's results: for each workload description (record_result's workload.description,
 * the agent's words for it), the improved result with the largest headline gain becomes a question served by that
 * entry's family. Its objective is the one the record names, else the one its headline metric speaks for, else the
 * entry's main one. Results that regressed, failed or changed nothing teach no family, and neither do the results the
 * seed ships: those are the benchmark fixtures' descriptions, not a user's words (search weighs them as history).
 */
export function learnedQuestions(history: readonly HistoryRecord[], entries: readonly EntrySummary[]): Question[] {
  const family = new Map(entries.map((e) => [e.name, e]));
  const best = new Map<string, { r: HistoryRecord; head: ReturnType<typeof headlineImprovement>; e: EntrySummary }>();
  for (const r of history) {
    const words = r.workload.description?.trim();
    const e = family.get(r.entry);
    if (r.outcome !== 'improved' || isSeedResult(r) || !words || !e || words.split(/\s+/).length < LEARNED_MIN_WORDS) continue;
    const key = words.toLowerCase().replace(/\s+/g, ' ');
    const head = headlineImprovement(r);
    const had = best.get(key);
    if (!had || (head?.pct ?? 0) > (had.head?.pct ?? 0)) best.set(key, { r, head, e });
  }
  const out: Question[] = [];
  for (const { r, head, e } of best.values()) {
    const objective = r.workload.objective ?? (head && objectiveOfMetric(head.metric)) ?? e.objectives?.serves[0];
    const fam = LibraryEntry.shape.family.safeParse(e.family);
    if (!objective || !fam.success) continue;
    const gain = head ? `, ${head.metric} ${head.pct >= 0 ? '+' : ''}${head.pct.toFixed(0)} % vs the kernel default` : '';
    out.push({
      description: r.workload.description!.trim(),
      expectedFamily: fam.data,
      objective,
      source: `your result ${r.id}: ${r.entry} on "${r.workload.name}"${gain}, ${r.at.slice(0, 10)}`,
      set: LEARNED_SET,
    });
  }
  return out;
}

const askedCache = new WeakMap<Question[], Map<Objective, Set<string>>>();

/** The families the past questions that asked for `objective` were served by, or null when none asked for it. */
export function familiesAskedFor(questions: Question[], objective: Objective): Set<string> | null {
  let byObjective = askedCache.get(questions);
  if (!byObjective) {
    byObjective = new Map();
    for (const q of questions) {
      let families = byObjective.get(q.objective);
      if (!families) byObjective.set(q.objective, (families = new Set()));
      families.add(q.expectedFamily);
    }
    askedCache.set(questions, byObjective);
  }
  return byObjective.get(objective) ?? null;
}

/** How many of the most alike questions vote. */
export const NEIGHBOURS = 7;

export interface QuestionVotes {
  /** share of the neighbours' similarity per family, summing to 1 */
  families: Map<string, number>;
  /** share per objective, summing to 1 */
  objectives: Map<Objective, number>;
  neighbours: { question: Question; score: number }[];
}

const indexCache = new WeakMap<Question[], MiniSearch<{ id: number; description: string }>>();

/** The families and objectives of the past questions most like `query`, or null when none shares a word. */
export function questionVotes(questions: Question[], query: string, processTerm: (t: string) => string | null): QuestionVotes | null {
  if (!questions.length || !query.trim()) return null;
  let idx = indexCache.get(questions);
  if (!idx) {
    idx = new MiniSearch({ fields: ['description'], processTerm, searchOptions: { prefix: (t) => t.length > 3, combineWith: 'OR' } });
    idx.addAll(questions.map((q, id) => ({ id, description: q.description })));
    indexCache.set(questions, idx);
  }
  const neighbours = idx
    .search(query)
    .slice(0, NEIGHBOURS)
    .map((h) => ({ question: questions[h.id as number]!, score: h.score }));
  const total = neighbours.reduce((a, n) => a + n.score, 0);
  if (!total) return null;
  const families = new Map<string, number>();
  const objectives = new Map<Objective, number>();
  for (const { question: q, score } of neighbours) {
    families.set(q.expectedFamily, (families.get(q.expectedFamily) ?? 0) + score / total);
    objectives.set(q.objective, (objectives.get(q.objective) ?? 0) + score / total);
  }
  return { families, objectives, neighbours };
}
