/**
 * verify_bpf for an scx binary build: the binary started in a throwaway sandbox VM (its own
 * loader runs the kernel verifier on its BPF part), the same stress run as a BPF build
 * (stress-ng + hackbench) under it, then stopped; the verdict goes into the build record like any
 * other. The watchdog is the kernel's sched_ext watchdog with the scheduler's own ops.timeout_ms
 * (an scx binary sets it itself; scx-loader's --timeout-ms does not apply), and the host-side
 * deadline of every guest request still bounds a frozen guest.
 */
import { saveLog } from '../logs.js';
import { SandboxSession } from '../sandbox/session.js';
import { recordVerification, saveBuild, type BuildRecord } from './build.js';
import { attemptTwiceOnEmulatorFault, type VerifyAttempt, type VerifyOptions, type VerifyReport } from './verify-report.js';
import { scxCommand } from './scx-build.js';
import { stressRun } from './stress.js';
import { startScxInGuest, stopScxInGuest } from '../scx/guest.js';

export async function verifyScxBuild(build: BuildRecord, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { binary, args } = scxCommand(build);
  const stress = Math.max(1, Math.min(opts.stressSeconds ?? 5, 120));
  const progress = opts.onProgress ?? (() => {});
  const total = 5;
  progress('booting the sandbox', 0, total);
  const { reasons, programs, result, lostAttempt } = await attemptTwiceOnEmulatorFault(() => verifyScxInVm(build, stress, progress, total, opts), opts);
  const verdict = reasons.length === 0 ? 'pass' : 'fail';
  if (verdict === 'pass')
    reasons.push(
      `${build.name} (${binary.split('/').pop()} ${args.join(' ')}) attached, survived ${stress} s of stress-ng and hackbench, stopped cleanly on ${result.kernel.release}${lostAttempt ? " (in a second VM: the emulator's own fault took the first down)" : ''}`.replace(
        / +\)/,
        ')',
      ),
    );
  recordVerification(build, { verdict, at: new Date().toISOString(), kernel: result.kernel.release, reasons });
  await saveBuild(build);
  progress(`verdict: ${verdict}`, total, total);
  return { buildId: build.id, verdict, reasons, programs, stressSeconds: stress, sandbox: result, ...(lostAttempt ? { lostAttempt } : {}) };
}

/** Start, stress and stop the binary in one fresh VM. */
async function verifyScxInVm(
  build: BuildRecord,
  stress: number,
  progress: NonNullable<VerifyOptions['onProgress']>,
  total: number,
  opts: VerifyOptions,
): Promise<VerifyAttempt> {
  const { binary, args, opsName } = scxCommand(build);
  const session = await SandboxSession.start({ keepLog: (name, text) => saveLog(text, { buildId: build.id, name }), ...opts });
  const reasons: string[] = [];
  let result;
  try {
    await session.state(-1);
    progress(`starting ${binary.split('/').pop()} (its BPF part goes through the kernel verifier)`, 1, total);
    const start = await startScxInGuest(session, { binary, args, opsName, label: `start ${build.name}` });
    if (!start.step.ok || !start.proc) {
      reasons.push(`start: ${start.step.error ?? 'did not attach'}`);
      if (start.proc) await stopScxInGuest(session, start.proc);
    } else {
      progress(`stress run (${stress} s stress-ng + hackbench)`, 2, total);
      const run = await stressRun(session, stress, reasons);
      progress('stopping', 3, total);
      const stop = await stopScxInGuest(session, start.proc);
      if (!stop.step.ok && !run.exit) reasons.push(`stop: ${stop.step.error}`);
      // the scheduler's own exit line: a clean stop says it was unregistered from user space
      if (stop.exitLine && !/unregistered from user space|unregistered from the main kernel/i.test(stop.exitLine) && !run.exit)
        reasons.push(`exit: ${stop.exitLine}`);
    }
    progress('collecting the kernel log', 4, total);
    result = await session.finish();
  } catch (e) {
    result = await session.finish(e);
    reasons.push(`sandbox: ${result.error?.message ?? String(e)}`);
  }
  return { reasons, programs: [], result };
}
