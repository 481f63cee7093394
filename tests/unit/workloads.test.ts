import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchJobName, parseJobSpec } from '../../core/sim/index.js';

/**
 * Builds fixtures/workloads with make (gcc -O2 -static -Wall -Wextra) into a temporary directory and
 * runs each program briefly on the host with tiny sizes.
 */
const srcDir = resolve(import.meta.dirname, '../../fixtures/workloads');
let work: string;
let bin: string;
let buildOutput: string;

const run = (prog: string, args: string[], opts: { cwd?: string } = {}) => execa(join(bin, prog), args, { reject: false, timeout: 60_000, ...opts });

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** True when the ELF file has no program interpreter (PT_INTERP), i.e. is statically linked. */
function isStaticElf(path: string): boolean {
  const b = readFileSync(path);
  expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'scx-workloads-'));
  bin = join(work, 'bin');
  const r = await execa('make', ['-C', srcDir, `BIN=${bin}`, 'WERROR=1'], { all: true });
  buildOutput = r.all ?? '';
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('build', () => {
  it('compiles every program cleanly (no warnings) into static binaries', () => {
    expect(buildOutput).not.toMatch(/warning/i);
    expect(buildOutput).toMatch(/-static/);
    expect(buildOutput).toMatch(/-Wall -Wextra/);
    for (const p of ['batch', 'wakebench', 'buildsim']) expect(isStaticElf(join(bin, p)), p).toBe(true);
    expect(readdirSync(bin).sort()).toEqual(['batch', 'buildsim', 'gen-build.sh', 'wakebench']);
  });
});

interface BatchJob {
  id: number;
  name: string;
  units: number;
  start_ms: number;
  end_ms: number;
  cpu_ms: number;
  ok: boolean;
}

const NAME_RE = /^job_([LS])(\d{3,})_(\d{2,})$/;

describe('batch', () => {
  const kinds = ['join', 'logs', 'transcode', 'hash', 'tests'];

  it.each(kinds)('runs kind %s: every job verifies its checksum, JSON has the documented shape', async (kind) => {
    const r = await run('batch', ['--kind', kind, '--jobs', '1x3,3x1', '--iters-per-unit', '20', '--seed', '7', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({ kind, seed: 7, iters_per_unit: 20, total_units: 6, calibrated: false, ok: true });
    expect(out.unit_ms_calibrated).toBeGreaterThan(0);
    const jobs = out.jobs as BatchJob[];
    expect(jobs.map((j) => [j.id, j.name, j.units])).toEqual([
      [0, 'job_L003_00', 3],
      [1, 'job_S001_01', 1],
      [2, 'job_S001_02', 1],
      [3, 'job_S001_03', 1],
    ]);
    for (const j of jobs) {
      expect(j.ok).toBe(true);
      expect(j.start_ms).toBeGreaterThanOrEqual(0);
      expect(j.end_ms).toBeGreaterThanOrEqual(j.start_ms);
      // the CPU time of its work: positive, and never more than its wall time (plus clock granularity)
      expect(j.cpu_ms).toBeGreaterThan(0);
      expect(j.cpu_ms).toBeLessThanOrEqual(j.end_ms - j.start_ms + 1);
      expect(j).toHaveProperty('checksum');
    }
    expect(out.makespan_ms).toBeCloseTo(Math.max(...jobs.map((j) => j.end_ms)), 2);
    expect(out.mean_completion_ms).toBeCloseTo(jobs.reduce((s, j) => s + j.end_ms, 0) / jobs.length, 2);
  });

  it('is deterministic: the same seed gives the same checksums', async () => {
    const a = await run('batch', ['--kind', 'hash', '--jobs', '2x2', '--iters-per-unit', '5', '--json']);
    const b = await run('batch', ['--kind', 'hash', '--jobs', '2x2', '--iters-per-unit', '5', '--json']);
    const sums = (s: string) => (json(s).jobs as { checksum: string }[]).map((j) => j.checksum);
    expect(sums(a.stdout)).toEqual(sums(b.stdout));
    expect(new Set(sums(a.stdout)).size).toBe(2); // different data per job
  });

  it('names jobs job_<L|S><units>_<index>, like batchJobName in core/sim', async () => {
    const spec = '1x39,39x1';
    const r = await run('batch', ['--kind', 'logs', '--jobs', spec, '--print-names']);
    expect(r.exitCode).toBe(0);
    const out = json(r.stdout);
    const jobs = out.jobs as { id: number; name: string; units: number }[];
    expect(jobs).toHaveLength(40);
    expect(out.total_units).toBe(78);
    const units = parseJobSpec(spec);
    for (const j of jobs) {
      const m = NAME_RE.exec(j.name);
      expect(m, j.name).not.toBeNull();
      expect(Number(m![2])).toBe(j.units);
      expect(Number(m![3])).toBe(j.id);
      expect(j.name.length).toBeLessThanOrEqual(15);
      expect(j.name).toBe(batchJobName(j.units, j.id, units));
    }
    expect(jobs[0]!.name).toBe('job_L039_00');
    expect(jobs[7]!.name).toBe('job_S001_07');
  });

  it('names stay within 15 characters at the limits (9999 jobs, 99999 units)', async () => {
    const r = await run('batch', ['--kind', 'tests', '--jobs', '1x99999,9998x1', '--print-names']);
    expect(r.exitCode, r.stderr).toBe(0);
    const jobs = json(r.stdout).jobs as { name: string }[];
    expect(jobs[0]!.name).toBe('job_L99999_0000');
    expect(jobs[9998]!.name).toBe('job_S001_9998');
    expect(Math.max(...jobs.map((j) => j.name.length))).toBeLessThanOrEqual(15);
  });

  it('really sets the task name (p->comm) of each job process', async () => {
    // two jobs long enough (~200 ms each) to be seen in /proc
    const child = run('batch', ['--kind', 'tests', '--jobs', '2x1', '--iters-per-unit', '150000', '--json']);
    let exited = false;
    void child.finally(() => (exited = true));
    const seen = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && seen.size < 2 && !exited) {
      for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          if (ppid === child.pid && comm.startsWith('job_')) seen.add(comm);
        } catch {
          /* the process went away */
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    expect([...seen].sort()).toEqual(['job_S001_00', 'job_S001_01']);
  });

  it('writes a hints file {comm: expected_units}', async () => {
    const hints = join(work, 'hints.json');
    const r = await run('batch', ['--kind', 'join', '--jobs', '2x5,1', '--print-names', '--hints-out', hints]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(hints, 'utf8'))).toEqual({ job_L005_00: 5, job_L005_01: 5, job_S001_02: 1 });
  });

  it('--shuffle permutes the sizes over the spawn order; names follow the spawn order', async () => {
    const r = await run('batch', ['--kind', 'tests', '--jobs', '1x9,9x1', '--shuffle', '--seed', '3', '--print-names']);
    const jobs = json(r.stdout).jobs as { id: number; name: string; units: number }[];
    expect(jobs.map((j) => j.units).sort((a, b) => a - b)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 9]);
    expect(jobs[0]!.units).not.toBe(9);
    jobs.forEach((j) => expect(j.name.endsWith(`_${String(j.id).padStart(2, '0')}`)).toBe(true));
  });

  it('calibrates iterations per unit for every kind', async () => {
    const r = await run('batch', ['--calibrate', '--unit-ms', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r.stdout);
    const cal = out.calibration as { kind: string; iters_per_unit: number; ns_per_iter: number; unit_ms_calibrated: number }[];
    expect(cal.map((c) => c.kind)).toEqual(kinds);
    for (const c of cal) {
      expect(c.iters_per_unit).toBeGreaterThanOrEqual(1);
      expect(c.ns_per_iter).toBeGreaterThan(0);
      expect(c.unit_ms_calibrated).toBeGreaterThan(1);
      expect(c.unit_ms_calibrated).toBeLessThan(3);
    }
  });

  it('calibrates before a run when --iters-per-unit is absent', async () => {
    const r = await run('batch', ['--kind', 'transcode', '--jobs', '2x1', '--unit-ms', '1', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out.calibrated).toBe(true);
    expect(out.iters_per_unit).toBeGreaterThan(1);
  });

  it.each(kinds)('reports a failed self-check (kind %s): ok=false and exit 1', async (kind) => {
    const r = await run('batch', ['--kind', kind, '--jobs', '3x1', '--iters-per-unit', '10', '--corrupt', '1', '--json']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/self-check/);
    const out = json(r.stdout);
    expect(out.ok).toBe(false);
    expect((out.jobs as BatchJob[]).map((j) => j.ok)).toEqual([true, false, true]);
  });

  it('prints a readable table without --json', async () => {
    const r = await run('batch', ['--kind', 'tests', '--jobs', '2', '--iters-per-unit', '5']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/job_S002_00/);
    expect(r.stdout).toMatch(/makespan .* ms/);
  });

  it.each([
    [[], /--kind is required/],
    [['--kind', 'nope', '--jobs', '1'], /unknown --kind 'nope'/],
    [['--kind', 'join'], /--jobs is required/],
    [['--kind', 'join', '--jobs', '3y4'], /invalid value '3y4' for --jobs/],
    [['--kind', 'join', '--jobs', '0x4'], /invalid value '0'/],
    [['--kind', 'join', '--jobs', '1x100000'], /from 1 to 99999/],
    [['--kind', 'join', '--jobs', '10000x1'], /from 1 to 9999/],
    [['--kind', 'join', '--jobs', '9999x1,1'], /more than 9999 jobs/],
    [['--kind', 'join', '--jobs', ','], /has no jobs/],
    [['--kind', 'join', '--jobs', '2', '--unit-ms'], /--unit-ms needs a value/],
    [['--kind', 'join', '--jobs', '2', '--unit-ms', '-5'], /invalid value '-5' for --unit-ms/],
    [['--kind', 'join', '--jobs', '2', '--iters-per-unit', '0'], /--iters-per-unit/],
    [['--kind', 'join', '--jobs', '2', '--corrupt', '5'], /only 1 jobs/],
    [['--kind', 'join', '--jobs', '2', '--bogus'], /unknown argument '--bogus'/],
    [['--calibrate', '--kind', 'nope'], /unknown --kind/],
  ])('rejects %j with exit 2 and a message', async (args, msg) => {
    const r = await run('batch', args as string[]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^batch: error: /);
    expect(r.stderr).toMatch(msg);
    expect(r.stdout).toBe('');
  });

  it('--help exits 0 and documents the naming scheme', async () => {
    const r = await run('batch', ['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/job_<C><UUU>_<NN>/);
  });
});

describe('wakebench', () => {
  interface Lat {
    samples: number;
    min: number;
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
    max: number;
  }

  function checkLatency(l: Lat) {
    expect(l.samples).toBeGreaterThan(0);
    expect(l.min).toBeLessThanOrEqual(l.p50);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.p999);
    expect(l.p999).toBeLessThanOrEqual(l.max);
    expect(l.mean).toBeGreaterThanOrEqual(l.min);
  }

  it('measures wakeup latency percentiles and requests/s', async () => {
    const r = await run('wakebench', ['--runtime', '0.4', '--message-threads', '2', '--workers', '3', '--burst-us', '20', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({ message_threads: 2, workers_per_message: 3, hogs: 0, ok: true });
    expect(out.runtime_s).toBeGreaterThan(0.35);
    expect(out.requests).toBeGreaterThan(10);
    expect(out.requests_per_s).toBeGreaterThan(0);
    expect(out.burst_iters).toBeGreaterThan(0);
    checkLatency(out.wakeup_latency_us as Lat);
    checkLatency(out.request_latency_us as Lat);
    // a request includes its wakeup and its burst
    expect((out.request_latency_us as Lat).mean).toBeGreaterThanOrEqual((out.wakeup_latency_us as Lat).mean);
    expect((out.wakeup_latency_us as Lat).samples).toBe(out.requests);
  });

  it('runs CPU hogs alongside, with warmup excluded from the samples', async () => {
    const r = await run('wakebench', ['--runtime', '0.3', '--warmup', '0.1', '--workers', '2', '--hogs', '2', '--burst-iters', '50', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({ hogs: 2, burst_iters: 50, warmup_s: 0.1, ok: true });
    expect(out.hog_iters_per_s).toBeGreaterThan(0);
    checkLatency(out.wakeup_latency_us as Lat);
  });

  it('prints a text summary without --json', async () => {
    const r = await run('wakebench', ['--runtime', '0.1', '--workers', '1', '--burst-iters', '0']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/wakeup latency \(us\): p50/);
  });

  it.each([
    [['--workers', '0'], /--workers/],
    [['--message-threads', '65'], /--message-threads/],
    [['--runtime', 'abc'], /invalid value 'abc' for --runtime/],
    [['--runtime', '0'], /--runtime/],
    [['--hogs', '-1'], /--hogs/],
    [['--burst-us'], /needs a value/],
    [['--frobnicate'], /unknown argument/],
  ])('rejects %j with exit 2 and a message', async (args, msg) => {
    const r = await run('wakebench', args as string[]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^wakebench: error: /);
    expect(r.stderr).toMatch(msg);
  });
});

describe('buildsim', () => {
  interface BuildJob {
    id: number;
    name: string;
    role: string;
    units: number;
    deps: number[];
    ready_ms: number | null;
    launch_ms: number | null;
    start_ms: number | null;
    end_ms: number | null;
    ok: boolean;
  }

  it('runs the build DAG with -j parallelism, respecting dependencies', async () => {
    const r = await run('buildsim', ['-j', '2', '--files', '8', '--libs', '2', '--iters-per-unit', '40', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({ parallel: 2, files: 8, libs: 2, iters_per_unit: 40, ok: true, jobs_run: 12 });
    const jobs = out.jobs as BuildJob[];
    expect(jobs.map((j) => j.role)).toEqual(['gen', ...Array(8).fill('cc1'), 'ar', 'ar', 'ld']);
    for (const j of jobs) {
      expect(j.ok).toBe(true);
      expect(j.name).toMatch(/^(gen|cc1|ar|ld)_[LS]\d{3}_\d{3}$/);
      expect(Number(/_[LS](\d+)_/.exec(j.name)![1])).toBe(j.units);
      for (const d of j.deps) expect(j.start_ms!).toBeGreaterThanOrEqual(jobs[d]!.end_ms!);
    }
    expect(jobs[11]!.deps).toEqual([9, 10]);
    // never more than -j jobs at once
    for (const j of jobs) {
      const t = j.start_ms!;
      const running = jobs.filter((k) => k.start_ms! <= t && k.end_ms! > t).length;
      expect(running).toBeLessThanOrEqual(2);
    }
    expect(out.makespan_ms).toBeCloseTo(Math.max(...jobs.map((j) => j.end_ms!)), 2);
    expect(out.critical_path_units).toBeLessThanOrEqual(out.total_units as number);
  });

  it('prints the DAG without running it, and -j4 / --parallel spellings work', async () => {
    const dag = json((await run('buildsim', ['--print-dag', '--files', '3', '--libs', '1'])).stdout);
    expect(dag.jobs as unknown[]).toHaveLength(6);
    const j4 = await run('buildsim', ['-j4', '--files', '2', '--libs', '1', '--iters-per-unit', '5', '--json']);
    expect(json(j4.stdout).parallel).toBe(4);
    const p3 = await run('buildsim', ['--parallel=3', '--files', '2', '--libs', '1', '--iters-per-unit', '5', '--json']);
    expect(json(p3.stdout).parallel).toBe(3);
  });

  it('stops like make (without -k) when a job fails its self-check', async () => {
    const r = await run('buildsim', ['-j', '1', '--files', '4', '--libs', '1', '--iters-per-unit', '10', '--corrupt', '2', '--json']);
    expect(r.exitCode).toBe(1);
    const out = json(r.stdout);
    expect(out.ok).toBe(false);
    const jobs = out.jobs as BuildJob[];
    expect(jobs[2]!.ok).toBe(false);
    expect(jobs[0]!.ok).toBe(true);
    expect(jobs[6]!.start_ms).toBeNull(); // the link never ran
  });

  it('calibrates', async () => {
    const out = json((await run('buildsim', ['--calibrate', '--unit-ms', '2'])).stdout);
    expect(out.iters_per_unit).toBeGreaterThan(0);
    expect(out.unit_ms_calibrated).toBeGreaterThan(1);
  });

  it.each([
    [['--files', '0'], /--files/],
    [['--files', '3', '--libs', '5'], /--libs 5 is more than --files 3/],
    [['-j', '0'], /-j/],
    [['-j'], /needs a value/],
    [['--seed', 'x'], /--seed/],
    [['--what'], /unknown argument/],
  ])('rejects %j with exit 2 and a message', async (args, msg) => {
    const r = await run('buildsim', args as string[]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^buildsim: error: /);
    expect(r.stderr).toMatch(msg);
  });
});

describe('gen-build.sh', () => {
  it('generates a project that builds with make -j and runs', async () => {
    const dir = join(work, 'proj');
    const g = await execa('sh', [join(bin, 'gen-build.sh'), '12', dir, '5'], { reject: false });
    expect(g.exitCode, g.stderr).toBe(0);
    const files = readdirSync(dir);
    expect(files.filter((f) => /^f\d{3}\.c$/.test(f))).toHaveLength(12);
    expect(files).toContain('Makefile');
    const mk = await execa('make', ['-C', dir, '-j2', 'CC=gcc'], { reject: false, all: true });
    expect(mk.exitCode, mk.all).toBe(0);
    const app = await execa(join(dir, 'app'));
    expect(app.stdout).toMatch(/^ok 12 \d+$/);
    // deterministic for a seed
    const dir2 = join(work, 'proj2');
    await execa('sh', [join(bin, 'gen-build.sh'), '12', dir2, '5']);
    expect(readFileSync(join(dir2, 'f007.c'), 'utf8')).toBe(readFileSync(join(dir, 'f007.c'), 'utf8'));
  });

  it.each([[[]], [['x']], [['0']], [['1000']], [['3', 'd', 'seed']]])('rejects %j with exit 2', async (args) => {
    const r = await execa('sh', [join(bin, 'gen-build.sh'), ...(args as string[])], { reject: false, cwd: work });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage: gen-build.sh N/);
  });
});
