/**
 * precision@1 of search_library on the labelled description sets: the past questions search asks
 * (library/questions/*.json) and the sets kept out of everything (fixtures/search/*.json), from the
 * words alone (the objective guessed) and with the labelled objective given. A set search asks is
 * measured with that set left out of the past questions, so no question votes for itself.
 * Used by npm run bench:search and tests/unit/search-objective.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readingRequest, type Reader, type ReadingRequest } from '../library/reading.js';
import { QuestionSet, type Question, type QuestionItem } from '../library/questions.js';
import { searchLibrary, type SearchSource } from '../library/search.js';
import { repoRoot } from '../paths.js';

/** One labelled description: the same shape as a past question (questions.ts's schema reads both). */
export type LabelledItem = QuestionItem;

/**
 * labelled and tuning were used to write the objective rules, dev and dev2 after each was measured
 * once as the held-out set; heldout never (no rule, keyword, synonym or weight comes from it), but one
 * change since its blind measurement (text 0.87, objective given 0.93) was prompted by a miss seen there.
 */
export const HELDOUT_NOTE =
  'measured blind: text alone 0.87, objective given 0.93; since then one change prompted by a miss seen there (entries built for the guessed objective are candidates without a word in common)';
export const LABELLED_SETS = [
  'labelled',
  'tuning',
  'dev',
  'dev2',
  'heldout',
  'heldout4',
  'heldout5',
  'heldout6',
  'heldout7',
  'heldout8',
  'heldout9',
  'heldout10',
  'heldout11',
  'heldout12',
] as const;
/**
 * heldout4: 40 real questions from public issue trackers and forums (sources per item), labelled and
 * committed before any measurement. Measured once on 2026-12-01: text alone 0.65 (objective guessed
 * right 0.45), objective given 0.875. A change decided before it was collected (the given objective's
 * fit taken from objectiveFit: 0.8 for an entry's second objective, not 0.95) was measured on every
 * set and not kept: heldout4 unchanged (0.875), heldout 0.93 -> 1.00, dev 0.94 -> 0.87, tuning 1.00 -> 0.96.
 */
export const HELDOUT4_NOTE = 'real questions, measured blind once: text alone 0.65, objective given 0.875; tuned on since';
/**
 * heldout5: 40 more real questions (sources per item), collected and labelled by someone who saw neither the
 * search code nor its results, committed before any measurement. Measured once on 2026-12-01, after the rules
 * learned from heldout4: text alone 0.45 (objective guessed right 0.55), objective given 0.725. The code before
 * that tuning scored 0.40 / 0.50 / 0.65 on it.
 */
export const HELDOUT5_NOTE =
  'real questions, measured blind once: text alone 0.45, objective given 0.725 (the code before tuning on heldout4: 0.40 / 0.65); tuned on since';
/**
 * heldout6: 40 more real questions, collected and labelled blind like heldout5, committed before any measurement.
 * Measured once on 2026-12-01, after tuning on heldout4 and heldout5: text alone 0.625 (objective guessed right
 * 0.55), objective given 0.90. The code of the stop before scored 0.475 / 0.40 / 0.80 on it.
 */
export const HELDOUT6_NOTE =
  'real questions, measured blind once: text alone 0.625, objective given 0.90 (the code before tuning on heldout4 and heldout5: 0.475 / 0.80); tuned on since';
/**
 * heldout7: 40 more real questions, collected and labelled blind like heldout5 and heldout6, committed before any
 * measurement. Measured once on 2026-12-01, after tuning on heldout4, heldout5 and heldout6: text alone 0.575
 * (objective guessed right 0.45), objective given 0.775. The code of the stop before scored 0.425 / 0.375 / 0.725.
 */
export const HELDOUT7_NOTE =
  "real questions, measured blind once: text alone 0.575, objective given 0.775 (the code before tuning on heldout4-6: 0.425 / 0.725); tuned on since (the past questions' weights)";
/**
 * heldout8: 40 more real questions, collected and labelled blind like heldout5-7, committed before any measurement,
 * and never among the past questions search asks. Measured once on 2026-12-02, after the past questions
 * (library/questions, heldout7 included) became part of search: text alone 0.775 (objective guessed right 0.775),
 * objective given 0.90. The code of the stop before (e2cca71) scored 0.70 / 0.575 / 0.775 on it.
 */
export const HELDOUT8_NOTE =
  'real questions, measured blind once: text alone 0.775, objective given 0.90 (the code of the stop before: 0.70 / 0.775); among the past questions since';
/**
 * heldout9: 40 more real questions (GitHub issues and pull requests), collected and labelled blind like heldout5-8 on
 * 2026-12-02, committed before any measurement. Measured once, at f9a09b5 (heldout8 among the past questions, learned
 * questions): text alone 0.625 (objective guessed right 0.625), objective given 0.80. The code of the stop before
 * (877a294) scored 0.65 / 0.60 / 0.825 on it. Among the past questions since.
 */
export const HELDOUT9_NOTE =
  'real questions, measured blind once: text alone 0.625, objective given 0.80 (the code of the stop before: 0.65 / 0.825); among the past questions since';
/**
 * heldout10: 40 more real questions (24 from GitHub, 16 from mailing lists, forums, blogs and other trackers), collected
 * and labelled blind like heldout5-9 on 2026-12-02, committed before any measurement, never among the past questions.
 */
export const HELDOUT10_NOTE =
  'real questions, measured blind once: text alone 0.675, objective given 0.825; read by a model (sampling), answers recorded after: 0.925 / 0.925';
/**
 * heldout11: 40 more real questions (all GitHub issues and pull requests), collected and labelled blind on 2026-12-02,
 * committed before any measurement, measured once from the words and once read by a model.
 */
export const HELDOUT11_NOTE =
  "real questions, measured blind once: text alone 0.60, objective given 0.70 (in the first 3: 0.90); the words-only search is the stop before's (9e59eb5)";
/**
 * heldout12: 40 more real questions (36 GitHub issues and pull requests, an LKML post, a blog, a vendor's support page,
 * a paper's text), collected and labelled blind on 2026-12-02 and committed (ab38bcc) before any measurement; measured
 * once from the words (the stop before's words-only search) and once read by a model, the reading fixed before it was collected.
 */
export const HELDOUT12_NOTE =
  'real questions, measured blind once: text alone 0.60, objective given 0.725 (in the first 3: 0.90); read by a model, blind: 0.90 / 0.925';
export type LabelledSet = (typeof LABELLED_SETS)[number];
/** How each set stands to tuning, for reports. */
export const SET_NOTES: Partial<Record<LabelledSet, { label: string; note: string }>> = {
  heldout: { label: 'heldout (not tuned on)', note: HELDOUT_NOTE },
  heldout4: { label: 'heldout4 (real questions, tuned on)', note: HELDOUT4_NOTE },
  heldout5: { label: 'heldout5 (real questions, tuned on)', note: HELDOUT5_NOTE },
  heldout6: { label: 'heldout6 (real questions, tuned on)', note: HELDOUT6_NOTE },
  heldout7: { label: 'heldout7 (real questions, tuned on)', note: HELDOUT7_NOTE },
  heldout8: { label: 'heldout8 (real questions, tuned on)', note: HELDOUT8_NOTE },
  heldout9: { label: 'heldout9 (real questions, tuned on)', note: HELDOUT9_NOTE },
  heldout10: { label: 'heldout10 (real questions, not tuned on)', note: HELDOUT10_NOTE },
  heldout11: { label: 'heldout11 (real questions, not tuned on)', note: HELDOUT11_NOTE },
  heldout12: { label: 'heldout12 (real questions, not tuned on)', note: HELDOUT12_NOTE },
};
/** The held-out set of real questions the issue's targets are judged on: the newest one no change was tuned on. */
export const TARGET_SET: LabelledSet = 'heldout12';

/** Where a set's file is: library/questions when search asks it, fixtures/search when it is kept out. */
export function labelledPath(set: string): string {
  const asked = join(repoRoot, 'library/questions', `${set}.json`);
  return existsSync(asked) ? asked : join(repoRoot, 'fixtures/search', `${set}.json`);
}

export function loadLabelled(set: LabelledSet): LabelledItem[] {
  return QuestionSet.parse(JSON.parse(readFileSync(labelledPath(set), 'utf8'))).items;
}

/** `store` with the past questions of `set`, and any question worded as one of `items`, left out. */
export function leavingOut(store: SearchSource, set: string | undefined, items: LabelledItem[]): SearchSource {
  const words = new Set(items.map((i) => i.description.trim().toLowerCase()));
  const questions: Question[] = (store.questions?.() ?? []).filter((q) => q.set !== set && !words.has(q.description.trim().toLowerCase()));
  return { cachedSummaries: () => store.cachedSummaries(), history: () => store.history(), learning: () => store.learning(), questions: () => questions };
}

export interface Precision {
  n: number;
  /** words alone: the objective guessed */
  text: number;
  /** the labelled objective given */
  withObjective: number;
  /** how often the guessed objective was the labelled one */
  objectiveGuessed: number;
  /** the labelled family among the first 3 results (what an agent reads on the first page), objective given */
  withObjectiveTop3: number;
  /** with a reader: the searches whose reading failed (no answer, or an answer the checks refused) */
  readFailures: number;
  misses: { mode: 'text' | 'objective'; want: string; got: string; guessed: string | null; description: string }[];
}

/**
 * precision@1 over `items` (of `set`, when it is one search asks: left out of the past questions). With a
 * `reader`, every search has the question read first, as for a client that lends its model.
 */
export async function precisionAt1(library: SearchSource, items: LabelledItem[], set?: string, reader?: Reader): Promise<Precision> {
  const store = leavingOut(library, set, items);
  let text = 0;
  let withObjective = 0;
  let guessed = 0;
  let top3 = 0;
  let readFailures = 0;
  const misses: Precision['misses'] = [];
  for (const it of items) {
    const tags = it.tags as never;
    const a = await searchLibrary(store, { query: it.description, tags, limit: 1 }, reader);
    if (a.read && 'error' in a.read) readFailures++;
    if (a.objective.objective === it.objective) guessed++;
    if (a.results[0]?.family === it.expectedFamily) text++;
    else
      misses.push({
        mode: 'text',
        want: it.expectedFamily,
        got: a.results[0]?.family ?? 'nothing',
        guessed: a.objective.objective,
        description: it.description,
      });
    const b = await searchLibrary(store, { query: it.description, tags, objective: it.objective, limit: 3 }, reader);
    if (b.read && 'error' in b.read) readFailures++;
    if (b.results.some((r) => r.family === it.expectedFamily)) top3++;
    if (b.results[0]?.family === it.expectedFamily) withObjective++;
    else
      misses.push({ mode: 'objective', want: it.expectedFamily, got: b.results[0]?.family ?? 'nothing', guessed: it.objective, description: it.description });
  }
  const n = items.length;
  const r = (x: number) => Math.round((x / n) * 1000) / 1000;
  return { n, text: r(text), withObjective: r(withObjective), objectiveGuessed: r(guessed), withObjectiveTop3: r(top3), readFailures, misses };
}

/**
 * A model's answers to the requests search sends a client's model (reading.ts), recorded: each is kept with
 * the digest of the exact request it answered, so an answer to a request the library has since changed
 * (an entry's words, the guide) is not used but counted as unanswered.
 */
export const RecordedReadings = z.object({
  about: z.string(),
  model: z.string(),
  items: z.array(z.object({ id: z.string(), objectiveGiven: z.boolean(), digest: z.string().regex(/^[0-9a-f]{64}$/), answer: z.string().max(4000) })),
});
export type RecordedReadings = z.infer<typeof RecordedReadings>;
export const READINGS_PATH = join(repoRoot, 'docs/results/search-readings.json');

export function requestDigest(req: ReadingRequest): string {
  return createHash('sha256').update(`${req.system}\n\n${req.user}`).digest('hex');
}

/** The requests a reader is sent for `items` of `set`: from the words alone, and with the labelled objective. */
export function readingPrompts(library: SearchSource, set: string, items: LabelledItem[]) {
  const entries = library.cachedSummaries();
  return items.flatMap((it, i) =>
    [false, true].map((objectiveGiven) => {
      const req = readingRequest(entries, it.description, objectiveGiven ? it.objective : undefined);
      return { id: `${set}:${i}`, objectiveGiven, digest: requestDigest(req), system: req.system, user: req.user };
    }),
  );
}

export interface ReadPrecision extends Omit<Precision, 'objectiveGuessed' | 'readFailures'> {
  /** how often the model's objective was the labelled one */
  objectiveRead: number;
  /** requests with no recorded answer (never recorded, or the request has changed since) */
  unanswered: number;
  /** answers the checks refused (reading.ts) */
  refused: number;
}

/** precisionAt1 with each question read by the recorded model's answer to the request search would send now. */
export async function precisionRead(library: SearchSource, items: LabelledItem[], set: string, recorded: RecordedReadings): Promise<ReadPrecision> {
  const byDigest = new Map(recorded.items.map((x) => [x.digest, x.answer]));
  let unanswered = 0;
  const reader: Reader = async (req) => {
    const answer = byDigest.get(requestDigest(req));
    if (answer === undefined) {
      unanswered++;
      throw new Error('no recorded answer to this request');
    }
    return { text: answer, model: recorded.model };
  };
  const { objectiveGuessed, readFailures, ...p } = await precisionAt1(library, items, set, reader);
  return { ...p, objectiveRead: objectiveGuessed, unanswered, refused: readFailures - unanswered };
}
