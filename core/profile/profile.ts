/**
 * profile_workload's engine: run scx-profile (the same static C program on the
 * host and in the sandbox guest), then derive what the workload needs: tags,
 * a fingerprint for library search, and the per-task runtime spread that makes
 * shortest/longest-job-first pay off.
 */
import { commandLine, shellQuote, writablePaths, type CommandSpec } from '../command.js';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { ScxError } from '../errors.js';
import { repoRoot } from '../paths.js';
import { staticHelper } from '../sandbox/image.js';
import { median } from '../model/stats.js';
import type { TargetKind } from '../model/target.js';
import type { TargetManager } from '../targets/manager.js';
import { OPERATOR, type Actor } from '../targets/audit.js';
import { Fingerprint } from '../model/fingerprint.js';

export const RawProfile = z.object({
  mode: z.enum(['command', 'system', 'pids']),
  wall_ms: z.number(),
  exit_code: z.number(),
  timed_out: z.boolean(),
  cpus: z.number(),
  interval_ms: z.number(),
  samples: z.number(),
  totals: z.object({
    utime_ms: z.number(),
    stime_ms: z.number(),
    run_ms: z.number(),
    wait_ms: z.number(),
    vcsw: z.number(),
    ivcsw: z.number(),
    read_bytes: z.number(),
    write_bytes: z.number(),
    tasks_seen: z.number(),
    max_threads: z.number(),
    max_runnable: z.number(),
    /** where CPU time and switch totals come from: the kernel's accounting of reaped descendants (command mode), or the samples */
    cpu_from: z.enum(['rusage', 'samples']).optional(),
  }),
  psi: z.object({ available: z.boolean(), cpu_some_ms: z.number(), io_some_ms: z.number(), io_full_ms: z.number(), memory_some_ms: z.number() }),
  tasks: z.array(
    z.object({
      pid: z.number(),
      tid: z.number(),
      ppid: z.number().optional(),
      comm: z.string(),
      cpu_ms: z.number(),
      run_ms: z.number(),
      wait_ms: z.number(),
      vcsw: z.number(),
      ivcsw: z.number(),
      first_ms: z.number(),
      last_ms: z.number(),
    }),
  ),
});
export type RawProfile = z.infer<typeof RawProfile>;

export const WorkloadTag = z.enum(['cpu-bound', 'io-heavy', 'latency-sensitive', 'uneven-jobs', 'batch', 'many-short-tasks', 'oversubscribed']);

export const Profile = z.object({
  target: z.enum(['sandbox', 'host']),
  mode: z.enum(['command', 'system', 'pids']),
  command: z.string().nullable(),
  wallMs: z.number(),
  exitCode: z.number(),
  timedOut: z.boolean(),
  cpus: z.number(),
  cpu: z.object({ userMs: z.number(), sysMs: z.number(), utilisation: z.number().describe('CPU time / (wall × CPUs)') }),
  contextSwitches: z.object({ voluntary: z.number(), involuntary: z.number(), perSecond: z.number() }),
  runQueue: z.object({ waitMs: z.number(), runMs: z.number(), waitShare: z.number().describe('time runnable but waiting / (waiting + running)') }),
  psi: z.object({ available: z.boolean(), cpuSomeShare: z.number(), ioSomeShare: z.number(), memorySomeShare: z.number() }),
  io: z.object({ readBytes: z.number(), writeBytes: z.number() }),
  tasks: z.object({
    seen: z.number(),
    maxThreads: z.number(),
    maxRunnable: z.number(),
    runtimeMs: z.object({
      min: z.number(),
      median: z.number(),
      max: z.number(),
      cv: z.number().describe("coefficient of variation of the jobs' CPU time (leaf tasks of the process tree: not the shells and drivers that wait for them)"),
    }),
    top: z.array(z.object({ comm: z.string(), tid: z.number(), cpuMs: z.number(), waitMs: z.number(), voluntarySwitches: z.number() })),
  }),
  jobs: z.array(z.object({ id: z.string(), work_ms: z.number() })).describe('the jobs (leaf tasks) with their CPU time, as a job list for the simulator'),
  tags: z.array(WorkloadTag),
  fingerprint: Fingerprint,
  notes: z.array(z.string()),
});
export type Profile = z.infer<typeof Profile>;

/** What a benchmark or tuning run learned about its workload: what profile_workload says of it, or why it could not. */
export const WorkloadProfile = z.object({
  fingerprint: Fingerprint.nullable(),
  tags: z.array(z.string()),
  wallMs: z.number().nullable(),
  error: z.string().optional(),
});
export type WorkloadProfile = z.infer<typeof WorkloadProfile>;

const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const squash = (x: number) => (x <= 0 ? 0 : x / (1 + x));

/** The median, 0 for no values (a profile field is a number, never NaN). */
const medianOf = (xs: number[]): number => (xs.length ? median(xs) : 0);

/** Pure: measurements → derived profile. */
export function deriveProfile(raw: RawProfile, target: TargetKind, command: string | null): Profile {
  const wall = Math.max(raw.wall_ms, 1);
  const cpuMs = raw.totals.utime_ms + raw.totals.stime_ms;
  const busy = raw.tasks.filter((t) => t.cpu_ms > 0 || t.run_ms > 1);
  // the jobs, for the spread of runtimes and the simulator's job list: the leaves of the process tree (a shell, make, or a
  // driver that forks workers and waits for them is not a job itself, and would make equal
  // workers look uneven); threads of one process are its jobs too
  const parents = new Set(raw.tasks.filter((t) => t.ppid !== undefined).map((t) => t.ppid!));
  const leaves = busy.filter((t) => !parents.has(t.pid));
  const jobs = leaves.length ? leaves : busy;
  const jobTimes = jobs.map((t) => Math.max(t.cpu_ms, t.run_ms));
  const mean = jobTimes.length ? jobTimes.reduce((a, b) => a + b, 0) / jobTimes.length : 0;
  const sd = jobTimes.length ? Math.sqrt(jobTimes.reduce((a, b) => a + (b - mean) ** 2, 0) / jobTimes.length) : 0;
  const cv = mean > 0 ? sd / mean : 0;
  const parallel = Math.max(1, Math.min(raw.cpus, raw.totals.max_runnable || 1));
  const utilisation = clamp01(cpuMs / (wall * raw.cpus));
  const switchesPerSec = ((raw.totals.vcsw + raw.totals.ivcsw) / wall) * 1000;
  const vcswPerSec = (raw.totals.vcsw / wall) * 1000;
  const waitShare = raw.totals.run_ms + raw.totals.wait_ms > 0 ? raw.totals.wait_ms / (raw.totals.run_ms + raw.totals.wait_ms) : 0;
  const ioShare = raw.psi.available ? raw.psi.io_some_ms / wall : 0;
  const ioRate = ((raw.totals.read_bytes + raw.totals.write_bytes) / wall) * 1000; // bytes/s
  const avgBurstMs = raw.totals.vcsw > 0 ? raw.totals.run_ms / raw.totals.vcsw : Infinity;

  const fingerprint: Fingerprint = {
    cpuBound: clamp01(cpuMs / (wall * parallel)),
    ioHeavy: clamp01(Math.max(ioShare * 2, ioRate / 100e6)),
    latencySensitive: clamp01(squash(vcswPerSec / 500) * (avgBurstMs < 2 ? 1.5 : avgBurstMs < 10 ? 1 : 0.5)),
    unevenness: clamp01(squash(cv) * (jobTimes.length >= 3 ? 1 : 0.3) * 1.6),
    manyShortTasks: clamp01((Math.log10(Math.max(1, raw.totals.tasks_seen)) / 3) * (medianOf(jobTimes) < 50 ? 1 : 0.5)),
    parallelism: clamp01(squash(raw.totals.max_runnable / Math.max(1, raw.cpus))),
  };
  const tags: z.infer<typeof WorkloadTag>[] = [];
  if (fingerprint.cpuBound > 0.6) tags.push('cpu-bound');
  if (fingerprint.ioHeavy > 0.3) tags.push('io-heavy');
  if (fingerprint.latencySensitive > 0.4) tags.push('latency-sensitive');
  // jobs that run to completion (not tasks that mostly sleep and wake, like a server's workers)
  const runToCompletion = fingerprint.latencySensitive < 0.5;
  if (fingerprint.unevenness > 0.4 && jobTimes.length >= 3 && runToCompletion) tags.push('uneven-jobs');
  if (jobTimes.length >= 4 && fingerprint.cpuBound > 0.5 && runToCompletion) tags.push('batch');
  if (fingerprint.manyShortTasks > 0.5) tags.push('many-short-tasks');
  if (raw.totals.max_runnable > raw.cpus) tags.push('oversubscribed');

  const notes: string[] = [];
  if (raw.samples < 5) notes.push(`only ${raw.samples} samples: the workload was short; per-task numbers are rough`);
  if (!raw.psi.available) notes.push('PSI is not available on this kernel: IO pressure estimated from IO bytes only');
  if (raw.timed_out) notes.push('the command hit its time limit and was killed: numbers cover only the part that ran');

  return {
    target,
    mode: raw.mode,
    command,
    wallMs: raw.wall_ms,
    exitCode: raw.exit_code,
    timedOut: raw.timed_out,
    cpus: raw.cpus,
    cpu: { userMs: raw.totals.utime_ms, sysMs: raw.totals.stime_ms, utilisation },
    contextSwitches: { voluntary: raw.totals.vcsw, involuntary: raw.totals.ivcsw, perSecond: Math.round(switchesPerSec) },
    runQueue: { waitMs: raw.totals.wait_ms, runMs: raw.totals.run_ms, waitShare: clamp01(waitShare) },
    psi: {
      available: raw.psi.available,
      cpuSomeShare: clamp01(raw.psi.cpu_some_ms / wall),
      ioSomeShare: clamp01(ioShare),
      memorySomeShare: clamp01(raw.psi.memory_some_ms / wall),
    },
    io: { readBytes: raw.totals.read_bytes, writeBytes: raw.totals.write_bytes },
    tasks: {
      seen: raw.totals.tasks_seen,
      maxThreads: raw.totals.max_threads,
      maxRunnable: raw.totals.max_runnable,
      runtimeMs: { min: jobTimes.length ? Math.min(...jobTimes) : 0, median: medianOf(jobTimes), max: jobTimes.length ? Math.max(...jobTimes) : 0, cv },
      top: [...raw.tasks]
        .sort((a, b) => b.cpu_ms - a.cpu_ms)
        .slice(0, 10)
        .map((t) => ({ comm: t.comm, tid: t.tid, cpuMs: t.cpu_ms, waitMs: t.wait_ms, voluntarySwitches: t.vcsw })),
    },
    jobs: jobs.map((t) => ({ id: `${t.comm}-${t.tid}`, work_ms: Math.max(t.cpu_ms, t.run_ms) })),
    tags,
    fingerprint,
    notes,
  };
}

export interface ProfileRequest extends Omit<Partial<CommandSpec>, 'command'> {
  target: TargetKind;
  command?: string;
  pids?: number[];
  systemSeconds?: number;
  timeoutS?: number;
  intervalMs?: number;
}

function profilerArgs(req: ProfileRequest): string[] {
  const base = ['--interval-ms', String(req.intervalMs ?? 50)];
  if (req.command) return [...base, '--timeout-s', String(req.timeoutS ?? 120), '--', req.command];
  if (req.pids?.length) return [...base, '--pids', req.pids.join(','), '--duration-s', String(req.systemSeconds ?? 5)];
  return [...base, '--system', '--duration-s', String(req.systemSeconds ?? 5)];
}

/** The guest command line that profiles `command` (scx-profile is on every guest's PATH). */
export function guestProfilerCommand(req: ProfileRequest): string {
  return `scx-profile ${profilerArgs(req).map(shellQuote).join(' ')}`;
}

/** scx-profile's JSON → the derived profile. */
export function parseProfilerOutput(stdout: string, target: TargetKind, command: string | null): Profile {
  return deriveProfile(RawProfile.parse(JSON.parse(stdout)), target, command);
}

/** Profile a workload; `actor` (who asked) goes into the host audit log when a command runs on the host. */
export async function profileWorkload(asked: ProfileRequest, targets: TargetManager, actor: Actor = OPERATOR): Promise<Profile> {
  if (!asked.command && (asked.cwd || asked.env || asked.writable)) throw new ScxError('BAD_INPUT', 'cwd, env and writable go with a command');
  // the command as one shell line (cd cwd, env), as it runs on either target; the result names what was asked
  // (unchanged when neither is given, so the audit shows exactly the command asked for)
  const req: ProfileRequest = asked.command && (asked.cwd || asked.env) ? { ...asked, command: commandLine(asked as CommandSpec) } : asked;
  const modes = [req.command ? 1 : 0, req.pids?.length ? 1 : 0].reduce((a, b) => a + b, 0);
  if (modes > 1) throw new ScxError('BAD_INPUT', 'give either command or pids, not both');
  if (req.target === 'host' && !targets.opts.allowHost && req.command) {
    throw new ScxError(
      'BAD_INPUT',
      'running a command on the host needs the server to be started with --allow-host',
      'profile it in the sandbox (target "sandbox"), or restart the server with --allow-host',
    );
  }
  const args = profilerArgs(req);
  const timeoutS = (req.timeoutS ?? 120) + 30;
  let stdout: string;
  if (req.target === 'host') {
    if (req.command) targets.hostCommands.who(); // refused (root with no one to run it as) before anything is built or run
    const bin = await staticHelper(join(repoRoot, 'core', 'profile', 'scx-profile.c'));
    // the workload runs as the invoking user (never root unless the operator said so), audited;
    // scx-profile itself, which only reads /proc, stays the server's
    const line = req.command ? targets.hostCommands.prepare(req.command, { actor, purpose: 'profile_workload' }) : undefined;
    const r = await execa(bin, line ? profilerArgs({ ...req, command: line.shell }) : args, {
      reject: false,
      timeout: timeoutS * 1000,
      ...(line ? { env: line.env, extendEnv: false, cwd: line.cwd } : {}),
    });
    if (r.exitCode !== 0) throw new ScxError('BAD_INPUT', `scx-profile failed: ${r.stderr.trim().split('\n').pop()}`);
    stdout = r.stdout;
  } else {
    const writable = writablePaths(asked);
    if (writable.length) await (await targets.sandboxSession(true))!.ensureWritable(writable);
    const r = await targets.run('sandbox', guestProfilerCommand(req), timeoutS);
    if (r.exitCode !== 0) throw new ScxError('BAD_INPUT', `scx-profile failed in the sandbox: ${r.stderr.trim().split('\n').pop()}`);
    stdout = r.stdout;
  }
  return parseProfilerOutput(stdout, req.target, asked.command ?? null);
}
