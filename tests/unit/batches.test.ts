import { describe, expect, it } from 'vitest';
import { barLines, batchMetrics, sideBySide, parseBatchOutput, parseTimes, roundOrder, sptMean, summarizeRuns, type Run } from '../../core/bench/batches.js';
import { inputSizeHints, pathsIn } from '../../core/bench/input-hints.js';

describe('real-program batch metrics', () => {
  it('parses run-batch.sh lines and computes makespan, mean completion and their bounds from the same run', () => {
    expect(parseTimes('0m1.230000s')).toBeCloseTo(1.23);
    expect(parseTimes('2m0.5s')).toBeCloseTo(120.5);
    const jobs = parseBatchOutput(
      'job 0 0 100.00 106.00 0m5.900000s 0m0.100000s\njob 1 0 100.00 101.00 0m1.000000s 0m0.000000s\nnoise\njob 2 1 100.00 102.00 0m0.500000s 0m0.500000s\n',
    );
    expect(jobs).toEqual([
      { index: 0, rc: 0, endS: 6, cpuS: 6 },
      { index: 1, rc: 0, endS: 1, cpuS: 1 },
      { index: 2, rc: 1, endS: 2, cpuS: 1 },
    ]);
    const m = batchMetrics(jobs, 2);
    expect(m.makespanS).toBe(6);
    expect(m.meanCompletionS).toBe(3);
    expect(m.boundS).toBe(6); // the longest job, more than 8 s / 2 CPUs
    // SPT on 2 CPUs: 1 and 1 finish at 1, 6 at 1+6 = 7: mean 3
    expect(sptMean([6, 1, 1], 2)).toBe(3);
    expect(m.failed).toBe(1);
    expect(sptMean([], 2)).toBe(0);
  });
});

describe('hints an agent writes from input sizes (no file names that say which job is long)', () => {
  const sizes: Record<string, number> = { '/d/orders-00.csv': 1000, '/d/orders-01.csv': 24000, '/d/orders-02.csv': 1100, '/d/customers.csv': 50000 };
  const cmd = (n: string) => `sqlite3 -batch :memory: -cmd '.import /d/orders-${n}.csv orders' -cmd '.import /d/customers.csv customers' "SELECT 1"`;
  it('finds the paths a command names, quotes and --opt= included', () => {
    expect(pathsIn(`sh -c 'git --git-dir=/tmp/r-03.git --work-tree=/data/repos/r-03 add -A' x`)).toEqual(['/tmp/r-03.git', '/data/repos/r-03']);
    expect(pathsIn('python3 -m unittest -q suite.test_m03')).toEqual([]);
  });
  it('sizes each job by the input it alone reads, relative to the median, and leaves the shared table out', () => {
    const h = inputSizeHints(['00', '01', '02'].map(cmd), (p) => sizes[p]);
    expect(h.none).toBeUndefined();
    expect(h.sized.map((s) => s?.path)).toEqual(['/d/orders-00.csv', '/d/orders-01.csv', '/d/orders-02.csv']);
    expect(h.rules.map((r) => [r.argv, r.expect_ms])).toEqual([
      ['*orders-00.csv*', 450],
      ['*orders-01.csv*', 11000],
      ['*orders-02.csv*', 500],
    ]);
    expect(h.rules[1]!.source).toMatch(/^agent: input size 24000 B/);
  });
  it('uses the whole path when the name is in another command, and says when sizes tell nothing', () => {
    const h = inputSizeHints(['gzip -c /a/x.log', 'gzip -c /b/x.log /b/y'], (p) => ({ '/a/x.log': 10, '/b/x.log': 30, '/b/y': 1 })[p]);
    expect(h.rules.map((r) => r.argv)).toEqual(['*/a/x.log*', '*/b/x.log*']);
    expect(inputSizeHints(['t m1', 't m2'], () => undefined).none).toMatch(/no input/);
    expect(inputSizeHints(['c /a/1', 'c /a/2'], () => 100).none).toMatch(/same size/);
  });
});

describe('batch rounds: interleaving, medians and the bar', () => {
  it('reverses the order in every other round', () => {
    const c = [
      { policy: 'default', hints: '-' },
      { policy: 'ljf', hints: '(c) none' },
    ];
    expect(roundOrder(c, 1)).toEqual(c);
    expect(roundOrder(c, 2)).toEqual([c[1], c[0]]);
  });
  it('summarizes each configuration by medians and the median of its own gaps, and judges the bar', () => {
    const run = (policy: string, hints: string, makespanS: number, boundS: number, meanCompletionS: number, sptMeanS: number): Run => ({
      scenario: 'logs',
      round: 1,
      config: { policy, hints },
      m: { makespanS, meanCompletionS, boundS, sptMeanS, totalCpuS: 0, jobs: 13, failed: 0 },
      load1: 0,
      otherVms: 0,
    });
    const runs = [
      run('default', '-', 10, 7, 5, 2),
      run('default', '-', 12, 7, 5, 2),
      run('default', '-', 11, 7, 5, 2),
      run('ljf', '(a) input sizes', 7.5, 7, 3, 2),
      run('ljf', '(a) input sizes', 7.2, 7, 3, 2),
      run('ljf', '(a) input sizes', 9, 7, 3, 2),
      run('sjf', '(b) learned', 9, 7, 2.1, 2),
      { ...run('scx_lavd', '(d) scx defaults', 0, 1, 0, 1), m: null, error: 'did not attach' },
    ];
    const rows = summarizeRuns(runs);
    const l = rows.find((r) => r.config.policy === 'ljf')!;
    expect(l.n).toBe(3);
    expect(l.makespan).toEqual({ median: 7.5, min: 7.2, max: 9 });
    expect(l.vsBound).toBeCloseTo(0.5 / 7);
    expect(rows.find((r) => r.config.policy === 'scx_lavd')).toMatchObject({ n: 0, errors: ['did not attach'] });
    const bar = barLines(rows).join('\n');
    // 7.5 s is +7.1 % over the bound but only 31.8 % below the 11 s default: met; sjf 2.1 vs 2 SPT: met
    expect(bar).toMatch(/ljf \(a\) input sizes: makespan \+7\.1 % vs bound .* -31\.8 % vs default .*: met/);
    expect(bar).toMatch(/sjf \(b\) learned: mean completion \+5\.0 % vs SPT .*: met/);
    const env = { started: 't', cpus: 2, accel: 'tcg', kernel: 'k', scale: 1, repeats: 3, noAgentHints: {}, scx: ['scx_lavd'] };
    const side = sideBySide(runs, env);
    // makespan: the default's median with its gap, the best (a) row with its gap and change; no (c) row, a failed scx row
    expect(side).toContain('| logs | 11.00 (+57.1 %) | – | ljf 7.50 (+7.1 %; -31.8 %) | sjf 9.00 (+28.6 %; -18.2 %) | – |');
  });
});
