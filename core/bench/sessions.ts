/**
 * Where a benchmark's VMs and calibrations come from (core/bench/runner.ts re-exports these): a
 * guest command as a function, one calibration per boot and workload, a pool that boots a fresh VM
 * after a crash, and a count of other QEMU processes competing for the host.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SandboxSession, type SessionOptions } from '../sandbox/session.js';
import type { SessionSource } from './types.js';
import type { GuestExec, Workload } from './workloads.js';

/* -------------------------------------------------------- calibration -- */

/** A guest command as a function: stdout, or an error when it fails. */
export function guestExec(session: SandboxSession): GuestExec {
  return async (command, timeoutS, label) => {
    const s = await session.step({ kind: 'run', command, timeoutS, label });
    if (!s.ok) throw new Error(`${label} failed: ${s.error ?? `exit ${s.exitCode}`}: ${(s.stderr ?? '').trim().slice(0, 300)}`);
    return s.stdout ?? '';
  };
}

const calibrations = new WeakMap<SandboxSession, Map<string, unknown>>();

/** A workload's calibration for this boot: measured once (with no sched_ext scheduler loaded), then reused. */
export async function calibrationFor(session: SandboxSession, workload: Workload): Promise<unknown> {
  if (!workload.calibrate) return null;
  let m = calibrations.get(session);
  if (!m) calibrations.set(session, (m = new Map()));
  const key = workload.calibrationKey ?? workload.id;
  if (m.has(key)) return m.get(key);
  const cal = await workload.calibrate(guestExec(session));
  m.set(key, cal);
  return cal;
}

/** Reuse a calibration in another boot (after a crash), so the work stays identical. */
export function seedCalibration(session: SandboxSession, workload: Workload, cal: unknown): void {
  if (!workload.calibrate) return;
  let m = calibrations.get(session);
  if (!m) calibrations.set(session, (m = new Map()));
  m.set(workload.calibrationKey ?? workload.id, cal);
}

/* ----------------------------------------------------- sessions, host -- */

/**
 * A restartable source: boots on first use and again whenever the VM died; close() shuts it down.
 * A replacement VM gets the calibrations of the one it replaces, so the work stays the same.
 */
export class SandboxPool implements SessionSource {
  readonly restartable = true;
  boots = 0;
  private current?: SandboxSession;
  constructor(private readonly options: SessionOptions = {}) {}

  async get(): Promise<SandboxSession> {
    if (this.current?.vm.alive) return this.current;
    const dead = this.current;
    if (dead) await dead.finish().catch(() => undefined);
    this.current = await SandboxSession.start(this.options);
    this.boots++;
    const carried = dead && calibrations.get(dead);
    if (carried) calibrations.set(this.current, new Map(carried));
    return this.current;
  }

  async close(): Promise<void> {
    const s = this.current;
    this.current = undefined;
    if (s) await s.finish().catch(() => undefined);
  }
}

/** QEMU processes on this host that are not children of this process (another helper's VMs, say). */
export function otherQemuVms(): number {
  let n = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '';
      if (!/qemu-system/.test(argv0)) continue;
      const ppid = Number(/PPid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      if (ppid !== process.pid) n++;
    } catch {
      /* exited meanwhile */
    }
  }
  return n;
}
