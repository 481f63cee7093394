/**
 * The benchmark runner's pure parts: statistics, improvement %, bounds, interleaving, rank
 * agreement, workload output parsers, and well-formed tables, markdown and SVG.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeXml, markdownTable, niceScale, renderBarChart } from '../../core/bench/chart.js';
import { chartForResult, checkTargets, formatPct, jsonReport, markdownReport, markdownSection, textReport } from '../../core/bench/report.js';
import {
  aggregate,
  DEFAULT_POLICY,
  gapToBoundPct,
  improvementPct,
  interleave,
  predictRanking,
  rank,
  rankAgreement,
  type BenchmarkResult,
  type RunRecord,
} from '../../core/bench/runner.js';
import { benchmarkHistory } from '../../core/bench/compare.js';
import { benchPlan, withTuned, writeSeedHistory } from '../../core/bench/suite.js';
import { HistoryRecord } from '../../core/library/history.js';
import { repoRoot } from '../../core/paths.js';
import {
  batchRunBounds,
  batchWorkload,
  buildWorkload,
  histogramPercentile,
  parseBatchCalibration,
  parseBatchOutput,
  parseBuildsimOutput,
  commandWorkload,
  parseCommandOutput,
  parseCyclictestOutput,
  parseHackbenchOutput,
  parseWakebenchOutput,
  simPolicyFor,
  wakeupWorkload,
  workloadFor,
  type MetricDef,
  type WorkloadSample,
} from '../../core/bench/workloads.js';
import { computeBounds, jobsFromSpec } from '../../core/sim/index.js';

const METRICS: MetricDef[] = [
  { key: 'makespan_ms', label: 'makespan', unit: 'ms', better: 'lower' },
  { key: 'mean_completion_ms', label: 'mean completion', unit: 'ms', better: 'lower' },
];

function sample(makespan: number, mean: number, digest = 'w1'): WorkloadSample {
  return { ok: true, metrics: { makespan_ms: makespan, mean_completion_ms: mean }, bounds: {}, work: { digest, summary: '4 jobs' } };
}

function rec(index: number, policy: string, repeat: number, s?: WorkloadSample, extra: Partial<RunRecord> = {}): RunRecord {
  return { index, policy, repeat, ok: Boolean(s), hostMs: 1, guestMs: 1, ...(s ? { sample: s } : { failure: 'load', error: 'rejected' }), ...extra };
}

const POLICIES = [
  { name: DEFAULT_POLICY, isDefault: true, source: 'kernel' },
  { name: 'ljf', isDefault: false, source: 'library/ljf' },
  { name: 'sjf', isDefault: false, source: 'library/sjf' },
];

/** A complete result built from records, as runBenchmark would return it (no VM). */
function fakeResult(records: RunRecord[], id = 'batch-join'): BenchmarkResult {
  const w = batchWorkload({ kind: 'join', jobs: '1x3,3x1', unitMs: 10 });
  const b = batchRunBounds(
    jobsFromSpec('1x3,3x1', 10).map((j) => ({ cpu_ms: j.work_ms })),
    2,
  )!;
  const agg = aggregate(POLICIES, records, w.metrics, b);
  return {
    workload: { id, title: `T <${id}> & co`, description: 'd', params: {}, metrics: w.metrics, primary: 'makespan_ms' },
    environment: { kernel: '7.3.4', accelerator: 'tcg', acceleratorReason: 'no kvm', guestCpus: 2, hostCpus: 2, hostModel: 'cpu', bootMs: 1 },
    startedAt: '2026-01-01T00:00:00Z',
    durationMs: 1000,
    repeats: 3,
    calibration: null,
    order: interleave(
      POLICIES.map((p) => p.name),
      3,
    ),
    policies: agg.policies,
    bounds: agg.bounds,
    speed: { unitMs: [10, 10.5], referenceUnitMs: 10 },
    boundsFrom: 'unit',
    sameWork: agg.sameWork,
    workSummary: agg.workSummary,
    predictions: [],
    restarts: 0,
    lostRuns: [],
    error: null,
    crashConsole: null,
    profile: null,
  };
}

describe('interleave', () => {
  it('runs every policy once per round, rounds in order: default, A, B, default, A, B', () => {
    expect(interleave(['default', 'a', 'b'], 2)).toEqual([
      { policy: 'default', repeat: 0 },
      { policy: 'a', repeat: 0 },
      { policy: 'b', repeat: 0 },
      { policy: 'default', repeat: 1 },
      { policy: 'a', repeat: 1 },
      { policy: 'b', repeat: 1 },
    ]);
    expect(interleave(['x'], 0)).toEqual([]);
  });
});

describe('improvement and bounds', () => {
  it('improvement is positive when better, in either direction', () => {
    expect(improvementPct(100, 70, 'lower')).toBeCloseTo(30);
    expect(improvementPct(100, 130, 'lower')).toBeCloseTo(-30);
    expect(improvementPct(100, 150, 'higher')).toBeCloseTo(50);
    expect(improvementPct(0, 5, 'lower')).toBeNull();
    expect(improvementPct(NaN, 5, 'lower')).toBeNull();
  });
  it('gap to bound is the distance above the bound in % of it', () => {
    expect(gapToBoundPct(110, 100)).toBeCloseTo(10);
    expect(gapToBoundPct(100, null)).toBeNull();
    expect(gapToBoundPct(100, 0)).toBeNull();
  });
  it('batch bounds come from the CPU time each job took: max(longest, total/cpus) and the SPT optimum (core/sim)', () => {
    const w = batchWorkload({ kind: 'join', jobs: '1x39,39x1', unitMs: 50 });
    expect(w.bounds).toBeUndefined(); // each run bounds itself
    const jobs = jobsFromSpec('1x39,39x1', 50).map((j) => ({ cpu_ms: j.work_ms, units: j.work_ms / 50 }));
    const b = batchRunBounds(jobs, 2)!;
    expect(b.makespan_ms).toBeCloseTo(39 * 50); // the long job alone (78/2 = 39 too)
    expect(b.mean_completion_ms).toBeCloseTo(computeBounds({ cpus: 2, jobs: jobsFromSpec('1x39,39x1', 50) }).mean_completion_optimal!);
    // SPT on 2 CPUs: the 39 unit jobs first, 20 and 19 of them per CPU, then the long one
    const spt = (((2 * (20 * 21)) / 2 - 20 + 39 + 19) * 50) / 40; // CPU0: 1..20, CPU1: 1..19, then the long job at 19 + 39
    expect(b.mean_completion_ms).toBeCloseTo(spt);
    // mean completion: the job list's optimum at the run's unit length (equal jobs stay equal)
    const noisy = [
      { cpu_ms: 390, units: 3 },
      { cpu_ms: 80, units: 1 },
      { cpu_ms: 120, units: 1 },
      { cpu_ms: 100, units: 1 },
    ];
    const unit = 690 / 6;
    expect(batchRunBounds(noisy, 2)!.mean_completion_ms).toBeCloseTo(computeBounds({ cpus: 2, jobs: jobsFromSpec('1x3,3x1', unit) }).mean_completion_optimal!);
    expect(batchRunBounds(noisy, 2)!.makespan_ms).toBeCloseTo(390);
    // a slower machine during a run raises the bound with it; total/cpus wins when the long job is short
    expect(batchRunBounds([{ cpu_ms: 100 }, { cpu_ms: 80 }, { cpu_ms: 80 }], 2)!.makespan_ms).toBeCloseTo(130);
    // without CPU times (an older batch binary) there is no per-run bound
    expect(batchRunBounds([{ cpu_ms: 10 }, {}], 2)).toBeNull();
    expect(batchRunBounds([], 2)).toBeNull();
  });
  it('build bounds: critical path, or the work over min(-j, cpus)', () => {
    const w = buildWorkload({ parallel: 2, unitMs: 10 });
    const cal = { itersPerUnit: 1, nsPerIter: 1, unitMsCalibrated: 10, totalUnits: 222, criticalPathUnits: 48 };
    expect(w.bounds!(cal, 10, 2).makespan_ms).toBeCloseTo(1110);
    expect(w.bounds!(cal, 10, 1).makespan_ms).toBeCloseTo(2220);
    expect(w.bounds!({ ...cal, criticalPathUnits: 200 }, 10, 2).makespan_ms).toBeCloseTo(2000);
  });
});

describe('aggregate', () => {
  const records = [
    rec(0, 'default', 0, sample(300, 200)),
    rec(1, 'ljf', 0, sample(200, 180)),
    rec(2, 'sjf', 0, sample(290, 100)),
    rec(3, 'default', 1, sample(320, 210)),
    rec(4, 'ljf', 1, sample(210, 170)),
    rec(5, 'sjf', 1),
    rec(6, 'default', 2, sample(310, 190)),
    rec(7, 'ljf', 2, sample(205, 175), { otherVms: 1 }),
    rec(8, 'sjf', 2, sample(280, 110)),
  ];
  const { policies, bounds, sameWork } = aggregate(POLICIES, records, METRICS, { makespan_ms: 150 });

  it('medians, spread and n come from the counted runs only', () => {
    const def = policies.find((p) => p.name === 'default')!;
    expect(def.metrics.makespan_ms).toMatchObject({ n: 3, median: 310, min: 300, max: 320, values: [300, 320, 310] });
    const sjf = policies.find((p) => p.name === 'sjf')!;
    expect(sjf.metrics.makespan_ms).toMatchObject({ n: 2, median: 285, min: 280, max: 290 });
    expect(sjf.status).toBe('partial');
    expect(sjf.failures).toEqual([{ repeat: 1, kind: 'load', message: 'rejected' }]);
  });
  it('improvement vs the default median, bounds and gaps', () => {
    const ljf = policies.find((p) => p.name === 'ljf')!;
    expect(ljf.metrics.makespan_ms!.vsDefaultPct).toBeCloseTo(((310 - 205) / 310) * 100);
    expect(ljf.metrics.makespan_ms!.gapToBoundPct).toBeCloseTo(((205 - 150) / 150) * 100);
    expect(ljf.contendedRuns).toBe(1);
    expect(policies[0]!.metrics.makespan_ms!.vsDefaultPct).toBeNull();
    expect(bounds).toEqual({ makespan_ms: 150, mean_completion_ms: null });
    expect(sameWork).toBe(true);
  });
  it("without a workload bound, falls back to the median of the runs' own bounds; different work is flagged", () => {
    const a = { ...sample(1, 1), bounds: { makespan_ms: 10 } };
    const b = { ...sample(1, 1, 'other'), bounds: { makespan_ms: 30 } };
    const r = aggregate(POLICIES.slice(0, 2), [rec(0, 'default', 0, a), rec(1, 'ljf', 0, b)], METRICS);
    expect(r.bounds.makespan_ms).toBe(20);
    expect(r.sameWork).toBe(false);
  });
  it('per-run bounds: each run is compared with its own bound, the gap is the median of those', () => {
    const withBound = (m: number, b: number) => ({ ...sample(m, m), bounds: { makespan_ms: b, mean_completion_ms: b } });
    // ljf: runs at +10 %, +20 %, +5 % of their own bounds, on a machine whose speed changed
    const r = aggregate(
      POLICIES.slice(0, 2),
      [
        rec(0, 'default', 0, withBound(300, 100)),
        rec(1, 'ljf', 0, withBound(110, 100)),
        rec(2, 'default', 1, withBound(600, 200)),
        rec(3, 'ljf', 1, withBound(240, 200)),
        rec(4, 'ljf', 2, withBound(210, 200)),
      ],
      METRICS,
    );
    const ljf = r.policies[1]!.metrics.makespan_ms!;
    expect(ljf.gapToBoundPct).toBeCloseTo(10);
    expect(ljf.bound).toBe(200);
    expect(r.policies[0]!.metrics.makespan_ms!.gapToBoundPct).toBeCloseTo(200);
    // a workload-wide bound wins over the runs' own
    const w = aggregate(POLICIES.slice(0, 2), [rec(0, 'default', 0, withBound(300, 100)), rec(1, 'ljf', 0, withBound(110, 100))], METRICS, { makespan_ms: 55 });
    expect(w.policies[1]!.metrics.makespan_ms!.gapToBoundPct).toBeCloseTo(100);
  });
  it('a policy without counted runs is failed, with NaN statistics and no improvement', () => {
    const r = aggregate(POLICIES.slice(0, 2), [rec(0, 'default', 0, sample(1, 1)), rec(1, 'ljf', 0)], METRICS);
    const ljf = r.policies[1]!;
    expect(ljf.status).toBe('failed');
    expect(ljf.metrics.makespan_ms!.n).toBe(0);
    expect(ljf.metrics.makespan_ms!.vsDefaultPct).toBeNull();
  });
});

describe('ranking', () => {
  it('rank orders best first in the metric direction', () => {
    const e = [
      { policy: 'a', value: 3 },
      { policy: 'b', value: 1 },
      { policy: 'c', value: 2 },
    ];
    expect(rank(e).map((x) => x.policy)).toEqual(['b', 'c', 'a']);
    expect(rank(e, 'higher').map((x) => x.policy)).toEqual(['a', 'c', 'b']);
  });
  it('rank agreement counts concordant pairs, skipping pairs the prediction ties', () => {
    const pred = [
      { policy: 'ljf', value: 390 },
      { policy: 'fifo', value: 390 },
      { policy: 'fair', value: 580 },
    ];
    const meas = [
      { policy: 'ljf', value: 400 },
      { policy: 'fifo', value: 500 },
      { policy: 'fair', value: 450 },
    ];
    // ljf<fair agrees, fifo<fair disagrees, ljf=fifo is tied in the prediction
    expect(rankAgreement(pred, meas)).toEqual({ concordant: 1, comparable: 2 });
  });
  it('predictRanking simulates each modelled policy and compares with the measured medians', () => {
    const w = batchWorkload({ kind: 'join', jobs: '1x39,39x1', unitMs: 10 });
    const cal = { unitMs: 10, kinds: { join: { itersPerUnit: 1, nsPerIter: 1e7, unitMsCalibrated: 10 } } };
    const records = [rec(0, 'default', 0, sample(580, 210)), rec(1, 'ljf', 0, sample(400, 205)), rec(2, 'sjf', 0, sample(570, 120))];
    const { policies } = aggregate(POLICIES, records, w.metrics);
    const p = predictRanking(
      w,
      cal,
      2,
      [
        { name: 'default', sim: { policy: 'fair' } },
        { name: 'ljf', sim: simPolicyFor('ljf') },
        { name: 'sjf', sim: simPolicyFor('sjf') },
      ],
      policies,
    );
    const mk = p.find((x) => x.metric === 'makespan_ms')!;
    expect(mk.predicted[0]).toMatchObject({ policy: 'ljf', value: 390 });
    expect(mk.measured[0]!.policy).toBe('ljf');
    const mc = p.find((x) => x.metric === 'mean_completion_ms')!;
    expect(mc.predicted[0]!.policy).toBe('sjf');
    expect(mc.predicted[0]!.value).toBeCloseTo(114.5);
    expect(mc.agreement).toBe(1);
  });
  it('policy families map to simulator models', () => {
    expect(simPolicyFor('fifo', 5000)).toEqual({ policy: 'rr', quantum_ms: 5 });
    expect(simPolicyFor('fair')).toEqual({ policy: 'fair' });
    expect(simPolicyFor('locality')).toBeNull();
  });
});

describe('workload output parsers', () => {
  const batchOut = JSON.stringify({
    kind: 'join',
    seed: 1,
    cpus: 2,
    iters_per_unit: 263,
    unit_ms: 10,
    unit_ms_calibrated: 9.9,
    calibrated: false,
    total_units: 4,
    jobs: [
      { id: 0, name: 'job_L002_00', units: 2, start_ms: 0.1, end_ms: 20.5, checksum: 'aa', ok: true },
      { id: 1, name: 'job_S001_01', units: 1, start_ms: 0.2, end_ms: 10.3, checksum: 'bb', ok: true },
      { id: 2, name: 'job_S001_02', units: 1, start_ms: 10.3, end_ms: 20.7, checksum: 'cc', ok: true },
    ],
    makespan_ms: 20.7,
    mean_completion_ms: 17.17,
    makespan_lower_bound_ms: 19.8,
    ok: true,
  });
  it('batch: metrics, per-job list, a work digest that ignores timing', () => {
    const s = parseBatchOutput(`noise\n${batchOut}\n`, '1x2,2x1');
    expect(s.ok).toBe(true);
    expect(s.metrics).toEqual({ makespan_ms: 20.7, mean_completion_ms: 17.17 });
    expect(s.jobs).toHaveLength(3);
    const later = parseBatchOutput(batchOut.replace('"end_ms":20.5', '"end_ms":25.5'), '1x2,2x1');
    expect(later.work.digest).toBe(s.work.digest);
    const otherWork = parseBatchOutput(batchOut.replace('"checksum":"aa"', '"checksum":"ab"'), '1x2,2x1');
    expect(otherWork.work.digest).not.toBe(s.work.digest);
  });
  it('batch: a failed checksum or a job list that does not match the spec is not ok', () => {
    expect(parseBatchOutput(batchOut.replace('"checksum":"bb","ok":true', '"checksum":"bb","ok":false'), '1x2,2x1').ok).toBe(false);
    expect(parseBatchOutput(batchOut, '1x3,2x1').ok).toBe(false);
    expect(() => parseBatchOutput('no json here', '1x2')).toThrow(/no JSON/);
  });
  it('batch --calibrate', () => {
    const c = parseBatchCalibration(
      '{"unit_ms":10,"cpus":2,"calibration":[{"kind":"join","iters_per_unit":268,"ns_per_iter":37315.4,"unit_ms_calibrated":10.001}]}',
    );
    expect(c.kinds.join).toEqual({ itersPerUnit: 268, nsPerIter: 37315.4, unitMsCalibrated: 10.001 });
    const w = batchWorkload({ kind: 'join', jobs: '1x39,39x1', unitMs: 10 });
    expect(w.command(c)).toBe('batch --kind join --jobs 1x39,39x1 --iters-per-unit 268 --unit-ms 10 --seed 1 --json');
    expect(() => w.command({ unitMs: 10, kinds: {} })).toThrow(/no kind join/);
  });
  it('wakebench', () => {
    const s = parseWakebenchOutput(
      JSON.stringify({
        message_threads: 2,
        workers_per_message: 4,
        hogs: 4,
        cpus: 2,
        runtime_s: 2,
        burst_us: 100,
        burst_iters: 19,
        requests_per_s: 1019.3,
        wakeup_latency_us: { samples: 3147, p50: 274.4, p99: 12451.8, p999: 32243.7, max: 55656.2 },
        request_latency_us: { p99: 13238.3 },
        hog_iters_per_s: 98214.5,
        ok: true,
      }),
    );
    expect(s.metrics).toEqual({ wakeup_p50_us: 274.4, wakeup_p99_us: 12451.8, wakeup_p999_us: 32243.7, requests_per_s: 1019.3, hog_iters_per_s: 98214.5 });
    expect(s.ok).toBe(true);
    expect(wakeupWorkload({ hogs: 4, runtimeS: 5 }).command({ burstIters: 19 })).toContain('--burst-iters 19');
  });
  it('buildsim', () => {
    const s = parseBuildsimOutput(
      JSON.stringify({
        parallel: 2,
        files: 2,
        libs: 1,
        seed: 1,
        iters_per_unit: 9,
        total_units: 5,
        critical_path_units: 4,
        makespan_lower_bound_ms: 40,
        makespan_ms: 45.5,
        jobs_run: 2,
        jobs: [
          { name: 'gen_S002_000', units: 2, start_ms: 0, end_ms: 20, ok: true },
          { name: 'ld_S003_001', units: 3, start_ms: 20, end_ms: 45.5, ok: true },
        ],
        ok: true,
      }),
    );
    expect(s.metrics.makespan_ms).toBe(45.5);
    expect(s.ok).toBe(true);
  });
  it('hackbench and cyclictest', () => {
    expect(
      parseHackbenchOutput(
        'Running in process mode with 2 groups using 40 file descriptors each (== 80 tasks)\nEach sender will pass 50 messages of 100 bytes\nTime: 3.391\n',
      ).metrics.time_s,
    ).toBe(3.391);
    expect(() => parseHackbenchOutput('oops')).toThrow();
    const c = parseCyclictestOutput(
      '# Histogram\n000010 000005\n000020 000004\n000030 000000\n# Total: 000000009\n# Max Latencies: 00500\n# Histogram Overflows: 00001\n',
    );
    expect(c.metrics).toEqual({ p50_us: 10, p99_us: 500, max_us: 500 });
    expect(
      histogramPercentile(
        [
          [1, 50],
          [2, 49],
          [9, 1],
        ],
        99,
      ),
    ).toBe(2);
    expect(
      histogramPercentile(
        [
          [1, 50],
          [2, 49],
          [9, 1],
        ],
        99.5,
      ),
    ).toBe(9);
  });
});

describe('tables, markdown, SVG', () => {
  const records = [
    rec(0, 'default', 0, sample(300, 200)),
    rec(1, 'ljf', 0, sample(200, 180)),
    rec(2, 'sjf', 0),
    rec(3, 'default', 1, sample(320, 210)),
    rec(4, 'ljf', 1, sample(210, 170)),
    rec(5, 'sjf', 1),
  ];
  const r = fakeResult(records);

  it('markdownTable: header, alignment row, escaped pipes, same column count everywhere', () => {
    const t = markdownTable(['a', 'b'], [['x|y', 1], ['z']]);
    const lines = t.split('\n');
    expect(lines[1]).toBe('|:---|---:|');
    expect(lines[2]).toBe('| x\\|y | 1 |');
    for (const l of lines) expect(l.replace(/\\\|/g, '').split('|').length).toBe(4);
  });
  it('markdown section: a table per metric, failures listed, chart linked', () => {
    const md = markdownSection(r, 'results/batch-join.svg');
    expect(md).toContain('| policy | n | median | min | max | vs default | bound | gap to bound | notes |');
    expect(md).toMatch(/\| ljf \| 2 \| 205 \| 200 \| 210 \| \+33\.9 % \| 30\.0 \|/);
    expect(md).toContain('FAILED (load)');
    expect(md).toContain('![');
    expect(md).toContain('(results/batch-join.svg)');
    expect(md).toContain('sjf, run 1: load: rejected');
  });
  it('whole report: environment, targets with honest verdicts, JSON round-trips', () => {
    const meta = {
      date: 'd',
      command: 'node x',
      hostCpus: 2,
      hostModel: 'm',
      kernel: 'k',
      accelerator: 'tcg',
      guestCpus: 2,
      durationMs: 60000,
      repeats: 3,
      quick: false,
      contention: 'another QEMU VM ...',
    };
    const md = markdownReport([r], meta, { 'batch-join': 'results/batch-join.svg' });
    expect(md).toMatch(/^# Benchmark results/);
    expect(md).toContain('other load on the host');
    expect(md).toContain('## Targets');
    const t = checkTargets([r]);
    expect(t.find((x) => x.policy === 'ljf')!.met).toBe(false); // 205 vs bound 30
    expect(t.filter((x) => x.policy === 'sjf').every((x) => x.met === null)).toBe(true); // no data: not checked
    expect(JSON.parse(jsonReport([r], meta)).results[0].policies).toHaveLength(3);
    expect(textReport(r)).toContain('vs default');
  });
  it('the SVG is well-formed: balanced tags, escaped text, one bar per policy with data', () => {
    const svg = chartForResult(r);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    expect(svg).toContain('T &lt;batch-join&gt; &amp; co');
    // every opened element is closed (self-closing or with an end tag)
    const body = svg.replace(/<\?xml[^>]*\?>/, '');
    const stack: string[] = [];
    for (const m of body.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
      if (m[3] === '/') continue;
      if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
      else stack.push(m[2]!);
    }
    expect(stack).toEqual([]);
    // 2 metrics x 2 policies with data = 4 bars (+1 background rect); sjf shows "no data" twice
    expect(svg.match(/<rect /g)).toHaveLength(5);
    expect(svg.match(/no data/g)).toHaveLength(2);
    expect(svg).toContain('class="bound"');
  });
  it('chart helpers', () => {
    expect(niceScale(0)).toEqual({ max: 1, step: 0.2 });
    const s = niceScale(437);
    expect(s.max).toBeGreaterThanOrEqual(437);
    expect(s.max / s.step).toBeLessThanOrEqual(6);
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(renderBarChart({ title: 't', panels: [] })).toContain('</svg>');
    expect(formatPct(12.345)).toBe('+12.3 %');
    expect(formatPct(null)).toBe('–');
  });
});

describe('tuned variants', () => {
  it('run right after their library default; a tuned variant without its default comes last', () => {
    const c = (name: string) => ({ name, object: `/o/${name.split('+')[0]}.bpf.o` });
    expect(withTuned([c('fifo'), c('ljf'), c('sjf')], [c('ljf+tuned'), c('rr+tuned')]).map((x) => x.name)).toEqual([
      'fifo',
      'ljf',
      'ljf+tuned',
      'sjf',
      'rr+tuned',
    ]);
  });
  it("targets: LJF rows for the library default and the tuned variant, with the share of the default's gap closed", () => {
    const recs = [
      rec(0, 'default', 0, { ...sample(300, 200), bounds: { makespan_ms: 200 } }),
      rec(1, 'ljf', 0, { ...sample(230, 180), bounds: { makespan_ms: 200 } }),
    ];
    const agg = aggregate(POLICIES.slice(0, 2), recs, METRICS);
    const r = { ...fakeResult([]), policies: agg.policies, bounds: agg.bounds };
    const t = checkTargets([r]).filter((x) => x.policy === 'ljf');
    expect(t.find((x) => /within 10 %/.test(x.target))).toMatchObject({ met: false });
    // default 50 % above the bound, ljf 15 %: 70 % of the gap closed
    expect(t.find((x) => /closes/.test(x.target))).toMatchObject({ met: false, measured: expect.stringMatching(/70 % of the gap closed/) });
  });
});

describe('bench plan', () => {
  it('quick runs are one repeat of small sizes; --only filters; cyclictest only on request', () => {
    const q = benchPlan({ quick: true });
    expect(q.repeats).toBe(1);
    expect(q.workloads.map((w) => w.id)).toEqual(['batch-join', 'wakeup', 'build', 'hackbench']);
    const full = benchPlan({ quick: false });
    expect(full.repeats).toBe(3);
    expect(full.workloads.filter((w) => w.id.startsWith('batch-')).length).toBeGreaterThanOrEqual(2);
    expect(full.workloads.map((w) => w.id)).not.toContain('cyclictest');
    expect(benchPlan({ quick: false, only: ['wakeup', 'cyclictest'] }).workloads.map((w) => w.id)).toEqual(['wakeup', 'cyclictest']);
    expect(benchPlan({ quick: false, repeats: 5 }).repeats).toBe(5);
  });
});

describe('hand-written analysis across regenerations', () => {
  it('is extracted from an earlier report and kept, flagged when it was written for another run', async () => {
    const { extractAnalysis } = await import('../../core/bench/report.js');
    const meta = {
      date: 'D2',
      command: 'c',
      hostCpus: 2,
      hostModel: 'm',
      kernel: 'k',
      accelerator: 'tcg',
      guestCpus: 2,
      durationMs: 1,
      repeats: 1,
      quick: true,
    };
    const first = markdownReport([], { ...meta, date: 'D1' });
    expect(extractAnalysis(first)).toBeNull(); // only the placeholder
    const edited = first.replace(/_No analysis written[^\n]*_/, 'LJF was close to the bound.');
    const a = extractAnalysis(edited);
    expect(a).toEqual({ text: 'LJF was close to the bound.', writtenFor: 'D1' });
    const again = markdownReport([], meta, {}, a);
    expect(again).toContain('LJF was close to the bound.');
    expect(again).toContain('written for the run of D1');
    expect(markdownReport([], { ...meta, date: 'D1' }, {}, a)).not.toContain('written for the run of');
  });
});

describe('history from a benchmark', () => {
  const fingerprint = { cpuBound: 0.95, ioHeavy: 0, latencySensitive: 0.05, unevenness: 0.7, manyShortTasks: 0.4, parallelism: 0.9 };
  const records = [
    rec(0, DEFAULT_POLICY, 0, sample(1000, 500)),
    rec(1, 'ljf', 0, sample(700, 560)),
    rec(2, 'sjf', 0),
    rec(3, DEFAULT_POLICY, 1, sample(1100, 520)),
    rec(4, 'ljf', 1, sample(760, 540)),
    rec(5, 'sjf', 1),
  ];
  const withProfile = (r: BenchmarkResult): BenchmarkResult => ({ ...r, profile: { fingerprint, tags: ['cpu-bound', 'uneven-jobs'], wallMs: 1200 } });

  it("each library policy: its medians against the kernel default's, the workload's fingerprint, failed when no run counted", () => {
    const r = withProfile(fakeResult(records));
    const h = benchmarkHistory(
      r,
      [
        { policy: 'ljf', entry: 'ljf', params: { unit_us: 10000 }, buildId: 'abc' },
        { policy: 'sjf', entry: 'sjf', params: {} },
        { policy: 'gone', entry: 'x', params: {} },
      ],
      'test',
    );
    expect(h.map((x) => x.policy)).toEqual(['ljf', 'sjf']);
    expect(h[0]!.record).toMatchObject({
      entry: 'ljf',
      buildId: 'abc',
      params: { unit_us: 10000 },
      target: 'sandbox',
      primary: 'makespan_ms',
      metrics: { makespan_ms: 730, mean_completion_ms: 550 },
      baseline: { makespan_ms: 1050, mean_completion_ms: 510 },
      better: { makespan_ms: 'lower', mean_completion_ms: 'lower' },
      workload: { name: r.workload.title, command: 'fixture batch-join', fingerprint },
    });
    expect(h[0]!.record.note).toMatch(/^test: median of 2 run\(s\)$/);
    expect(h[1]!.record).toMatchObject({ entry: 'sjf', outcome: 'failed', metrics: {} });
    expect(h[1]!.record.baseline).toBeUndefined();
    expect(h[1]!.record.note).toMatch(/2 failed: rejected/);
    // without a profile the record has no fingerprint (search cannot match it by workload)
    expect(benchmarkHistory(fakeResult(records), [{ policy: 'ljf', entry: 'ljf', params: {} }], 't')[0]!.record.workload.fingerprint).toBeUndefined();
  });

  it('npm run bench writes them into the seed library: valid records, ids stable per run, other fixtures kept', async () => {
    const lib = mkdtempSync(join(tmpdir(), 'scx-seedhist-'));
    try {
      for (const n of ['ljf', 'sjf']) {
        mkdirSync(join(lib, n));
        // the seed's own entry (history is written only for valid entries), at version 3
        const seed = JSON.parse(readFileSync(join(repoRoot, 'library', n, 'entry.json'), 'utf8')) as object;
        writeFileSync(join(lib, n, 'entry.json'), JSON.stringify({ ...seed, version: 3 }));
      }
      const other = {
        ...HistoryRecord.parse({
          id: 'seed-old',
          entry: 'ljf',
          target: 'sandbox',
          workload: { name: 'w', command: 'fixture wakeup' },
          metrics: { p99: 1 },
          outcome: 'neutral',
          at: 'x',
        }),
      };
      const stale = { ...other, id: 'seed-stale', workload: { name: 'w', command: 'fixture batch-join' } };
      writeFileSync(join(lib, 'ljf', 'history.json'), JSON.stringify([other, stale]));
      const cands = [
        { name: 'fifo', object: 'f.o', source: 'bpf-templates/fifo' },
        { name: 'ljf', object: 'l.o', source: 'library/ljf (unit_us=10000)', params: { unit_us: 10000 } },
        { name: 'sjf', object: 's.o', source: 'library/sjf' },
      ];
      const run = { result: withProfile(fakeResult(records)), candidates: cands };
      expect(await writeSeedHistory([run], '2026-11-24T00:00:00.000Z', lib)).toEqual({ ljf: 1, sjf: 1 });
      const ljf = (JSON.parse(readFileSync(join(lib, 'ljf', 'history.json'), 'utf8')) as unknown[]).map((x) => HistoryRecord.parse(x));
      expect(ljf.map((x) => x.id)).toEqual(['seed-old', expect.stringMatching(/^seed-[0-9a-f]{16}$/)]);
      expect(ljf[1]).toMatchObject({
        entry: 'ljf',
        version: 3,
        outcome: 'improved',
        at: '2026-11-24T00:00:00.000Z',
        params: { unit_us: 10000 },
        workload: { fingerprint },
      });
      const sjf = JSON.parse(readFileSync(join(lib, 'sjf', 'history.json'), 'utf8')) as HistoryRecord[];
      expect(sjf[0]).toMatchObject({ outcome: 'failed' });
      // the same run written again gives the same ids (a library imports each record once)
      await writeSeedHistory([run], '2026-11-24T00:00:00.000Z', lib);
      const again = JSON.parse(readFileSync(join(lib, 'ljf', 'history.json'), 'utf8')) as HistoryRecord[];
      expect(again.map((x) => x.id)).toEqual(ljf.map((x) => x.id));
    } finally {
      rmSync(lib, { recursive: true, force: true });
    }
  });
});

describe('a command as a workload', () => {
  it("is measured by its wall time (and the last number it prints), from the wrapper's marker line", () => {
    const w = commandWorkload({ command: 'hackbench -g 1 -l 10', printed: { better: 'lower', unit: 's' } });
    expect(w.metrics.map((m) => m.key)).toEqual(['wall_ms', 'value']);
    expect(w.primary).toBe('value');
    expect(w.command(null)).toMatch(/^s=\$\(scx-clock\); \( hackbench -g 1 -l 10 \) .*@@scx-wall-ms/);
    const s = parseCommandOutput('Running in process mode\nTime: 0.123\n@@scx-wall-ms 456 rc 0\n', {
      command: 'hackbench -g 1 -l 10',
      printed: { better: 'lower' },
    });
    expect(s).toMatchObject({ ok: true, metrics: { wall_ms: 456, value: 0.123 } });
    // a failing command is a failed sample; a missing marker (killed) or number is an output error
    expect(parseCommandOutput('@@scx-wall-ms 10 rc 3\n', { command: 'false' }).ok).toBe(false);
    expect(() => parseCommandOutput('Time: 1\n', { command: 'x' })).toThrow(/no wall-time marker/);
    expect(() => parseCommandOutput('no digits\n@@scx-wall-ms 10 rc 0\n', { command: 'x', printed: { better: 'lower' } })).toThrow(/printed no number/);
    expect(commandWorkload({ command: 'true' }).primary).toBe('wall_ms');
  });

  it('tools name a fixture or a command, exactly one', () => {
    expect(workloadFor({ workload: 'hackbench', quick: true }).id).toBe('hackbench');
    expect(workloadFor({ command: 'true' }).id).toBe('command');
    expect(() => workloadFor({})).toThrow(/no workload: give workload/);
    expect(() => workloadFor({ workload: 'hackbench', command: 'true' })).toThrow(/not both/);
    expect(() => workloadFor({ workload: 'hackbench', printed: { better: 'lower' } })).toThrow(/printed is for a command/);
  });
});
