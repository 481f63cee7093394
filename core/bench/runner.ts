/**
 * The benchmark runner: one workload under the kernel's default scheduler and under each candidate
 * sched_ext scheduler, all in the same sandbox boot, repeats interleaved (default, A, B, default,
 * A, B, ...) so slow phases of the host spread over every policy instead of hitting one.
 *
 *   const r = await runBenchmark({ workload: batchWorkload({...}), candidates: [{ name: 'ljf', object }], repeats: 3 });
 *
 * Every candidate run is load → workload → unload. A candidate that fails to load, is ejected by
 * the kernel during its run, or whose workload fails is recorded as a failed run with the reason;
 * only runs that completed under the intended policy count in the statistics.
 *
 * The steps are here; the vocabulary is in types.ts, the pure statistics in aggregate.ts, VMs and
 * calibrations in sessions.ts, all re-exported from this module.
 */
import { jobsFromLoaderLines } from '../learned-lengths.js';
import { cpus as hostCpus } from 'node:os';
import { isScxError } from '../errors.js';
import { guestProfilerCommand, parseProfilerOutput } from '../profile/profile.js';
import { emulatorPanic } from '../sandbox/kmsg.js';
import type { SandboxSession } from '../sandbox/session.js';
import type { StepResult } from '../sandbox/results.js';
import { startScxInGuest, stopScxInGuest, type ScxGuestProcess } from '../scx/guest.js';
import { aggregate, interleave, predictRanking } from './aggregate.js';
import { calibrationFor, guestExec, otherQemuVms, SandboxPool, seedCalibration } from './sessions.js';
import {
  DEFAULT_POLICY,
  type BenchEnvironment,
  type BenchmarkOptions,
  type BenchmarkResult,
  type Candidate,
  type FailureKind,
  type PolicyResult,
  type Prediction,
  type Progress,
  type RunRecord,
  type SessionSource,
  type WorkloadProfile,
} from './types.js';
import type { Workload, WorkloadSample } from './workloads.js';

export * from './types.js';
export * from './aggregate.js';
export * from './sessions.js';

/* ------------------------------------------------------------ run steps -- */

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function runWorkload(session: SandboxSession, workload: Workload, cal: unknown, command: string, label: string) {
  const step = await session.step({
    kind: 'run',
    command,
    timeoutS: workload.timeoutS,
    label,
    ...(workload.writable?.length ? { writable: workload.writable } : {}),
  });
  let sample: WorkloadSample | undefined;
  let parseError: string | undefined;
  try {
    sample = workload.parse(step.stdout ?? '', cal);
  } catch (e) {
    parseError = errorText(e);
  }
  return { step, sample, parseError };
}

function workloadVerdict(step: StepResult, sample: WorkloadSample | undefined, parseError: string | undefined): { failure?: FailureKind; error?: string } {
  if (parseError)
    return { failure: step.ok ? 'output' : 'workload', error: step.ok ? parseError : `${step.error ?? 'failed'}: ${(step.stderr ?? '').trim().slice(0, 300)}` };
  if (!step.ok) return { failure: 'workload', error: `${step.error ?? 'failed'}${step.stderr ? `: ${step.stderr.trim().slice(0, 300)}` : ''}` };
  if (!sample?.ok) return { failure: 'workload', error: 'the workload reported a failed self-check' };
  return {};
}

async function ensureDisabled(session: SandboxSession): Promise<string | null> {
  const st = await session.state();
  if (st.state === 'disabled' || st.state === 'absent') return st.state === 'absent' ? 'this kernel has no sched_ext' : null;
  const u = await session.step({ kind: 'unload' });
  return u.ok ? null : `sched_ext is "${u.state?.state ?? st.state}" and could not be disabled`;
}

/* ------------------------------------------------------------- runner -- */

type Slot = { policy: string; repeat: number };
type IndexedSlot = Slot & { index: number };
/**
 * A slot's record, and why the benchmark must stop after it (a scheduler that would not unload, a
 * lost state); rerun: the emulator, not the policy, took the VM down (the record is kept as lost).
 */
type SlotOutcome = { rec: RunRecord; fatal: string | null; rerun?: boolean };

/** One benchmark while it runs: its plan, where its VMs come from, and what the steps found so far. */
interface BenchRun {
  readonly opts: BenchmarkOptions;
  readonly workload: Workload;
  readonly candidates: Candidate[];
  readonly byName: Map<string, Candidate>;
  readonly repeats: number;
  /** The interleaved run order. */
  readonly order: Slot[];
  readonly startedAt: string;
  readonly t0: number;
  readonly log: (line: string) => void;
  readonly source: SessionSource;
  /** The pool the runner booted itself (closed at the end), when the caller gave no session(s). */
  readonly ownPool: SandboxPool | undefined;
  readonly probeHost: (() => number) | null;
  readonly env: BenchEnvironment;
  readonly records: RunRecord[];
  /** Runs lost to the emulator's own faults (see emulatorPanic), each run again in a fresh VM. */
  readonly lost: RunRecord[];
  /** Unit timings (ms): the calibration's, before every default run, and at the end. */
  readonly unitMs: number[];
  /** Failed runs per candidate. */
  readonly failed: Map<string, number>;
  /** Candidates that get no more runs, with why. */
  readonly retired: Map<string, string>;
  calibration: unknown;
  restarts: number;
  error: string | null;
  crashConsole: string | null;
  profile: WorkloadProfile | null;
}

export async function runBenchmark(opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const run = planBenchmark(opts);
  try {
    await runSlots(run);
  } catch (e) {
    run.error = errorText(e);
    if (isScxError(e) && typeof e.details?.console === 'string') run.crashConsole = e.details.console;
    run.log(`${run.workload.id}: stopped: ${run.error}`);
  } finally {
    if (run.ownPool) await run.ownPool.close();
  }
  recordUnreached(run);
  return benchmarkResult(run);
}

/** Check the options and plan the interleaved order and the VM source; nothing runs yet. */
function planBenchmark(opts: BenchmarkOptions): BenchRun {
  const { workload, candidates } = opts;
  const repeats = Math.floor(opts.repeats);
  if (!(repeats >= 1)) throw new Error(`repeats must be at least 1, got ${opts.repeats}`);
  const names = new Set<string>();
  for (const c of candidates) {
    if (c.name === DEFAULT_POLICY || names.has(c.name)) throw new Error(`candidate name "${c.name}" is used twice or is reserved`);
    names.add(c.name);
  }
  const log = opts.log ?? (() => {});
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const fixed = opts.session;
  const ownPool = !opts.sessions && !fixed ? new SandboxPool({ cpus: opts.cpus ?? 2, log, ...opts.sessionOptions }) : undefined;
  return {
    opts,
    workload,
    candidates,
    repeats,
    startedAt,
    t0,
    log,
    ownPool,
    byName: new Map(candidates.map((c) => [c.name, c])),
    order: interleave([DEFAULT_POLICY, ...candidates.map((c) => c.name)], repeats),
    source: opts.sessions ?? ownPool ?? { get: async () => fixed!, restartable: false },
    probeHost: opts.hostProbe === undefined ? otherQemuVms : opts.hostProbe,
    env: {
      kernel: null,
      accelerator: null,
      acceleratorReason: null,
      guestCpus: null,
      hostCpus: hostCpus().length,
      hostModel: hostCpus()[0]?.model.trim() ?? 'unknown',
      bootMs: null,
    },
    records: [],
    lost: [],
    unitMs: [],
    failed: new Map(),
    retired: new Map(),
    calibration: null,
    restarts: 0,
    error: null,
    crashConsole: null,
    profile: null,
  };
}

function progress(run: BenchRun, p: Omit<Progress, 'elapsedMs' | 'total'>): void {
  run.opts.onProgress?.({ ...p, total: run.order.length, elapsedMs: Math.round(performance.now() - run.t0) });
}

/** A live session with sched_ext disabled and this workload's calibration (the first one, carried over after a restart). */
async function readySession(run: BenchRun): Promise<SandboxSession> {
  const { env, workload } = run;
  if (env.kernel === null) progress(run, { phase: 'boot', done: run.records.length, message: 'getting a sandbox VM' });
  const session = await run.source.get();
  env.kernel ??= session.vm.kernelRelease || session.kernel.release;
  env.accelerator ??= session.accel.accel;
  env.acceleratorReason ??= session.accel.reason;
  env.guestCpus ??= session.vm.guestCpus || run.opts.cpus || null;
  env.bootMs ??= session.vm.bootMs;
  const pre = await ensureDisabled(session);
  if (pre) throw new Error(pre);
  if (run.calibration === null) {
    progress(run, { phase: 'calibrate', done: run.records.length, message: `calibrating ${workload.id}` });
    run.calibration = await calibrationFor(session, workload);
    const cal0 = workload.calibratedUnitMs?.(run.calibration);
    if (cal0 !== undefined && Number.isFinite(cal0)) run.unitMs.push(cal0);
    run.log(`${workload.id}: ${workload.command(run.calibration)}`);
  } else {
    seedCalibration(session, workload, run.calibration);
  }
  return session;
}

/** Boot, (profile,) every slot of the plan in order, a fresh VM after a crash while restarts last; then the speed once more. */
async function runSlots(run: BenchRun): Promise<void> {
  let session = await readySession(run);
  const command = run.workload.command(run.calibration);
  if (run.opts.profile) run.profile = await profileUnderDefault(run, session, command);
  slots: for (const [index, slot] of run.order.entries()) {
    // a slot the emulator's fault took down is run once more (see runSlotOrCrash)
    for (let attempt = 0; ; attempt++) {
      if (!session.vm.alive) {
        const fresh = await replaceVm(run);
        if (!fresh) break slots;
        session = fresh;
      }
      const next = await runOneSlot(run, session, index, slot, attempt === 0);
      if (next === 'stop') break slots;
      if (next === 'next') break;
    }
  }
  // once more at the end, so the speed is sampled around every round
  if (session.vm.alive && !run.error && (await session.state()).state === 'disabled') await timeUnit(run, session);
}

/** After the VM died: a fresh one with the same calibration, or null (and the error set) when none may be booted. */
async function replaceVm(run: BenchRun): Promise<SandboxSession | null> {
  const { source } = run;
  if (!source.restartable || run.restarts >= (run.opts.maxRestarts ?? 2)) {
    run.error = `the VM died and ${source.restartable ? `${run.restarts} restart(s) were used up` : 'this session cannot be replaced'}`;
    return null;
  }
  run.restarts++;
  run.log(`${run.workload.id}: booting a fresh VM (restart ${run.restarts}); the calibration (same work) is kept`);
  return readySession(run);
}

/**
 * One slot of the plan, timed, recorded and logged: 'stop' when the benchmark must stop (the error
 * is set), 'again' when the emulator took the VM down during a first attempt (the run is kept as lost).
 */
async function runOneSlot(run: BenchRun, session: SandboxSession, index: number, slot: Slot, first: boolean): Promise<'next' | 'again' | 'stop'> {
  const { workload, probeHost } = run;
  progress(run, {
    phase: 'run',
    done: index,
    policy: slot.policy,
    repeat: slot.repeat,
    message: `${workload.id}: ${slot.policy} run ${slot.repeat + 1}/${run.repeats}`,
  });
  const why = run.retired.get(slot.policy);
  if (why) {
    run.records.push({ index, policy: slot.policy, repeat: slot.repeat, ok: false, failure: 'skipped', error: `not run: ${why}`, hostMs: 0, guestMs: null });
    return 'next';
  }
  await waitForQuietHost(run);
  const before = probeHost ? probeHost() : 0;
  const r0 = performance.now();
  const cand = run.byName.get(slot.policy);
  const outcome = await runSlotOrCrash(run, session, { index, ...slot }, cand, first);
  if (!outcome) return 'next';
  const { rec, fatal } = outcome;
  rec.hostMs = Math.round(performance.now() - r0);
  if (probeHost) rec.otherVms = Math.max(before, probeHost());
  if (outcome.rerun) {
    run.lost.push(rec);
    run.log(`${workload.id}: ${slot.policy} #${slot.repeat + 1}: lost to the emulator, run again in a fresh VM: ${rec.error} [${rec.hostMs} ms]`);
    return 'again';
  }
  run.records.push(rec);
  run.log(
    `${workload.id}: ${slot.policy} #${slot.repeat + 1}: ${rec.ok ? summarizeSample(workload, rec.sample) : `FAILED (${rec.failure}): ${rec.error}`} [${rec.hostMs} ms${rec.otherVms ? `, ${rec.otherVms} other VM(s) running` : ''}]`,
  );
  if (fatal) {
    run.error = fatal;
    return 'stop';
  }
  if (!rec.ok && cand) countFailure(run, cand);
  return 'next';
}

/** Before a run, wait up to waitQuietS for the host probe to report no competing VM. */
async function waitForQuietHost(run: BenchRun): Promise<void> {
  const { probeHost } = run;
  if (!run.opts.waitQuietS || !probeHost) return;
  const until = performance.now() + run.opts.waitQuietS * 1000;
  while (probeHost() > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 2000));
}

/** A candidate that failed maxFailures runs gets no more. */
function countFailure(run: BenchRun, cand: Candidate): void {
  const n = (run.failed.get(cand.name) ?? 0) + 1;
  run.failed.set(cand.name, n);
  if (n >= (run.opts.maxFailures ?? 2) && !run.retired.has(cand.name)) run.retired.set(cand.name, `${n} failed runs`);
}

/**
 * runSlot, and what its throw means: a candidate that cannot be loaded at all is retired and
 * recorded here (null: nothing more to record); the VM dying is this policy's failed run, unless the
 * guest's panic is the emulator's own (emulatorPanic) on a first attempt: then the slot is run again;
 * any other error on a live VM stops the benchmark.
 */
async function runSlotOrCrash(
  run: BenchRun,
  session: SandboxSession,
  slot: IndexedSlot,
  cand: Candidate | undefined,
  first: boolean,
): Promise<SlotOutcome | null> {
  try {
    return await runSlot(run, session, slot, cand);
  } catch (e) {
    const { index, policy, repeat } = slot;
    if (session.vm.alive && cand && isScxError(e) && ['OBJECT_MISSING', 'OBJECT_INVALID', 'TOOL_MISSING'].includes(e.code)) {
      // the candidate cannot be loaded at all (no object, not ELF, no scx-loader in the image)
      run.retired.set(cand.name, e.message);
      run.records.push({ index, policy, repeat, ok: false, failure: 'load', error: `${e.message}${e.hint ? ` (${e.hint})` : ''}`, hostMs: 0, guestMs: null });
      return null;
    }
    if (session.vm.alive) throw e;
    // the VM crashed or froze during this run: that is this policy's failure
    const details = (isScxError(e) ? e.details?.console : undefined) as string | undefined;
    run.crashConsole = details ?? run.crashConsole;
    const panic = session.vm.consolePanic();
    const emulators = emulatorPanic(panic, run.env.accelerator);
    if (cand && !(emulators && first)) run.retired.set(cand.name, 'it took the VM down in an earlier run');
    const rec: RunRecord = {
      index,
      policy,
      repeat,
      ok: false,
      failure: 'vm',
      error: `the VM died during this run: ${errorText(e)}${emulators ? ` (an int3 on a kernel patch site under TCG: the emulator's fault${first ? '' : ', a second time in this slot'})` : ''}`,
      hostMs: 0,
      guestMs: null,
      ...(details ? { console: details } : {}),
    };
    return { rec, fatal: null, rerun: emulators && first };
  }
}

/** One uncounted run of the workload under scx-profile, sched_ext disabled (readySession made sure). */
async function profileUnderDefault(run: BenchRun, session: SandboxSession, command: string): Promise<WorkloadProfile> {
  const { workload, log } = run;
  progress(run, { phase: 'profile', done: 0, message: `profiling ${workload.id} under the kernel default` });
  try {
    if (workload.writable?.length) await session.ensureWritable(workload.writable);
    const out = await guestExec(session)(
      guestProfilerCommand({ target: 'sandbox', command, timeoutS: workload.timeoutS }),
      workload.timeoutS + 30,
      `profile ${workload.id}`,
    );
    const p = parseProfilerOutput(out, 'sandbox', command);
    log(`${workload.id}: profiled: ${p.tags.join(', ') || 'no tags'}; fingerprint ${JSON.stringify(p.fingerprint)}`);
    return { fingerprint: p.fingerprint, tags: p.tags, wallMs: p.wallMs };
  } catch (e) {
    if (!session.vm.alive) throw e;
    log(`${workload.id}: could not profile: ${errorText(e)}`);
    return { fingerprint: null, tags: [], wallMs: null, error: errorText(e) };
  }
}

/** Time one unit of the work now (default scheduler, nothing else running in the guest). */
async function timeUnit(run: BenchRun, session: SandboxSession): Promise<void> {
  const { workload } = run;
  if (!workload.speed) return;
  try {
    run.unitMs.push(await workload.speed(guestExec(session), run.calibration));
  } catch (e) {
    if (!session.vm.alive) throw e;
    run.log(`${workload.id}: could not time a unit: ${errorText(e)}`);
  }
}

/** One slot: the default run, or load → run → unload of a candidate. Throws only when the VM fails. */
async function runSlot(run: BenchRun, session: SandboxSession, slot: IndexedSlot, cand: Candidate | undefined): Promise<SlotOutcome> {
  const rec: RunRecord = { ...slot, ok: false, hostMs: 0, guestMs: null };
  const command = run.workload.command(run.calibration);
  return cand ? runCandidate(run, session, rec, cand, command) : runDefault(run, session, rec, command);
}

/** A run under the kernel default, after timing a unit (the machine's speed this round). */
async function runDefault(run: BenchRun, session: SandboxSession, rec: RunRecord, command: string): Promise<SlotOutcome> {
  const { workload } = run;
  const pre = await ensureDisabled(session);
  if (pre) return { rec: Object.assign(rec, { failure: 'state' as const, error: pre }), fatal: pre };
  // the machine's speed this round (the calibration's timing again, nothing else running)
  await timeUnit(run, session);
  const { step, sample, parseError } = await runWorkload(session, workload, run.calibration, command, `${workload.id} under the default scheduler`);
  rec.guestMs = step.guestMs;
  rec.sample = sample;
  const v = workloadVerdict(step, sample, parseError);
  if (!v.failure && step.state && step.state.state !== 'disabled')
    Object.assign(v, { failure: 'state', error: `sched_ext was "${step.state.state}" during a default run` });
  return { rec: Object.assign(rec, v, { ok: !v.failure }), fatal: null };
}

/** Load → run → unload of a candidate; a program the verifier rejected is retired (it is rejected every time). */
async function runCandidate(run: BenchRun, session: SandboxSession, rec: RunRecord, cand: Candidate, command: string): Promise<SlotOutcome> {
  const { load, scxProc } = await loadCandidate(session, cand);
  if (!load.ok) {
    Object.assign(rec, {
      failure: 'load',
      error: load.error ?? 'load failed',
      ...(load.loadFailure ? { loadFailure: load.loadFailure } : {}),
      ...(load.exit ? { exit: load.exit } : {}),
    });
    // a rejected program is rejected every time
    if (load.loadFailure && load.loadFailure.stage !== 'unknown')
      run.retired.set(cand.name, `load failed (${load.loadFailure.stage}): ${load.loadFailure.reason}`);
  } else {
    await runUnderCandidate(run, session, rec, cand, command);
  }
  return unloadCandidate(session, rec, cand, scxProc);
}

/** Start an scx binary in the guest, or load the .bpf.o with the loader (params, hints, learning). */
async function loadCandidate(session: SandboxSession, cand: Candidate): Promise<{ load: StepResult; scxProc: ScxGuestProcess | null }> {
  if (cand.scx) {
    const s = await startScxInGuest(session, { ...cand.scx, label: `start ${cand.name}` });
    return { load: s.step, scxProc: s.proc };
  }
  const load = await session.step({
    kind: 'load',
    object: cand.object,
    label: `load ${cand.name}`,
    statsIntervalMs: 60_000,
    ...(cand.params ? { params: cand.params } : {}),
    ...(cand.hints ? { hints: cand.hints } : {}),
    ...(cand.learn ? { learn: true } : {}),
  });
  return { load, scxProc: null };
}

/** The workload with the candidate loaded: ejected when the kernel disabled it meanwhile, else the workload's verdict. */
async function runUnderCandidate(run: BenchRun, session: SandboxSession, rec: RunRecord, cand: Candidate, command: string): Promise<void> {
  const { step, sample, parseError } = await runWorkload(session, run.workload, run.calibration, command, `${run.workload.id} under ${cand.name}`);
  rec.guestMs = step.guestMs;
  rec.sample = sample;
  if (step.exit || (step.state && step.state.state !== 'enabled')) {
    Object.assign(rec, {
      failure: 'ejected',
      error: step.exit
        ? `the kernel disabled ${cand.name} during the run: ${step.exit.reason}${step.exit.message ? ` (${step.exit.message.split('\n')[0]})` : ''}`
        : `sched_ext was "${step.state?.state}" after the run`,
      ...(step.exit ? { exit: step.exit } : {}),
    });
  } else {
    const v = workloadVerdict(step, sample, parseError);
    Object.assign(rec, v, { ok: !v.failure });
  }
}

/** Stop or unload the candidate (once more, waiting, if it lingers); one that will not go stops the benchmark. */
async function unloadCandidate(session: SandboxSession, rec: RunRecord, cand: Candidate, scxProc: ScxGuestProcess | null): Promise<SlotOutcome> {
  let un = scxProc ? (await stopScxInGuest(session, scxProc)).step : await session.step({ kind: 'unload' });
  if (!un.ok && un.state?.state !== 'disabled') un = await session.step({ kind: 'unload', waitS: 60 });
  if (cand.learn && rec.ok) rec.jobs = jobsFromLoaderLines((un.loader?.lines ?? []) as Record<string, unknown>[]);
  if (!un.ok) {
    const fatal = `${cand.name} would not unload: ${un.error ?? 'unknown'}; the remaining runs would not be under the intended policies`;
    return { rec: Object.assign(rec, { ok: false, failure: 'unload' as const, error: fatal }), fatal };
  }
  return { rec, fatal: null };
}

/** Slots never reached (an early stop) are recorded too, so every policy shows what happened; records in run order. */
function recordUnreached(run: BenchRun): void {
  for (const [index, slot] of run.order.entries()) {
    if (!run.records.some((r) => r.index === index))
      run.records.push({
        index,
        policy: slot.policy,
        repeat: slot.repeat,
        ok: false,
        failure: 'skipped',
        error: `not run: ${run.error ?? 'stopped'}`,
        hostMs: 0,
        guestMs: null,
      });
  }
  run.records.sort((a, b) => a.index - b.index);
}

/** The report: statistics per policy, bounds from the fastest unit timing, the simulator's predictions. */
function benchmarkResult(run: BenchRun): BenchmarkResult {
  const { workload, candidates, opts, env } = run;
  const policyNames = [
    { name: DEFAULT_POLICY, isDefault: true, source: 'kernel default (EEVDF), no sched_ext scheduler' },
    ...candidates.map((c) => ({ name: c.name, isDefault: false, source: c.source ?? c.object })),
  ];
  const cpus = env.guestCpus ?? opts.cpus ?? 2;
  const speed = run.unitMs.length ? { unitMs: run.unitMs.map((u) => Math.round(u * 1000) / 1000), referenceUnitMs: Math.min(...run.unitMs) } : null;
  const workloadBounds = workloadBoundsAt(run, speed, cpus);
  const agg = aggregate(policyNames, run.records, workload.metrics, workloadBounds);
  const predictions = predictionsFor(run, cpus, agg.policies);
  progress(run, { phase: 'done', done: run.order.length, message: `${workload.id} done` });
  return {
    workload: {
      id: workload.id,
      title: workload.title,
      description: workload.description,
      params: workload.params,
      metrics: workload.metrics,
      primary: workload.primary,
    },
    environment: env,
    startedAt: run.startedAt,
    durationMs: Math.round(performance.now() - run.t0),
    repeats: run.repeats,
    calibration: run.calibration,
    order: run.order,
    policies: agg.policies,
    bounds: agg.bounds,
    speed,
    boundsFrom: Object.keys(workloadBounds).length ? 'unit' : Object.values(agg.bounds).some((b) => b !== null) ? 'run' : null,
    sameWork: agg.sameWork,
    workSummary: agg.workSummary,
    predictions,
    restarts: run.restarts,
    lostRuns: run.lost,
    error: run.error,
    crashConsole: run.crashConsole,
    profile: run.profile,
  };
}

/** The workload's own bounds at the shortest unit length measured ({} without them, or when they fail). */
function workloadBoundsAt(run: BenchRun, speed: BenchmarkResult['speed'], cpus: number): Record<string, number> {
  const { workload } = run;
  if (!workload.bounds || !speed || run.calibration === null) return {};
  try {
    return workload.bounds(run.calibration, speed.referenceUnitMs, cpus);
  } catch (e) {
    run.log(`${workload.id}: no bounds: ${errorText(e)}`);
    return {};
  }
}

/** The simulator's rankings for the policies it has a model for ([] when it has none or fails). */
function predictionsFor(run: BenchRun, cpus: number, policies: PolicyResult[]): Prediction[] {
  const { opts, candidates, workload } = run;
  const models = [
    { name: DEFAULT_POLICY, sim: opts.defaultSim === undefined ? { policy: 'fair' as const } : opts.defaultSim },
    ...candidates.map((c) => ({ name: c.name, sim: c.sim })),
  ];
  try {
    return predictRanking(workload, run.calibration, cpus, models, policies);
  } catch (e) {
    run.log(`${workload.id}: no prediction: ${errorText(e)}`);
    return [];
  }
}

function summarizeSample(workload: Workload, s: WorkloadSample | undefined): string {
  if (!s) return 'no sample';
  return workload.metrics.map((m) => `${m.label} ${fmt(s.metrics[m.key])} ${m.unit}`).join(', ');
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1);
}
