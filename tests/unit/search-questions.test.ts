/**
 * Past questions (core/library/questions.ts): the shipped sets load and never hold a held-out question,
 * a broken set is a clear error, the neighbours' families and objectives vote, search ranks with the vote
 * and says why, a given objective ranks first the families its past questions were served by, and a precision run
 * leaves the measured set out.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leavingOut } from '../../core/bench/search-precision.js';
import { DEFAULT_WEIGHTS } from '../../core/library/history.js';
import { loadQuestions, questionVotes, type Question } from '../../core/library/questions.js';
import { processTerm, rankPage, searchLibrary } from '../../core/library/search.js';
import { LibraryStore } from '../../core/library/store.js';
import { repoRoot } from '../../core/paths.js';

const q = (description: string, expectedFamily: Question['expectedFamily'], objective: Question['objective'], set = 'a'): Question => ({
  description,
  expectedFamily,
  objective,
  set,
  source: `https://example.org/${set}`,
});

describe('past questions', () => {
  let root: string;
  let store: LibraryStore;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'scx-questions-'));
    store = await LibraryStore.open({ dir: join(root, 'lib'), seedDir: join(repoRoot, 'library') });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('the shipped sets load, and no held-out question (fixtures/search) is among them', () => {
    const shipped = store.questions();
    expect(shipped.length).toBeGreaterThanOrEqual(250);
    expect(new Set(shipped.map((x) => x.set))).toContain('labelled');
    const asked = new Set(shipped.map((x) => x.description.trim().toLowerCase()));
    const heldDir = join(repoRoot, 'fixtures/search');
    for (const f of readdirSync(heldDir).filter((x) => x.endsWith('.json'))) {
      const held = (JSON.parse(readFileSync(join(heldDir, f), 'utf8')) as { items: { description: string }[] }).items;
      expect(
        held.filter((h) => asked.has(h.description.trim().toLowerCase())).map((h) => h.description),
        f,
      ).toEqual([]);
    }
  });

  it('a set that does not validate is an error naming the file; no directory is no questions', () => {
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.json'), JSON.stringify({ about: 'x', items: [{ description: 'd', expectedFamily: 'nope', objective: 'makespan' }] }));
    expect(() => loadQuestions(dir)).toThrow(/x\.json is not a question set/);
    expect(loadQuestions(join(root, 'none'))).toEqual([]);
  });

  it('the most alike questions vote by similarity; none when no word is shared', () => {
    const qs = [
      q('one huge render job starts last and the whole queue finishes late', 'ljf', 'makespan'),
      q('the render queue: short previews wait behind huge renders', 'sjf', 'mean_completion'),
      q('audio crackles while compiling', 'interactive', 'tail_latency'),
    ];
    const v = questionVotes(qs, 'our render queue finishes late because one huge job starts last', processTerm)!;
    expect([...v.families.values()].reduce((a, x) => a + x, 0)).toBeCloseTo(1, 6);
    expect([...v.families].sort((a, b) => b[1] - a[1])[0]![0]).toBe('ljf');
    expect(v.objectives.get('makespan')!).toBeGreaterThan(v.objectives.get('mean_completion') ?? 0);
    expect(v.families.has('interactive')).toBe(false);
    expect(questionVotes(qs, 'zzqx wibble', processTerm)).toBeNull();
  });

  it('search ranks with the vote, says which question it came from, and guesses the objective from them when no rule does', () => {
    const entries = store.cachedSummaries();
    const words = 'zzqx frobnicator wibbles the gizmo';
    const without = rankPage(entries, [], DEFAULT_WEIGHTS, { query: words, limit: 3 });
    expect(without.objective.objective).toBeNull();
    const qs = [q('the zzqx frobnicator wibbles each gizmo', 'deadline', 'deadline', 'forum')];
    const p = rankPage(entries, [], DEFAULT_WEIGHTS, { query: words, limit: 3 }, qs);
    const top = p.results[0]!;
    expect(top.family).toBe('deadline');
    expect(top.parts.questions).toBe(1);
    expect(top.why.join(' ')).toMatch(/1 of the 1 past questions most like yours were served by deadline .*example\.org\/forum/);
    expect(p.objective).toMatchObject({ objective: 'deadline', source: 'inferred' });
    expect(p.objective.note).toMatch(/past questions most like yours/);
    // scattered neighbours (no objective with half of their vote) are no guess when no rule matched
    const split = [
      q('the zzqx frobnicator wibbles', 'deadline', 'deadline'),
      q('zzqx frobnicator gizmo', 'fifo', 'throughput'),
      q('gizmo wibbles zzqx', 'rr', 'fairness'),
    ];
    expect(rankPage(entries, [], DEFAULT_WEIGHTS, { query: words, limit: 3 }, split).objective).toMatchObject({ objective: null, source: 'none' });
    // given, the agent's objective stands
    expect(rankPage(entries, [], DEFAULT_WEIGHTS, { query: words, objective: 'fairness' }, qs).objective.objective).toBe('fairness');
  });

  it("a constraint's penalty holds for the vote: without hints, a job-length entry keeps 0.6 of it", () => {
    const entries = store.cachedSummaries();
    const qs = [q('the zzqx frobnicator wibbles each gizmo', 'ljf', 'makespan')];
    const query = { query: 'zzqx frobnicator wibbles', guessObjective: false, limit: 1 } as const;
    const ljf = (c?: { noHints: boolean }) => rankPage(entries, [], DEFAULT_WEIGHTS, { ...query, constraints: c }, qs).results[0]!;
    expect(ljf()).toMatchObject({ name: 'ljf', score: 1 });
    expect(ljf({ noHints: true })).toMatchObject({ name: 'ljf', score: 0.6 });
  });

  it('a given objective ranks first the families the past questions that asked for it were served by, and says so of the others', () => {
    const entries = store.cachedSummaries().filter((e) => e.name === 'edf' || e.name === 'interactive');
    // edf serves tail latency too (its second objective), and these words are its own
    const query = { query: 'earliest deadline first: deadlines from weight and run length', objective: 'tail_latency', limit: 2 } as const;
    expect(rankPage(entries, [], DEFAULT_WEIGHTS, query).results.map((r) => r.name)).toEqual(['edf', 'interactive']);
    const qs = [q('audio crackles while compiling', 'interactive', 'tail_latency'), q('the control loop must run every 2 ms', 'deadline', 'deadline')];
    const p = rankPage(entries, [], DEFAULT_WEIGHTS, query, qs);
    expect(p.results.map((r) => r.name)).toEqual(['interactive', 'edf']);
    expect(p.results[1]!.why.join(' ')).toMatch(/no past question that asked for tail_latency was served by deadline: ranked after the families that were/);
    // an objective no past question asked for restricts nothing, and a guessed one neither
    expect(rankPage(entries, [], DEFAULT_WEIGHTS, { ...query, objective: 'locality' }, qs).results.map((r) => r.name)).toEqual(
      rankPage(entries, [], DEFAULT_WEIGHTS, { ...query, objective: 'locality' }).results.map((r) => r.name),
    );
    expect(
      rankPage(entries, [], DEFAULT_WEIGHTS, { query: query.query, limit: 2 }, qs).results.every((r) => !/no past question that asked/.test(r.why.join(' '))),
    ).toBe(true);
  });

  it('a precision run leaves the measured set, and any question worded like a measured one, out', async () => {
    const items = store.questions().filter((x) => x.set === 'tuning');
    const other = store.questions().find((x) => x.set !== 'tuning')!;
    const src = leavingOut(store, 'tuning', [...items, { ...other, description: `  ${other.description.toUpperCase()} ` }]);
    const left = src.questions!();
    expect(left.some((x) => x.set === 'tuning')).toBe(false);
    expect(left.some((x) => x.description === other.description)).toBe(false);
    expect(left.length).toBe(store.questions().length - items.length - store.questions().filter((x) => x.description === other.description).length);
    const r = await searchLibrary(src, { query: items[0]!.description, limit: 1 });
    expect(r.results.length).toBe(1);
  });
});
