/**
 * The side-by-side of core/bench/scx-peers.ts: best scx scheduler vs our best on a fixture's primary
 * metric, the ratio in the metric's direction, and the spread verdict.
 */
import { describe, expect, it } from 'vitest';
import type { BenchmarkResult, PolicyResult } from '../../core/bench/runner.js';
import { peerRows, peerSection } from '../../core/bench/scx-peers.js';

const pol = (name: string, values: number[], isDefault = false): PolicyResult => ({
  name,
  isDefault,
  source: name,
  status: 'ok',
  runs: [],
  failures: [],
  contendedRuns: 0,
  metrics: {
    p99: {
      key: 'p99',
      n: values.length,
      values,
      median: [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!,
      min: Math.min(...values),
      max: Math.max(...values),
      mean: 0,
      vsDefaultPct: null,
    } as never,
  },
});
const result = (better: 'lower' | 'higher', policies: PolicyResult[]) =>
  ({
    workload: { id: 'wakeup', title: 'w', description: '', params: {}, metrics: [{ key: 'p99', label: 'p99', unit: 'us', better }], primary: 'p99' },
    policies,
  }) as unknown as BenchmarkResult;

describe('peerRows', () => {
  it("picks the best of each side in the metric's direction and says when the gap exceeds the spread", () => {
    const [r] = peerRows([
      result('lower', [
        pol('default', [100, 110, 120], true),
        pol('interactive', [40, 42, 44]),
        pol('interactive+tuned', [30, 31, 33]),
        pol('scx_bpfland', [60, 61, 62]),
        pol('scx_cosmos', [50, 52, 55]),
      ]),
    ]);
    expect(r!.bestScx?.name).toBe('scx_cosmos');
    expect(r!.bestOurs?.name).toBe('interactive+tuned');
    expect(r!.bestOursDefaults?.name).toBe('interactive');
    expect(r!.ratio).toBeCloseTo(52 / 31);
    expect(r!.verdict).toBe('ours ahead beyond the spread');
  });
  it('higher is better: the ratio is ours over scx; overlapping runs are within the spread; one run has no spread', () => {
    const [r] = peerRows([result('higher', [pol('default', [10], true), pol('rr', [20, 30, 40]), pol('scx_lavd', [25, 35, 45])])]);
    expect(r!.ratio).toBeCloseTo(30 / 35);
    expect(r!.verdict).toBe('within the spread');
    const [one] = peerRows([result('higher', [pol('rr', [20]), pol('scx_lavd', [25])])]);
    expect(one!.verdict).toBe('one run: no spread to judge by');
    expect(peerSection([result('lower', [pol('rr', [1])])])).toBe('');
  });
});
