/**
 * The tuner's pure parts: the parameter space, quasi-random candidates, successive halving on a
 * synthetic objective with a known optimum (budget, failures, noise), run scoring, presets in
 * the library store, and the trial chart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderTrialChart } from '../../core/bench/chart.js';
import { fixtureWorkload } from '../../core/bench/workloads.js';
import { LibraryStore } from '../../core/library/store.js';
import type { ParamSpec } from '../../core/model/entry.js';
import {
  candidates,
  fromUnit,
  planHalving,
  radicalInverse,
  rungSizes,
  successiveHalving,
  tunableSpace,
  type ParamSet,
  type TrialOutcome,
} from '../../core/tune/search.js';
import { checkObjective, scoreRun } from '../../core/tune/tune.js';

const PARAMS: ParamSpec[] = [
  { name: 'slice_us', type: 'u64', default: 20000, min: 100, max: 1000000, description: 'slice' },
  { name: 'max_wait_ms', type: 'u32', default: 1000, min: 10, max: 20000, description: 'guard' },
  { name: 'depth', type: 'u32', default: 4, min: 1, max: 8, description: 'linear range' },
  { name: 'kick', type: 'bool', default: true, description: 'bool' },
  { name: 'free', type: 'u64', default: 5, description: 'no range: not searched' },
];

describe('parameter space', () => {
  it('takes ranged integers (log scale over two decades) and bools; skips fixed and unranged ones', () => {
    const d = tunableSpace(PARAMS, { fixed: { depth: 2 } });
    expect(d.map((x) => [x.name, x.kind, x.log])).toEqual([
      ['slice_us', 'int', true],
      ['max_wait_ms', 'int', true],
      ['kick', 'bool', false],
    ]);
    expect(tunableSpace(PARAMS, { only: ['depth'] })).toMatchObject([{ name: 'depth', min: 1, max: 8, log: false }]);
    // narrower ranges stay inside the declared one
    expect(tunableSpace(PARAMS, { only: ['slice_us'], ranges: { slice_us: { min: 1, max: 5000 } } })[0]).toMatchObject({ min: 100, max: 5000 });
  });
  it('rejects unknown names, empty ranges, unranged parameters asked for, and an empty space', () => {
    expect(() => tunableSpace(PARAMS, { only: ['nope'] })).toThrow(/no parameter "nope".*/);
    expect(() => tunableSpace(PARAMS, { only: ['depth'], ranges: { depth: { min: 7, max: 2 } } })).toThrow(/empty/);
    expect(() => tunableSpace(PARAMS, { only: ['free'] })).toThrow(/no declared range/);
    expect(() => tunableSpace(PARAMS.slice(4))).toThrow(/nothing to tune/);
  });
  it('Halton points spread evenly; candidates start with the defaults, in range, no duplicates, seed changes them', () => {
    expect([1, 2, 3, 4].map((i) => radicalInverse(i, 2))).toEqual([0.5, 0.25, 0.75, 0.125]);
    const dims = tunableSpace(PARAMS);
    const c = candidates(dims, 12);
    expect(c[0]).toEqual({ slice_us: 20000, max_wait_ms: 1000, depth: 4, kick: true });
    expect(new Set(c.map((p) => JSON.stringify(p))).size).toBe(12);
    for (const p of c) {
      for (const d of dims) {
        if (d.kind === 'bool') expect(typeof p[d.name]).toBe('boolean');
        else {
          expect(p[d.name]).toBeGreaterThanOrEqual(d.min);
          expect(p[d.name]).toBeLessThanOrEqual(d.max);
          expect(Number.isInteger(p[d.name])).toBe(true);
        }
      }
    }
    expect(candidates(dims, 5, 7).slice(1)).not.toEqual(c.slice(1, 5));
    // the log scale puts half the points below the geometric middle (10 ms of 100 us .. 1 s)
    expect(fromUnit(dims, [0.5, 0, 0, 0]).slice_us).toBe(10000);
  });
});

describe('successive halving', () => {
  it('plans rungs that fit the budget', () => {
    expect(rungSizes(10, 2)).toEqual([10, 5, 3, 2]);
    const p = planHalving(20);
    expect(p.trials).toBeLessThanOrEqual(20);
    expect(planHalving(21).n).toBeGreaterThanOrEqual(p.n);
    expect(() => planHalving(1)).toThrow(/too small/);
  });

  // a known optimum: slice_us = 3000, max_wait_ms = 8000 (log distance), with noise
  const optimum = (p: ParamSet) => Math.abs(Math.log(Number(p.slice_us) / 3000)) + Math.abs(Math.log(Number(p.max_wait_ms) / 8000));
  const dims = tunableSpace(PARAMS, { only: ['slice_us', 'max_wait_ms'] });

  it('finds a configuration near the optimum of a synthetic objective within the budget, and beats the defaults', async () => {
    let rng = 42;
    const noise = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1;
    const calls: number[] = [];
    const r = await successiveHalving({
      candidates: candidates(dims, planHalving(20).n),
      budget: 20,
      evaluate: async (batch) => {
        calls.push(batch.length);
        return batch.map((c) => ({ ok: true, score: optimum(c.params) + noise() }));
      },
    });
    expect(r.trials.length).toBeLessThanOrEqual(20);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(r.trials.length);
    expect(r.best).not.toBeNull();
    expect(optimum(r.best!.params)).toBeLessThan(optimum(r.defaults.params) - 0.5);
    // the best is the true best of the candidates (within noise)
    const trueBest = Math.min(...r.candidates.map((c) => optimum(c.params)));
    expect(optimum(r.best!.params)).toBeLessThan(trueBest + 0.6);
    // the defaults were measured in every rung, the best more than once
    const rungs = new Set(r.trials.map((t) => t.rung)).size;
    expect(r.defaults.scores.length).toBe(rungs);
    expect(r.best!.scores.length).toBeGreaterThanOrEqual(2);
  });

  it('spends a leftover budget on more rounds of the finalists (a budget of 4: two candidates twice)', async () => {
    const r = await successiveHalving({
      candidates: candidates(dims, planHalving(4).n),
      budget: 4,
      evaluate: async (b) => b.map((c) => ({ ok: true, score: c.id })),
    });
    expect(r.trials).toHaveLength(4);
    expect(r.candidates.map((c) => c.scores.length)).toEqual([2, 2]);
  });

  it('never spends more than the budget, even a tiny one', async () => {
    for (const budget of [2, 3, 5, 7, 11]) {
      const r = await successiveHalving({ candidates: candidates(dims, 8), budget, evaluate: async (b) => b.map(() => ({ ok: true, score: 1 })) });
      expect(r.trials.length).toBeLessThanOrEqual(budget);
    }
  });

  it('a failed trial eliminates its candidate for good; it is never the best, even with the best score elsewhere', async () => {
    const cands = candidates(dims, 8);
    const bad = 3; // fails in rung 1 after a perfect rung 0
    const r = await successiveHalving({
      candidates: cands,
      budget: 20,
      evaluate: async (batch, rung): Promise<TrialOutcome[]> =>
        batch.map((c) =>
          c.id === bad && rung === 1
            ? { ok: false, failure: 'ejected: runnable task stall' }
            : c.id === 5
              ? { ok: false, failure: 'load: verifier' }
              : { ok: true, score: c.id === bad ? 0 : 1 + c.id / 100 },
        ),
    });
    const st = r.candidates[bad]!;
    expect(st.failed).toMatch(/stall/);
    expect(r.best?.id).not.toBe(bad);
    expect(r.best?.id).not.toBe(5);
    expect(r.trials.filter((t) => t.candidate === 5)).toHaveLength(1);
    expect(r.trials.filter((t) => t.candidate === bad && t.rung > 1)).toHaveLength(0);
  });

  it('stops before a rung when asked (cancelled / out of time), with what it has', async () => {
    let n = 0;
    const r = await successiveHalving({
      candidates: candidates(dims, 8),
      budget: 20,
      shouldStop: () => (n >= 1 ? 'cancelled' : null),
      evaluate: async (b) => {
        n++;
        return b.map((c) => ({ ok: true, score: c.id }));
      },
    });
    expect(r.stopped).toBe('cancelled');
    expect(r.trials).toHaveLength(8);
    expect(r.best?.id).toBe(0);
  });
});

describe('scoring runs', () => {
  const w = fixtureWorkload('wakeup', { quick: true });
  it("objective metrics must be the workload's, weights positive", () => {
    expect(checkObjective(w, [{ metric: 'wakeup_p99_us', weight: 1 }])[0]!.better).toBe('lower');
    expect(() => checkObjective(w, [{ metric: 'makespan_ms', weight: 1 }])).toThrow(/no metric "makespan_ms".*/);
    expect(() => checkObjective(w, [])).toThrow(/names no metric/);
  });
  it("relative to the run's own bound, else the kernel default; higher-is-better inverted; weighted mean", () => {
    const defs = checkObjective(w, [
      { metric: 'wakeup_p99_us', weight: 3 },
      { metric: 'requests_per_s', weight: 1 },
    ]);
    const s = scoreRun(
      { wakeup_p99_us: 500, requests_per_s: 2000 },
      {},
      { wakeup_p99_us: 1000, requests_per_s: 1000 },
      [
        { metric: 'wakeup_p99_us', weight: 3 },
        { metric: 'requests_per_s', weight: 1 },
      ],
      defs,
    );
    expect(s).toBeCloseTo((3 * 0.5 + 0.5) / 4);
    const b = fixtureWorkload('batch-join', { quick: true });
    const bd = checkObjective(b, [{ metric: 'makespan_ms', weight: 1 }]);
    expect(scoreRun({ makespan_ms: 110 }, { makespan_ms: 100 }, { makespan_ms: 300 }, [{ metric: 'makespan_ms', weight: 1 }], bd)).toBeCloseTo(1.1);
    expect(scoreRun({}, {}, { makespan_ms: 300 }, [{ metric: 'makespan_ms', weight: 1 }], bd)).toBeNaN();
  });
});

describe('presets in the library', () => {
  const root = mkdtempSync(join(tmpdir(), 'scx-tune-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  it("are stored per entry (a commit), replaced by name, checked against the entry's parameters", async () => {
    const store = await LibraryStore.open({ dir: join(root, 'lib') });
    const shipped = store.presets('ljf').map((x) => x.name); // presets the seed library ships (library/ljf/presets.json)
    expect(shipped).not.toContain('unit-test');
    const p = await store.setPreset('ljf', {
      name: 'unit-test',
      params: { max_wait_ms: 9000 },
      workload: 'uneven batch',
      at: new Date().toISOString(),
      improvementPct: 12,
    });
    expect(p.version).toBe(1);
    await store.setPreset('ljf', { name: 'unit-test', params: { max_wait_ms: 12000 }, workload: 'uneven batch', at: new Date().toISOString() });
    expect(
      store
        .presets('ljf')
        .filter((x) => x.name === 'unit-test')
        .map((x) => x.params),
    ).toEqual([{ max_wait_ms: 12000 }]);
    expect(store.presets('ljf')).toHaveLength(shipped.length + 1);
    expect(store.preset('ljf', 'unit-test').params.max_wait_ms).toBe(12000);
    expect(() => store.preset('ljf', 'nope')).toThrow(
      expect.objectContaining({ message: 'ljf has no preset "nope"', hint: expect.stringMatching(/^its presets: .*\bunit-test\b/) }),
    );
    await expect(store.setPreset('ljf', { name: 'x', params: { bogus: 1 }, workload: 'w', at: 'now' })).rejects.toThrow(/no parameter bogus/);
    // another process sees it
    const again = await LibraryStore.open({ dir: join(root, 'lib') });
    expect(
      again
        .presets('ljf')
        .map((x) => x.name)
        .sort(),
    ).toEqual([...shipped, 'unit-test'].sort());
  });
});

describe('trial chart', () => {
  it('is well-formed SVG with a point per ok trial, an x per failed one, and the reference line', () => {
    const svg = renderTrialChart({
      title: 'tuning <ljf> & co',
      unit: 'ms',
      reference: { value: 100, label: 'kernel default' },
      points: [
        { x: 1, y: 90, label: 'c0', highlight: true, rung: 0 },
        { x: 2, y: null, label: 'c1', rung: 0 },
        { x: 3, y: 80, label: 'c2', rung: 1 },
      ],
    });
    expect(svg).toContain('tuning &lt;ljf&gt; &amp; co');
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(svg.match(/class="fail"/g)).toHaveLength(1);
    expect(svg).toContain('kernel default 100');
    expect(svg.match(/<svg/g)).toHaveLength(1);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});
