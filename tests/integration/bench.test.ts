/**
 * The benchmark runner for real: one sandbox boot, a tiny uneven batch under the kernel default and
 * under the FIFO template, one run each (the --quick shape), then the report built from it.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartForResult, markdownSection } from '../../core/bench/report.js';
import { interleave, runBenchmark, type BenchmarkResult, type Progress } from '../../core/bench/runner.js';
import { batchWorkload, simPolicyFor } from '../../core/bench/workloads.js';
import { repoRoot } from '../../core/paths.js';
import { build } from '../helpers.js';

const SPEC = '1x4,4x1';

describe('benchmark runner in the sandbox', () => {
  let r: BenchmarkResult;
  const progress: Progress[] = [];

  beforeAll(async () => {
    // the guest image carries fixtures/workloads/bin; make sure it is built
    await execa('make', ['-C', join(repoRoot, 'fixtures', 'workloads')]);
    const fifo = await build('bpf-templates/fifo/fifo.bpf.c');
    r = await runBenchmark({
      workload: batchWorkload({ kind: 'join', jobs: SPEC, unitMs: 10 }),
      candidates: [{ name: 'fifo', object: fifo, sim: simPolicyFor('fifo', 20000), source: 'bpf-templates/fifo' }],
      repeats: 1,
      onProgress: (p) => progress.push(p),
    });
  }, 240_000);

  it('ran the default and the candidate in one boot, in the planned order, without failures', () => {
    expect(r.error, r.error ?? '').toBeNull();
    expect(r.restarts).toBe(0);
    expect(r.environment.kernel).toMatch(/^\d+\.\d+/);
    expect(r.environment.guestCpus).toBe(2);
    expect(r.order).toEqual(interleave(['default', 'fifo'], 1));
    expect(r.policies.map((p) => [p.name, p.status])).toEqual([
      ['default', 'ok'],
      ['fifo', 'ok'],
    ]);
    for (const p of r.policies) {
      expect(p.runs).toHaveLength(1);
      expect(p.failures).toEqual([]);
    }
    expect(progress.map((p) => p.phase)).toEqual(['boot', 'calibrate', 'run', 'run', 'done']);
    expect(progress.at(-1)).toMatchObject({ done: 2, total: 2 });
  });

  it('both policies did exactly the same work: same jobs and units, same iterations, same checksums, all ok', () => {
    expect(r.sameWork).toBe(true);
    const [def, fifo] = r.policies.map((p) => p.runs[0]!.sample!);
    expect(def!.jobs!.map((j) => [j.name, j.units])).toEqual([
      ['job_L004_00', 4],
      ['job_S001_01', 1],
      ['job_S001_02', 1],
      ['job_S001_03', 1],
      ['job_S001_04', 1],
    ]);
    expect(fifo!.jobs!.map((j) => [j.name, j.units])).toEqual(def!.jobs!.map((j) => [j.name, j.units]));
    expect(def!.work.digest).toBe(fifo!.work.digest);
    for (const s of [def!, fifo!]) {
      expect(s.ok).toBe(true);
      expect(s.jobs!.every((j) => j.ok)).toBe(true);
      expect(s.extra!.checksumsOk).toBe(true);
    }
  });

  it('metrics are positive numbers and respect the theoretical bounds (5 % timer tolerance)', () => {
    expect(r.speed!.unitMs.length).toBeGreaterThanOrEqual(2); // calibration, and timed again
    expect(r.bounds.makespan_ms).toBeGreaterThan(0);
    expect(r.bounds.mean_completion_ms).toBeGreaterThan(0);
    // each batch run bounds itself from the CPU time its jobs took (TCG speed drifts between runs):
    // makespan >= max(longest job, total / 2 CPUs); the workload's bound is the median of the runs'
    expect(r.boundsFrom).toBe('run');
    const runBounds: number[] = [];
    for (const p of r.policies) {
      const s = p.runs[0]!.sample!;
      const cpu = s.jobs!.map((j) => j.cpuMs!);
      expect(cpu.every((c) => Number.isFinite(c) && c > 0)).toBe(true);
      const total = cpu.reduce((a, c) => a + c, 0);
      expect(s.bounds.makespan_ms).toBeCloseTo(Math.max(Math.max(...cpu), total / 2), 6);
      expect(p.metrics.makespan_ms!.bound).toBeCloseTo(s.bounds.makespan_ms!, 6);
      expect(s.metrics.makespan_ms!).toBeGreaterThanOrEqual(s.bounds.makespan_ms! * 0.95);
      expect(s.metrics.mean_completion_ms!).toBeGreaterThanOrEqual(s.bounds.mean_completion_ms! * 0.95);
      runBounds.push(s.bounds.makespan_ms!);
    }
    expect(r.bounds.makespan_ms).toBeCloseTo((runBounds[0]! + runBounds[1]!) / 2, 6);
    for (const p of r.policies) {
      const mk = p.metrics.makespan_ms!;
      const mc = p.metrics.mean_completion_ms!;
      expect(mk.n).toBe(1);
      expect(Number.isFinite(mk.median) && mk.median > 0).toBe(true);
      expect(Number.isFinite(mc.median) && mc.median > 0).toBe(true);
      expect(mc.median).toBeLessThanOrEqual(mk.median);
    }
    const fifo = r.policies[1]!.metrics.makespan_ms!;
    expect(fifo.vsDefaultPct).toBeCloseTo(((r.policies[0]!.metrics.makespan_ms!.median - fifo.median) / r.policies[0]!.metrics.makespan_ms!.median) * 100, 6);
  });

  it('predicts a ranking with the simulator and reports it, the table and a chart', () => {
    expect(r.predictions.map((p) => p.metric)).toEqual(['makespan_ms', 'mean_completion_ms']);
    for (const p of r.predictions) expect(p.measured.map((m) => m.policy).sort()).toEqual(['default', 'fifo']);
    const md = markdownSection(r, 'x.svg');
    expect(md).toMatch(/\| default \| 1 \|/);
    expect(md).toMatch(/\| fifo \| 1 \|/);
    const svg = chartForResult(r);
    expect(svg).toContain('</svg>');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
});

describe("a run the emulator's fault takes down", () => {
  let r: BenchmarkResult;
  const lines: string[] = [];
  const accel = process.env.SCX_MCP_ACCEL;

  beforeAll(async () => {
    // the fault is TCG's: under KVM a guest int3 panic is never excused
    process.env.SCX_MCP_ACCEL = 'tcg';
    const oops = join(repoRoot, 'fixtures', 'bad', 'emulator_oops.sh');
    r = await runBenchmark({
      workload: batchWorkload({ kind: 'join', jobs: SPEC, unitMs: 10 }),
      candidates: [{ name: 'oops', object: oops, scx: { binary: oops, args: [], opsName: 'oops' }, source: 'fixtures/bad/emulator_oops.sh' }],
      repeats: 1,
      log: (l) => lines.push(l),
    });
  }, 400_000);
  afterAll(() => {
    if (accel === undefined) delete process.env.SCX_MCP_ACCEL;
    else process.env.SCX_MCP_ACCEL = accel;
  });

  it('is not blamed on the candidate: kept as lost, run again in a fresh VM; the same crash again is its failure', () => {
    expect(r.environment.accelerator).toBe('tcg');
    expect(r.lostRuns).toHaveLength(1);
    expect(r.lostRuns[0]).toMatchObject({ policy: 'oops', failure: 'vm' });
    expect(r.lostRuns[0]!.error).toMatch(/guest kernel panicked: Oops: int3: 0000 \[#1\] SMP NOPTI; .*the emulator's fault\)$/);
    expect(r.restarts).toBe(1);
    expect(lines.some((l) => /oops #1: lost to the emulator, run again in a fresh VM/.test(l))).toBe(true);
    expect(lines.some((l) => /booting a fresh VM \(restart 1\); the calibration \(same work\) is kept/.test(l))).toBe(true);
    const oops = r.policies.find((p) => p.name === 'oops')!;
    expect(oops.failures).toHaveLength(1);
    expect(oops.failures[0]!.kind).toBe('vm');
    expect(oops.failures[0]!.message).toMatch(/the emulator's fault, a second time in this slot\)$/);
    const def = r.policies.find((p) => p.name === 'default')!;
    expect(def.failures).toEqual([]);
    expect(markdownSection(r, 'x.svg')).toMatch(/Runs lost to the emulator and run again in a fresh VM \(1\):\n\n- oops, run 1: the VM died during this run/);
  });
});
