/**
 * profile_workload's derivation (tags, fingerprint, runtime spread) on real scx-profile output
 * recorded in the sandbox (fixtures/profiles/*.json: kernel, command and date inside each file).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { similarity } from '../../core/model/fingerprint.js';
import { deriveProfile, parseProfilerOutput, RawProfile, type Profile } from '../../core/profile/profile.js';
import { repoRoot } from '../../core/paths.js';

function recorded(name: string): { command: string; raw: RawProfile; profile: Profile } {
  const f = JSON.parse(readFileSync(join(repoRoot, 'fixtures', 'profiles', `${name}.json`), 'utf8')) as { command: string; raw: unknown };
  const raw = RawProfile.parse(f.raw);
  return { command: f.command, raw, profile: deriveProfile(raw, 'sandbox', f.command) };
}

describe('profiles of real workloads (recorded in the sandbox)', () => {
  it('an uneven batch (1 long job, 39 short, 2 CPUs): cpu-bound, uneven jobs, batch; not latency-sensitive', () => {
    const { profile: p, raw } = recorded('batch-join');
    expect(p.tags).toEqual(expect.arrayContaining(['cpu-bound', 'uneven-jobs', 'batch']));
    expect(p.tags).not.toContain('latency-sensitive');
    expect(p.fingerprint.unevenness).toBeGreaterThan(0.8);
    expect(p.fingerprint.latencySensitive).toBeLessThan(0.2);
    // the long job dominates the runtimes (the spread SJF/LJF exploit), and the job list feeds the simulator
    expect(p.tasks.runtimeMs.max).toBeGreaterThan(10 * p.tasks.runtimeMs.median);
    expect(p.jobs.find((j) => j.id.startsWith('job_L039'))!.work_ms).toBe(p.tasks.runtimeMs.max);
    // totals from the kernel's accounting of every reaped child: more than the sampled per-task sum
    expect(raw.totals.cpu_from).toBe('rusage');
    expect(raw.totals.utime_ms + raw.totals.stime_ms).toBeGreaterThanOrEqual(raw.tasks.reduce((a, t) => a + t.cpu_ms, 0));
  });

  it('equal CPU hogs (stress-ng --cpu 2): cpu-bound and not uneven (the waiting parent is not a job)', () => {
    const { profile: p } = recorded('stress-cpu');
    expect(p.tags).toContain('cpu-bound');
    expect(p.tags).not.toContain('uneven-jobs');
    expect(p.fingerprint.cpuBound).toBeGreaterThan(0.85);
    expect(p.fingerprint.unevenness).toBeLessThan(0.2);
    expect(p.tasks.seen).toBe(3); // the parent was seen, but the spread is over the two workers
    expect(p.tasks.runtimeMs.cv).toBeLessThan(0.1);
  });

  it('a wakeup benchmark (message threads waking workers): latency-sensitive, not a batch', () => {
    const { profile: p } = recorded('wakebench');
    expect(p.tags).toContain('latency-sensitive');
    expect(p.tags).not.toContain('batch');
    expect(p.tags).not.toContain('uneven-jobs');
    expect(p.contextSwitches.perSecond).toBeGreaterThan(1000);
  });

  it('hackbench (80 messaging tasks): latency-sensitive, many short tasks', () => {
    const { profile: p } = recorded('hackbench');
    expect(p.tags).toEqual(expect.arrayContaining(['latency-sensitive', 'many-short-tasks']));
    expect(p.tags).not.toContain('batch');
  });

  it('a sleeping command: no tags, a near-zero fingerprint', () => {
    const { profile: p } = recorded('sleepy');
    expect(p.tags).toEqual([]);
    expect(p.fingerprint.cpuBound).toBeLessThan(0.05);
    expect(p.cpu.utilisation).toBeLessThan(0.05);
  });

  it('fingerprints separate the kinds: the batch is far from the wakeup benchmark, each near itself', () => {
    const batch = recorded('batch-join').profile.fingerprint;
    const wake = recorded('wakebench').profile.fingerprint;
    const hogs = recorded('stress-cpu').profile.fingerprint;
    expect(similarity(batch, batch)).toBe(1);
    expect(similarity(batch, wake)).toBeLessThan(0.3);
    expect(similarity(batch, hogs)).toBeLessThan(similarity(hogs, hogs));
  });

  it("parses the profiler's JSON and refuses what is not", () => {
    const { raw } = recorded('sleepy');
    expect(parseProfilerOutput(JSON.stringify(raw), 'host', 'sleep 2').command).toBe('sleep 2');
    expect(() => parseProfilerOutput('{"mode":"command"}', 'host', null)).toThrow();
    expect(() => parseProfilerOutput('not json', 'host', null)).toThrow();
  });
});
