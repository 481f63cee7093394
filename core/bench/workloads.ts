/**
 * Benchmark workloads: what runs inside the sandbox guest, and how its output becomes metrics.
 *
 * A workload is a plain object: an optional per-boot calibration (run once per VM, before any
 * scheduler is loaded, and reused for every run of that boot so every policy does identical work),
 * a guest command built from that calibration, and a parser from the command's stdout to a
 * sample. The programs are the fixtures in fixtures/workloads (batch, wakebench, buildsim; built
 * static; the guest finds them on its PATH through the host share) plus hackbench and cyclictest
 * from rt-tests, and any command installed on the host.
 */
import { createHash } from 'node:crypto';
import { ScxError } from '../errors.js';
import { commandLine, writablePaths, type CommandSpec } from '../command.js';
import { benchScriptCommand } from './scripts.js';
import { computeBounds, jobsFromSpec, parseJobSpec, type PolicyName, type SimInput } from '../sim/index.js';

export type Better = 'lower' | 'higher';

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: Better;
}

/** One run of a workload under one policy. */
export interface WorkloadSample {
  /** The workload's own verdict (self-checks, exit status). A sample that is not ok has no metrics used. */
  ok: boolean;
  metrics: Record<string, number>;
  /**
   * Theoretical bounds for this run alone, per metric key, for workloads that can only bound a run
   * from its own output; workloads with a `bounds` function leave this empty (see Workload.bounds).
   */
  bounds: Record<string, number>;
  /**
   * What work was done, independent of the scheduler: equal for every policy of one boot when the
   * work is fixed (same jobs, units, iterations, and, where the program prints them, checksums).
   */
  work: { digest: string; summary: string };
  /** Per-job details (batch, build), for the simulator and for readers. */
  jobs?: { name: string; units: number; startMs: number | null; endMs: number | null; ok: boolean; cpuMs?: number }[];
  /** Anything else worth keeping from the program's output. */
  extra?: Record<string, unknown>;
}

/** Runs a command in the guest; resolves to its stdout, throws when it fails. */
export type GuestExec = (command: string, timeoutS: number, label: string) => Promise<string>;

/** A simulator prediction for a policy family on this workload (batch only). */
export interface SimSetup {
  input: SimInput;
  /** The metric key that the simulator's makespan / mean completion predict. */
  objectives: { metric: string; objective: 'makespan' | 'mean_completion' }[];
}

/**
 * A workload. The functions are declared as methods so that a Workload<SomeCalibration> can be
 * handled as a Workload (the runner passes each workload only its own calibration back).
 */
export interface Workload<C = unknown> {
  /** Short identifier (used in file names and --only). */
  id: string;
  title: string;
  description: string;
  /** The parameters that define the work, for the report. */
  params: Record<string, string | number>;
  metrics: MetricDef[];
  /** The metric tables sort and headline by. */
  primary: string;
  /** Guest time limit for one run (s). */
  timeoutS: number;
  /** Host paths the work writes into (a command's cwd and writable): overlays in the guest. */
  writable?: string[];
  /** Key under which the calibration is cached per boot (workloads sharing it calibrate once). */
  calibrationKey?: string;
  calibrate?(exec: GuestExec): Promise<C>;
  command(cal: C): string;
  parse(stdout: string, cal: C): WorkloadSample;
  /** Input for core/sim when the workload's jobs are known in advance. */
  sim?(cal: C): SimSetup;
  /**
   * The length (ms) of one unit of this workload's work right now: the calibrated iterations timed
   * again, single-threaded, with nothing else running. The runner measures it before every default
   * run and at the end (no sched_ext scheduler loaded), so the bounds follow the machine's speed.
   */
  speed?(exec: GuestExec, cal: C): Promise<number>;
  /** The unit length the calibration itself measured (ms). */
  calibratedUnitMs?(cal: C): number;
  /**
   * Theoretical bounds per metric key (what no scheduler can beat) for units of `unitMs` on `cpus`
   * CPUs. The runner passes the shortest unit length it measured, so the bound stays a true lower bound.
   */
  bounds?(cal: C, unitMs: number, cpus: number): Record<string, number>;
}

/** A workload printed something its parser cannot use (the run counts as failed, with this message). */
export class BenchOutputError extends Error {
  constructor(
    message: string,
    readonly output?: string,
  ) {
    super(message);
    this.name = 'BenchOutputError';
  }
}

function json(stdout: string, what: string): Record<string, unknown> {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!line) throw new BenchOutputError(`${what} printed no JSON`, stdout.slice(0, 300));
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch (e) {
    throw new BenchOutputError(`${what} printed malformed JSON: ${(e as Error).message}`);
  }
}

function num(o: Record<string, unknown>, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BenchOutputError(`${what}: field ${k} is missing or not a number`);
  return v;
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

/* ----------------------------------------------------------------- batch -- */

export const BATCH_KINDS = ['join', 'logs', 'transcode', 'hash', 'tests'] as const;
export type BatchKind = (typeof BATCH_KINDS)[number];

export interface BatchOptions {
  kind: BatchKind;
  /** COUNTxUNITS items, e.g. 1x39,39x1. */
  jobs: string;
  /** Target CPU time of one unit in ms (calibrated once per boot). */
  unitMs: number;
  seed?: number;
}

export interface BatchCalibration {
  unitMs: number;
  /** Per kind: iterations per unit and the unit's calibrated length (ms). */
  kinds: Record<string, { itersPerUnit: number; nsPerIter: number; unitMsCalibrated: number }>;
}

export function parseBatchCalibration(stdout: string): BatchCalibration {
  const o = json(stdout, 'batch --calibrate');
  const list = o.calibration;
  if (!Array.isArray(list)) throw new BenchOutputError('batch --calibrate: no calibration list');
  const kinds: BatchCalibration['kinds'] = {};
  for (const c of list as Record<string, unknown>[]) {
    kinds[String(c.kind)] = {
      itersPerUnit: num(c, 'iters_per_unit', 'batch --calibrate'),
      nsPerIter: num(c, 'ns_per_iter', 'batch --calibrate'),
      unitMsCalibrated: num(c, 'unit_ms_calibrated', 'batch --calibrate'),
    };
  }
  return { unitMs: num(o, 'unit_ms', 'batch --calibrate'), kinds };
}

interface BatchJobJson {
  id: number;
  name: string;
  units: number;
  start_ms: number;
  end_ms: number;
  cpu_ms?: number;
  checksum: string;
  ok: boolean;
}

/**
 * The bounds of one batch run from the CPU time its jobs took. Makespan: no schedule of that work
 * on `cpus` CPUs finishes before max(longest job, total / cpus) (each job's own CPU time).
 * Mean completion: the offline optimum (SPT) for the same job list, each job `units` long at this
 * run's unit length (total CPU time / total units): equal jobs count as equal, as the job list
 * says; sorting them by the noise in their measured times would be an optimum no scheduler can know.
 * Null when the output has no CPU times (an older batch binary).
 */
export function batchRunBounds(jobs: { cpu_ms?: number; units?: number }[], cpus: number): { makespan_ms: number; mean_completion_ms: number } | null {
  if (!jobs.length || !(cpus >= 1) || !jobs.every((j) => typeof j.cpu_ms === 'number' && Number.isFinite(j.cpu_ms) && j.cpu_ms > 0)) return null;
  const b = computeBounds({ cpus, jobs: jobs.map((j, i) => ({ id: `j${i}`, work_ms: j.cpu_ms! })) });
  const units = jobs.map((j) => (typeof j.units === 'number' && j.units > 0 ? j.units : null));
  let mean = b.mean_completion_lower;
  if (units.every((u) => u !== null)) {
    const unitMs = jobs.reduce((a, j) => a + j.cpu_ms!, 0) / units.reduce((a, u) => a + u!, 0);
    mean = computeBounds({ cpus, jobs: units.map((u, i) => ({ id: `j${i}`, work_ms: u! * unitMs })) }).mean_completion_lower;
  }
  return { makespan_ms: b.makespan_lower, mean_completion_ms: mean };
}

/** Parse `batch --json` into a sample (exported for tests). */
export function parseBatchOutput(stdout: string, spec: string): WorkloadSample {
  const o = json(stdout, 'batch');
  const jobs = (o.jobs ?? []) as BatchJobJson[];
  const runBounds = batchRunBounds(jobs, typeof o.cpus === 'number' ? o.cpus : 0);
  const unitMs = num(o, 'unit_ms_calibrated', 'batch');
  const expected = parseJobSpec(spec);
  const sameShape = jobs.length === expected.length && jobs.every((j, i) => j.units === expected[i]);
  const ok = o.ok === true && sameShape && jobs.every((j) => j.ok);
  const work = `${String(o.kind)}|${String(o.iters_per_unit)}|${String(o.seed)}|${jobs.map((j) => `${j.name}:${j.units}:${j.checksum}`).join(',')}`;
  return {
    ok,
    metrics: { makespan_ms: num(o, 'makespan_ms', 'batch'), mean_completion_ms: num(o, 'mean_completion_ms', 'batch') },
    bounds: runBounds ?? {},
    work: {
      digest: digest(work),
      summary: `${jobs.length} jobs, ${String(o.total_units)} units x ${String(o.iters_per_unit)} iterations of ${String(o.kind)}`,
    },
    jobs: jobs.map((j) => ({
      name: j.name,
      units: j.units,
      startMs: j.start_ms,
      endMs: j.end_ms,
      ok: j.ok,
      ...(typeof j.cpu_ms === 'number' ? { cpuMs: j.cpu_ms } : {}),
    })),
    extra: {
      unitMsCalibrated: unitMs,
      itersPerUnit: o.iters_per_unit,
      totalUnits: o.total_units,
      // batch's own bound uses a quarter-unit probe of a fresh process (cold caches, page faults):
      // kept for reference, not used (the runner's bounds use the timed calibration)
      programBoundMs: o.makespan_lower_bound_ms,
      checksumsOk: jobs.every((j) => j.ok),
      ...(sameShape ? {} : { error: `job list does not match spec ${spec}` }),
    },
  };
}

function batchKind(cal: BatchCalibration, kind: string) {
  const k = cal.kinds[kind];
  if (!k) throw new BenchOutputError(`batch calibration has no kind ${kind}`);
  return k;
}

/** An uneven batch of CPU-bound jobs started at once (fixtures/workloads batch). */
export function batchWorkload(o: BatchOptions): Workload<BatchCalibration> {
  const units = parseJobSpec(o.jobs);
  const total = units.reduce((a, b) => a + b, 0);
  const seed = o.seed ?? 1;
  return {
    id: `batch-${o.kind}`,
    title: `uneven batch (${o.kind}, ${o.jobs})`,
    description:
      `${units.length} CPU-bound processes (${o.jobs}: COUNTxUNITS, a unit ≈ ${o.unitMs} ms of CPU) started together; ` +
      'makespan = when the last finishes, mean completion = average finish time',
    params: { kind: o.kind, jobs: o.jobs, unitMs: o.unitMs, seed, totalUnits: total },
    metrics: [
      { key: 'makespan_ms', label: 'makespan', unit: 'ms', better: 'lower' },
      { key: 'mean_completion_ms', label: 'mean completion', unit: 'ms', better: 'lower' },
    ],
    primary: 'makespan_ms',
    // the work takes total/cpus units when perfectly packed; allow a generous slowdown under TCG
    timeoutS: Math.ceil(60 + (total * o.unitMs * 6) / 1000),
    calibrationKey: `batch-unit-${o.unitMs}`,
    calibrate: async (exec) => parseBatchCalibration(await exec(`batch --calibrate --kind all --unit-ms ${o.unitMs}`, 300, 'calibrate batch')),
    command: (cal) => {
      const k = batchKind(cal, o.kind);
      return `batch --kind ${o.kind} --jobs ${o.jobs} --iters-per-unit ${k.itersPerUnit} --unit-ms ${o.unitMs} --seed ${seed} --json`;
    },
    parse: (stdout) => parseBatchOutput(stdout, o.jobs),
    calibratedUnitMs: (cal) => batchKind(cal, o.kind).unitMsCalibrated,
    speed: async (exec, cal) => {
      const now = parseBatchCalibration(await exec(`batch --calibrate --kind ${o.kind} --unit-ms ${o.unitMs}`, 300, `time a unit of ${o.kind}`));
      const k = batchKind(now, o.kind);
      return (k.nsPerIter * batchKind(cal, o.kind).itersPerUnit) / 1e6;
    },
    // no `bounds`: each run bounds itself from the CPU time its jobs took (batchRunBounds), which
    // follows the emulated CPUs' speed during that very run; the unit timings (speed) stay in the
    // report as a cross-check
    sim: (cal) => ({
      input: { cpus: 0, jobs: jobsFromSpec(o.jobs, batchKind(cal, o.kind).unitMsCalibrated) },
      objectives: [
        { metric: 'makespan_ms', objective: 'makespan' },
        { metric: 'mean_completion_ms', objective: 'mean_completion' },
      ],
    }),
  };
}

/* ------------------------------------------------------------- wakebench -- */

export interface WakeupOptions {
  hogs: number;
  runtimeS: number;
  warmupS?: number;
  messageThreads?: number;
  workers?: number;
  burstUs?: number;
}

export interface WakeCalibration {
  burstIters: number;
}

/** Parse `wakebench --json` (exported for tests). */
export function parseWakebenchOutput(stdout: string): WorkloadSample {
  const o = json(stdout, 'wakebench');
  const lat = (o.wakeup_latency_us ?? {}) as Record<string, unknown>;
  const req = (o.request_latency_us ?? {}) as Record<string, unknown>;
  const metrics = {
    wakeup_p50_us: num(lat, 'p50', 'wakebench wakeup_latency_us'),
    wakeup_p99_us: num(lat, 'p99', 'wakebench wakeup_latency_us'),
    wakeup_p999_us: num(lat, 'p999', 'wakebench wakeup_latency_us'),
    requests_per_s: num(o, 'requests_per_s', 'wakebench'),
    hog_iters_per_s: num(o, 'hog_iters_per_s', 'wakebench'),
  };
  const cfg = `${String(o.message_threads)}x${String(o.workers_per_message)}|hogs ${String(o.hogs)}|burst ${String(o.burst_iters)}`;
  return {
    ok: o.ok === true && num(lat, 'samples', 'wakebench') > 0,
    metrics,
    bounds: {},
    work: {
      digest: digest(cfg),
      summary: `${String(o.message_threads)} message threads x ${String(o.workers_per_message)} workers, ${String(o.hogs)} hogs, burst ${String(o.burst_iters)} iterations (${String(o.burst_us)} µs), ${String(o.runtime_s)} s`,
    },
    extra: { samples: lat.samples, requests: o.requests, requestP99Us: req.p99, maxUs: lat.max },
  };
}

/** Wakeup latency of request/response threads beside CPU hogs (fixtures/workloads wakebench). */
export function wakeupWorkload(o: WakeupOptions): Workload<WakeCalibration> {
  const m = o.messageThreads ?? 2;
  const w = o.workers ?? 4;
  const warm = o.warmupS ?? 0;
  const burstUs = o.burstUs ?? 100;
  return {
    id: 'wakeup',
    title: `wakeup latency (${m}x${w} workers, ${o.hogs} hogs)`,
    description:
      `wakebench: ${m} message threads each wake ${w} workers per round (a ${burstUs} µs request), ` +
      `${o.hogs} CPU hogs saturate the CPUs; latency = wake request to running`,
    params: { messageThreads: m, workers: w, hogs: o.hogs, runtimeS: o.runtimeS, warmupS: warm, burstUs },
    metrics: [
      { key: 'wakeup_p50_us', label: 'wakeup p50', unit: 'µs', better: 'lower' },
      { key: 'wakeup_p99_us', label: 'wakeup p99', unit: 'µs', better: 'lower' },
      { key: 'wakeup_p999_us', label: 'wakeup p99.9', unit: 'µs', better: 'lower' },
      { key: 'requests_per_s', label: 'requests/s', unit: '1/s', better: 'higher' },
      { key: 'hog_iters_per_s', label: 'hog throughput', unit: 'iter/s', better: 'higher' },
    ],
    primary: 'wakeup_p99_us',
    timeoutS: Math.ceil(90 + (o.runtimeS + warm) * 3),
    calibrationKey: `wakebench-burst-${burstUs}`,
    calibrate: async (exec) => {
      const out = json(await exec(`wakebench --runtime 0.05 --burst-us ${burstUs} --json`, 120, 'calibrate wakebench'), 'wakebench');
      return { burstIters: Math.max(1, num(out, 'burst_iters', 'wakebench')) };
    },
    command: (cal) =>
      `wakebench --message-threads ${m} --workers ${w} --hogs ${o.hogs} --runtime ${o.runtimeS} --warmup ${warm} --burst-iters ${cal.burstIters} --json`,
    parse: (stdout) => parseWakebenchOutput(stdout),
  };
}

/* -------------------------------------------------------------- buildsim -- */

export interface BuildOptions {
  parallel: number;
  files?: number;
  libs?: number;
  seed?: number;
  unitMs: number;
}

export interface BuildCalibration {
  itersPerUnit: number;
  nsPerIter: number;
  unitMsCalibrated: number;
  /** Of the DAG (buildsim --print-dag). */
  totalUnits: number;
  criticalPathUnits: number;
}

/** Parse `buildsim --json` (exported for tests). */
export function parseBuildsimOutput(stdout: string): WorkloadSample {
  const o = json(stdout, 'buildsim');
  const jobs = (o.jobs ?? []) as { name: string; units: number; start_ms: number | null; end_ms: number | null; ok: boolean }[];
  const work = `${String(o.files)}|${String(o.libs)}|${String(o.seed)}|${String(o.iters_per_unit)}|${jobs.map((j) => `${j.name}:${j.units}`).join(',')}`;
  return {
    ok: o.ok === true && jobs.every((j) => j.ok),
    metrics: { makespan_ms: num(o, 'makespan_ms', 'buildsim') },
    bounds: {},
    work: {
      digest: digest(work),
      summary: `${jobs.length} steps, ${String(o.total_units)} units (critical path ${String(o.critical_path_units)}) x ${String(o.iters_per_unit)} iterations, -j${String(o.parallel)}`,
    },
    jobs: jobs.map((j) => ({ name: j.name, units: j.units, startMs: j.start_ms, endMs: j.end_ms, ok: j.ok })),
    extra: {
      unitMsCalibrated: o.unit_ms_calibrated,
      programBoundMs: o.makespan_lower_bound_ms,
      jobsRun: o.jobs_run,
      criticalPathUnits: o.critical_path_units,
      totalUnits: o.total_units,
    },
  };
}

/** A make -jN shaped build (fixtures/workloads buildsim). */
export function buildWorkload(o: BuildOptions): Workload<BuildCalibration> {
  const files = o.files ?? 40;
  const libs = o.libs ?? 4;
  const seed = o.seed ?? 1;
  const dagArgs = `buildsim -j ${o.parallel} --files ${files} --libs ${libs} --seed ${seed}`;
  return {
    id: 'build',
    title: `build (buildsim -j${o.parallel}, ${files} files)`,
    description: `a make -j${o.parallel} shaped DAG: gen, ${files} compiles of uneven size, ${libs} archives, a link; each step a forked CPU-bound process`,
    params: { parallel: o.parallel, files, libs, seed, unitMs: o.unitMs },
    metrics: [{ key: 'makespan_ms', label: 'build time', unit: 'ms', better: 'lower' }],
    primary: 'makespan_ms',
    timeoutS: 600,
    calibrationKey: `buildsim-unit-${o.unitMs}`,
    calibrate: async (exec) => {
      const out = json(await exec(`buildsim --calibrate --unit-ms ${o.unitMs}`, 300, 'calibrate buildsim'), 'buildsim --calibrate');
      const dag = json(await exec(`${dagArgs} --print-dag`, 60, 'buildsim DAG'), 'buildsim --print-dag');
      return {
        itersPerUnit: num(out, 'iters_per_unit', 'buildsim'),
        nsPerIter: num(out, 'ns_per_iter', 'buildsim'),
        unitMsCalibrated: num(out, 'unit_ms_calibrated', 'buildsim'),
        totalUnits: num(dag, 'total_units', 'buildsim --print-dag'),
        criticalPathUnits: num(dag, 'critical_path_units', 'buildsim --print-dag'),
      };
    },
    calibratedUnitMs: (cal) => cal.unitMsCalibrated,
    speed: async (exec, cal) => {
      const now = json(await exec(`buildsim --calibrate --unit-ms ${o.unitMs}`, 300, 'time a buildsim unit'), 'buildsim --calibrate');
      return (num(now, 'ns_per_iter', 'buildsim') * cal.itersPerUnit) / 1e6;
    },
    // like make -jN on `cpus` CPUs: no faster than the critical path, nor than the work spread over min(N, cpus)
    bounds: (cal, unitMs, cpus) => ({
      makespan_ms: Math.max(cal.criticalPathUnits, cal.totalUnits / Math.max(1, Math.min(o.parallel, cpus))) * unitMs,
    }),
    command: (cal) => `${dagArgs} --iters-per-unit ${cal.itersPerUnit} --unit-ms ${o.unitMs} --json`,
    parse: (stdout) => parseBuildsimOutput(stdout),
  };
}

/* ------------------------------------------------------------- hackbench -- */

export interface HackbenchOptions {
  groups: number;
  loops: number;
  threads?: boolean;
}

export function parseHackbenchOutput(stdout: string): WorkloadSample {
  const m = /Time:\s*([\d.]+)/.exec(stdout);
  if (!m) throw new BenchOutputError('hackbench printed no "Time:" line', stdout.slice(0, 300));
  const head = /(\d+) groups.*\(== (\d+) tasks\)/.exec(stdout);
  const msgs = /pass (\d+) messages/.exec(stdout);
  const cfg = `${head?.[1] ?? '?'} groups, ${head?.[2] ?? '?'} tasks, ${msgs?.[1] ?? '?'} messages each`;
  return { ok: true, metrics: { time_s: Number(m[1]) }, bounds: {}, work: { digest: digest(cfg), summary: cfg } };
}

/** hackbench (rt-tests): groups of senders and receivers passing messages over pipes/sockets. */
export function hackbenchWorkload(o: HackbenchOptions): Workload<null> {
  return {
    id: 'hackbench',
    title: `hackbench (-g ${o.groups} -l ${o.loops}${o.threads ? ' -T' : ''})`,
    description: `hackbench: ${o.groups} groups of 20 senders and 20 receivers, ${o.loops} messages each; time to finish`,
    params: { groups: o.groups, loops: o.loops, threads: o.threads ? 1 : 0 },
    metrics: [{ key: 'time_s', label: 'time', unit: 's', better: 'lower' }],
    primary: 'time_s',
    timeoutS: 300,
    command: () => `hackbench ${o.threads ? '-T ' : ''}-g ${o.groups} -l ${o.loops}`,
    parse: (stdout) => parseHackbenchOutput(stdout),
  };
}

/* ------------------------------------------------------------ cyclictest -- */

export interface CyclictestOptions {
  intervalUs: number;
  loops: number;
  /** stress-ng --cpu N beside it. */
  stressCpus: number;
}

/** Percentile (0-100) of a histogram given as [value, count] pairs sorted by value. */
export function histogramPercentile(hist: [number, number][], p: number): number {
  const total = hist.reduce((s, [, c]) => s + c, 0);
  if (!total) return NaN;
  const want = Math.ceil((p / 100) * total);
  let acc = 0;
  for (const [v, c] of hist) {
    acc += c;
    if (acc >= want) return v;
  }
  return hist[hist.length - 1]![0];
}

/** Parse cyclictest -q -h N output: histogram lines "000123 000004" plus "# Max Latencys:" and overflows. */
export function parseCyclictestOutput(stdout: string): WorkloadSample {
  const hist: [number, number][] = [];
  let max = NaN;
  let overflows = 0;
  for (const line of stdout.split('\n')) {
    const h = /^(\d{6})\s+(\d+)/.exec(line);
    if (h) {
      if (Number(h[2]) > 0) hist.push([Number(h[1]), Number(h[2])]);
      continue;
    }
    const mx = /^# Max Latenc\w*:\s*(\d+)/.exec(line);
    if (mx) max = Number(mx[1]);
    const ov = /^# Histogram Overflows:\s*(\d+)/.exec(line);
    if (ov) overflows = Number(ov[1]);
  }
  if (!hist.length && !Number.isFinite(max)) throw new BenchOutputError('cyclictest printed no histogram', stdout.slice(0, 300));
  // overflowed samples are above the histogram's range: count them at the maximum
  if (overflows && Number.isFinite(max)) hist.push([max, overflows]);
  const samples = hist.reduce((s, [, c]) => s + c, 0);
  return {
    ok: samples > 0,
    metrics: { p50_us: histogramPercentile(hist, 50), p99_us: histogramPercentile(hist, 99), max_us: max },
    bounds: {},
    work: { digest: digest(`cyclictest ${samples}`), summary: `${samples} wakeups` },
    extra: { samples, overflows },
  };
}

/** cyclictest (SCHED_OTHER, one thread) beside stress-ng CPU hogs: timer wakeup latency. */
export function cyclictestWorkload(o: CyclictestOptions): Workload<null> {
  const histMax = 100000;
  return {
    id: 'cyclictest',
    title: `cyclictest beside stress-ng --cpu ${o.stressCpus}`,
    description: `cyclictest -t1 -p0 -i ${o.intervalUs} -l ${o.loops} (normal priority) while stress-ng --cpu ${o.stressCpus} runs`,
    params: { intervalUs: o.intervalUs, loops: o.loops, stressCpus: o.stressCpus },
    metrics: [
      { key: 'p50_us', label: 'latency p50', unit: 'µs', better: 'lower' },
      { key: 'p99_us', label: 'latency p99', unit: 'µs', better: 'lower' },
      { key: 'max_us', label: 'latency max', unit: 'µs', better: 'lower' },
    ],
    primary: 'p99_us',
    timeoutS: Math.ceil(120 + (o.intervalUs * o.loops * 4) / 1e6),
    // stress-ng in the background, cyclictest in the foreground, the hogs stopped after it
    command: () => benchScriptCommand('cyclictest-beside-stress.sh', [o.stressCpus, o.intervalUs, o.loops, histMax]),
    parse: (stdout) => parseCyclictestOutput(stdout),
  };
}

/** Policy families of the library, as simulator policies (null: the simulator has no model for it). */
export function simPolicyFor(family: string | undefined, sliceUs?: number): { policy: PolicyName; quantum_ms?: number } | null {
  const q = sliceUs ? sliceUs / 1000 : undefined;
  switch (family) {
    case 'default':
    case 'fair':
      return { policy: 'fair' };
    case 'sjf':
      return { policy: 'sjf' };
    case 'ljf':
      return { policy: 'ljf' };
    // a global queue whose expired tasks go back to its tail is round robin with the slice as quantum
    case 'fifo':
    case 'rr':
    case 'interactive':
      return { policy: 'rr', ...(q ? { quantum_ms: q } : {}) };
    default:
      return null;
  }
}

/* --------------------------------------------------------------- command -- */

export interface CommandWorkloadOptions extends CommandSpec {
  /** A shell command run in the sandbox guest: any program installed on the host (the guest sees the host's filesystem). */
  command: string;
  /** Also take the last number the command prints as a metric ("value"), e.g. a latency or a rate. */
  printed?: { better: Better; unit?: string; label?: string };
  timeoutS?: number;
}

const WALL_MARK = '@@scx-wall-ms';

/** Parse a command workload's run: its wall time (and printed value) from the wrapper's marker line. */
export function parseCommandOutput(stdout: string, o: CommandWorkloadOptions): WorkloadSample {
  const lines = stdout.trimEnd().split('\n');
  const mark = [...lines].reverse().find((l) => l.startsWith(WALL_MARK));
  const m = mark ? /^@@scx-wall-ms (\d+) rc (\d+)$/.exec(mark) : null;
  if (!m) throw new BenchOutputError("the command's run printed no wall-time marker (it was killed?)", stdout.slice(-300));
  const rc = Number(m[2]);
  const metrics: Record<string, number> = { wall_ms: Number(m[1]) };
  if (o.printed) {
    const own = lines.filter((l) => !l.startsWith(WALL_MARK)).join('\n');
    const nums = own.match(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi);
    if (!nums) throw new BenchOutputError('the command printed no number for "value"', own.slice(-300));
    metrics.value = Number(nums[nums.length - 1]);
  }
  return {
    ok: rc === 0,
    metrics,
    bounds: {},
    work: { digest: digest(commandLine(o)), summary: `\`${o.command}\`${o.cwd ? ` in ${o.cwd}` : ''} (exit status ${rc})` },
  };
}

/**
 * Any command as a workload (for benchmark_schedulers and tune_scheduler when no fixture fits):
 * its wall time, and optionally the last number it prints. The runner cannot check that every
 * run did the same work, only that the command exited 0.
 */
export function commandWorkload(o: CommandWorkloadOptions): Workload<null> {
  if (!o.command.trim()) throw new Error('empty command');
  return {
    id: 'command',
    title: `command \`${o.command.length > 60 ? `${o.command.slice(0, 57)}...` : o.command}\``,
    description: `the command \`${o.command}\` run in the sandbox guest; wall time${o.printed ? ' and the last number it prints' : ''}`,
    params: { command: o.command, ...(o.cwd ? { cwd: o.cwd } : {}) },
    writable: writablePaths(o),
    metrics: [
      { key: 'wall_ms', label: 'wall time', unit: 'ms', better: 'lower' },
      ...(o.printed ? [{ key: 'value', label: o.printed.label ?? 'printed value', unit: o.printed.unit ?? '', better: o.printed.better }] : []),
    ],
    primary: o.printed ? 'value' : 'wall_ms',
    timeoutS: o.timeoutS ?? 300,
    // the command's own stdout stays (for the printed value); the marker line comes last
    command: () => `s=$(scx-clock); ( ${commandLine(o)} ) </dev/null 2>/dev/null; rc=$?; e=$(scx-clock); echo "${WALL_MARK} $(( (e - s) / 1000000 )) rc $rc"`,
    parse: (stdout) => parseCommandOutput(stdout, o),
  };
}

/* ------------------------------------------------------------- fixtures -- */

export const FIXTURE_IDS = ['batch-join', 'batch-hash', 'batch-logs', 'batch-transcode', 'batch-tests', 'wakeup', 'build', 'hackbench', 'cyclictest'] as const;
export type FixtureId = (typeof FIXTURE_IDS)[number];

/**
 * The benchmark fixtures by id, at the sizes `npm run bench` uses (`quick`: tiny sizes for smoke
 * runs and tests). Batch: one job of 39 units and 39 of 1 (a unit is `batchUnitMs` of CPU).
 */
export function fixtureWorkload(id: FixtureId, o: { quick?: boolean; batchUnitMs?: number; wakeupRuntimeS?: number } = {}): Workload {
  const q = o.quick ?? false;
  const unitMs = o.batchUnitMs ?? (q ? 10 : 50);
  if (id.startsWith('batch-')) return batchWorkload({ kind: id.slice(6) as BatchKind, jobs: q ? '1x9,9x1' : '1x39,39x1', unitMs }) as Workload;
  switch (id) {
    case 'wakeup':
      return wakeupWorkload(q ? { hogs: 4, runtimeS: o.wakeupRuntimeS ?? 1 } : { hogs: 4, runtimeS: o.wakeupRuntimeS ?? 5, warmupS: 1 }) as Workload;
    case 'build':
      return buildWorkload(q ? { parallel: 2, files: 10, libs: 1, unitMs: 10 } : { parallel: 2, files: 40, libs: 4, unitMs: 10 }) as Workload;
    case 'hackbench':
      return hackbenchWorkload(q ? { groups: 1, loops: 20 } : { groups: 2, loops: 50 }) as Workload;
    case 'cyclictest':
      return cyclictestWorkload({ intervalUs: 2000, loops: q ? 300 : 2000, stressCpus: 4 }) as Workload;
    default:
      throw new Error(`unknown fixture ${String(id)}`);
  }
}

/** The workload a tool names: a fixture by id, or a command (exactly one). */
export function workloadFor(
  o: { workload?: FixtureId; command?: string; printed?: CommandWorkloadOptions['printed']; quick?: boolean } & Omit<CommandSpec, 'command'>,
): Workload {
  if (!o.workload === !o.command) {
    throw new ScxError(
      'BAD_INPUT',
      o.workload
        ? 'give either workload (a fixture) or command, not both'
        : 'no workload: give workload (a fixture id) or command (a shell command run in the sandbox)',
      `fixtures: ${FIXTURE_IDS.join(', ')}; a command is measured by its wall time (and, with printed, the last number it prints)`,
    );
  }
  if (o.printed && !o.command) throw new ScxError('BAD_INPUT', 'printed is for a command workload (the fixtures have their own metrics)');
  if (!o.command && (o.cwd || o.env || o.writable))
    throw new ScxError('BAD_INPUT', 'cwd, env and writable are for a command workload (the fixtures set up their own)');
  return o.command
    ? (commandWorkload({ command: o.command, printed: o.printed, cwd: o.cwd, env: o.env, writable: o.writable }) as Workload)
    : fixtureWorkload(o.workload!, { quick: o.quick });
}
