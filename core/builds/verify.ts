/**
 * verify: a build through the real kernel in the sandbox, before any real host sees it.
 * Load (the verifier), a stress run under the scheduler, the sched_ext state after
 * it, per-program verifier statistics, unload. The verdict is written into the build.
 */
import { ScxError } from '../errors.js';
import { buildPaths, buildSource, getBuild, recordVerification, saveBuild, type BuildRecord } from './build.js';
import { listLoops } from '../toolchain/static-check.js';
import { saveLog } from '../logs.js';
import type { LoadFailure } from '../loader/failure.js';
import { SandboxSession, type SessionOptions } from '../sandbox/session.js';
import { isScxBuild } from './scx-build.js';
import { verifyScxBuild } from './scx-verify.js';
import { stressRun } from './stress.js';
import { attemptTwiceOnEmulatorFault, ProgramStats, VerifyReport, type VerifyAttempt, type VerifyOptions } from './verify-report.js';
import { firstMessage, type LoaderLine } from '../loader/protocol.js';

export { ProgramStats, VerifyReport, type VerifyOptions };

/** Watchdog timeout while verifying: a task runnable this long without running means the scheduler stalls it. */
export const STRESS_WATCHDOG_MS = 5000;

/** Parse `bpftool -j prog show` for the struct_ops programs of the loaded scheduler. */
export function parseProgShow(json: string): ProgramStats[] {
  let progs: Array<Record<string, unknown>>;
  try {
    progs = JSON.parse(json) as Array<Record<string, unknown>>;
  } catch {
    return [];
  }
  return progs
    .filter((p) => p.type === 'struct_ops')
    .map((p) => ({
      name: String(p.name ?? '?'),
      verifiedInsns: typeof p.verified_insns === 'number' ? p.verified_insns : null,
      totalStates: null,
      peakStates: null,
      maxStatesPerInsn: null,
      verificationTimeUs: null,
      stackDepth: null,
      xlatedBytes: typeof p.bytes_xlated === 'number' ? p.bytes_xlated : null,
      jitedBytes: typeof p.bytes_jited === 'number' ? p.bytes_jited : null,
    }));
}

/**
 * The loader's {"type":"verifier_stats"} line merged into bpftool's per-program numbers. bpftool
 * shows names cut to 15 characters (the kernel's limit), the loader the full ones.
 */
export function withVerifierStats(programs: ProgramStats[], loaderLines: LoaderLine[]): ProgramStats[] {
  const stats = firstMessage(loaderLines, 'verifier_stats')?.programs ?? [];
  return programs.map((p) => {
    const s = stats.find((x) => x.prog === p.name || x.prog.startsWith(p.name));
    return s
      ? {
          ...p,
          name: s.prog,
          verifiedInsns: p.verifiedInsns ?? s.insns_processed,
          totalStates: s.total_states,
          peakStates: s.peak_states,
          maxStatesPerInsn: s.max_states_per_insn,
          verificationTimeUs: s.verification_time_us,
          stackDepth: s.stack_depth,
        }
      : p;
  });
}

/**
 * Where to look when the verifier ran out of time or instructions without naming a line: the loop
 * static analysis flagged, else every loop in the source.
 */
export async function loopContext(build: BuildRecord, f: LoadFailure): Promise<string> {
  const outOfBudget = f.timedOutS != null || f.insnLimitHit || /too complex|too large|too many states/.test(f.reason);
  if (!outOfBudget) return '';
  const flagged = build.findings.filter((x) => x.rule === 'unbounded-loop');
  if (flagged.length)
    return `; static analysis flagged ${flagged.map((x) => `${x.file}:${x.line} (${x.message.split(':')[0]})`).join(', ')}: ${flagged[0]!.fix}`;
  const loops = listLoops(await buildSource(build.id, build).catch(() => ''));
  if (!loops.length) return '; the source has no C loop: look for deeply unrolled code or many programs in one object';
  return `; static analysis found no unbounded loop; the loops in ${build.fileName}: ${loops
    .slice(0, 8)
    .map((l) => `line ${l.line} \`${l.text}\``)
    .join(', ')}: bound each by a small constant (bpf_for(i, 0, MAX)) or do less work per callback`;
}

export async function verifyBuild(buildId: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const build: BuildRecord = await getBuild(buildId);
  if (!build.ok) {
    throw new ScxError(
      'BAD_INPUT',
      `build ${buildId} did not build (stopped at ${build.stage}); there is nothing to verify`,
      'fix the errors build_scheduler reported and build again',
    );
  }
  // an scx binary (sched-ext/scx) runs its own loader: started, stressed and stopped in the guest
  if (isScxBuild(build)) return verifyScxBuild(build, opts);
  const stress = Math.max(1, Math.min(opts.stressSeconds ?? 5, 120));
  const progress = opts.onProgress ?? (() => {});
  const total = 5;
  progress('booting the sandbox', 0, total);
  // the whole verifier log is kept in the build's directory (scx://logs/<build>-verifier-<kernel>); results carry its failing part
  const keepLog = (name: string, text: string) => saveLog(text, { buildId, name: opts.kernel ? `${name}-${opts.kernel.release}` : name });
  const { reasons, programs, result, lostAttempt } = await attemptTwiceOnEmulatorFault(
    () => verifyInVm(build, { keepLog, stress, progress, total }, opts),
    opts,
  );
  const verdict = reasons.length === 0 ? 'pass' : 'fail';
  if (verdict === 'pass')
    reasons.push(
      `loaded, survived ${stress} s of stress-ng and hackbench, unloaded cleanly on ${result.kernel.release}${lostAttempt ? " (in a second VM: the emulator's own fault took the first down)" : ''}`,
    );
  recordVerification(build, { verdict, at: new Date().toISOString(), kernel: result.kernel.release, reasons });
  await saveBuild(build);
  progress(`verdict: ${verdict}`, total, total);
  return { buildId, verdict, reasons, programs, stressSeconds: stress, sandbox: result, ...(lostAttempt ? { lostAttempt } : {}) };
}

/** Load, stress and unload the build in one fresh VM. */
async function verifyInVm(
  build: BuildRecord,
  v: { keepLog: SessionOptions['keepLog']; stress: number; progress: NonNullable<VerifyOptions['onProgress']>; total: number },
  opts: VerifyOptions,
): Promise<VerifyAttempt> {
  const { stress, progress, total } = v;
  const buildId = build.id;
  const session = await SandboxSession.start({ keepLog: v.keepLog, ...opts });
  const reasons: string[] = [];
  let programs: ProgramStats[] = [];
  let result;
  try {
    await session.state(-1);
    progress('loading (kernel verifier)', 1, total);
    // through scx-loader with a short watchdog: a stall shows in seconds, not after the kernel's 30 s
    const load = await session.step({
      kind: 'load',
      object: buildPaths(buildId).object,
      label: `load ${build.name}`,
      timeoutMs: STRESS_WATCHDOG_MS,
      verifierStats: true,
    });
    if (!load.ok) {
      reasons.push(
        load.loadFailure
          ? `verifier/load: ${load.loadFailure.reason}${load.loadFailure.line ? ` at ${load.loadFailure.file}:${load.loadFailure.line}` : ''}${await loopContext(build, load.loadFailure)}`
          : (load.error ?? 'load failed'),
      );
    } else {
      const stats = await session.vm.run('bpftool -j prog show', { timeoutMs: 60_000, what: 'program statistics' });
      programs = withVerifierStats(parseProgShow(stats.stdout), load.loader?.lines ?? []);
      progress(`stress run (${stress} s stress-ng + hackbench)`, 2, total);
      const run = await stressRun(session, stress, reasons);
      progress('unloading', 3, total);
      const un = await session.step({ kind: 'unload' });
      if (!un.ok && !run.exit) reasons.push(`unload: ${un.error}`);
    }
    progress('collecting the kernel log', 4, total);
    result = await session.finish();
  } catch (e) {
    result = await session.finish(e);
    reasons.push(`sandbox: ${result.error?.message ?? String(e)}`);
  }
  return { reasons, programs, result };
}
