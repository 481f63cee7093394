/**
 * search_library quality on a labelled set (fixtures/search/labelled.json): precision@1
 * from text alone, then after results are recorded (history) — it must improve.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryStore } from '../../core/library/store.js';
import { searchLibrary } from '../../core/library/search.js';
import type { Fingerprint } from '../../core/profile/fingerprint.js';

interface Item { description: string; expectedFamily: string; fingerprint: Fingerprint }
const items = (JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/search/labelled.json'), 'utf8')) as { items: Item[] }).items;

describe('search precision on the labelled set', () => {
  let dir: string;
  let store: LibraryStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scx-search-'));
    store = await LibraryStore.open({ dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function precision(withFingerprint: boolean): Promise<{ p: number; misses: string[] }> {
    let hits = 0;
    const misses: string[] = [];
    for (const it of items) {
      const r = await searchLibrary(store, { query: it.description, fingerprint: withFingerprint ? it.fingerprint : undefined, limit: 3 });
      if (r.results[0]?.family === it.expectedFamily) hits++;
      else misses.push(`${it.expectedFamily} ← "${it.description.slice(0, 50)}" got ${r.results[0]?.family}`);
    }
    return { p: hits / items.length, misses };
  }

  it('has at least 20 labelled items covering every family in the library', () => {
    expect(items.length).toBeGreaterThanOrEqual(20);
    const families = new Set(store.list().map((e) => e.family));
    expect(families.size).toBeGreaterThanOrEqual(12);
    for (const f of families) expect(items.some((i) => i.expectedFamily === f), f).toBe(true);
  });

  it('ranks the right family first from text, and better once history is recorded', async () => {
    const text = await precision(false);
    const before = await precision(true);
    // record what "measurements" showed: the expected family's entry improved on each workload,
    // and whatever ranked first instead did worse
    const byFamily = new Map(store.list().map((e) => [e.family, e.name]));
    for (const it of items) {
      const r = await searchLibrary(store, { query: it.description, fingerprint: it.fingerprint, limit: 1 });
      const good = byFamily.get(it.expectedFamily)!;
      await store.recordResult({ entry: good, params: {}, target: 'sandbox', workload: { name: it.description.slice(0, 40), description: it.description, fingerprint: it.fingerprint },
        metrics: { makespan_ms: 650 }, baseline: { makespan_ms: 1000 }, outcome: 'improved', at: new Date().toISOString() });
      const wrong = r.results[0]?.name;
      if (wrong && wrong !== good) {
        await store.recordResult({ entry: wrong, params: {}, target: 'sandbox', workload: { name: it.description.slice(0, 40), description: it.description, fingerprint: it.fingerprint },
          metrics: { makespan_ms: 1200 }, baseline: { makespan_ms: 1000 }, outcome: 'regressed', at: new Date().toISOString() });
      }
    }
    const after = await precision(true);
    console.log(`precision@1 on ${items.length} labelled workloads: text ${text.p.toFixed(2)}, text+profile ${before.p.toFixed(2)}, with history ${after.p.toFixed(2)}; weights ${JSON.stringify(store.weights())}`);
    if (after.misses.length) console.log(`misses after history:\n  ${after.misses.join('\n  ')}`);
    expect(text.p).toBeGreaterThanOrEqual(0.6);
    expect(after.p).toBeGreaterThan(before.p);
    expect(after.p).toBeGreaterThanOrEqual(0.85);
    // the memory is rewritten from the history
    expect(store.memoryMarkdown()).toMatch(/## What worked, by kind of workload/);
  }, 120_000);

  it('explains each result: score parts and reasons', async () => {
    const r = await searchLibrary(store, { query: 'one long job and many short ones, finish the batch sooner', tags: ['batch'], limit: 3 });
    expect(r.results[0]!.parts.text).toBeGreaterThan(0);
    expect(r.results[0]!.why.join(' ')).toMatch(/matched|tags/);
    expect(r.weights.text + r.weights.tags + r.weights.history).toBeCloseTo(1, 5);
  });
});
