import { describe, expect, it } from 'vitest';
import { batchMetrics, parseBatchOutput, parseTimes, sptMean } from '../../core/bench/batches.js';

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
