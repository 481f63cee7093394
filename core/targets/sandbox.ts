/** The sandbox target: a long-lived VM (started on first use); loads go through the session's agent channel. */
import { ScxError } from '../errors.js';
import { JobHints } from '../job-hints.js';
import { SandboxSession } from '../sandbox/session.js';
import { loaderAvailable } from '../sandbox/image.js';
import { LOADER_NOT_BUILT } from '../loader/process.js';
import { buildPaths, type BuildRecord } from '../builds/build.js';
import { isScxBuild, scxCommand } from '../builds/scx-build.js';
import { startScxInGuest, stopScxInGuest, type ScxGuestProcess } from '../scx/guest.js';
import { type ExecOptions, type ExecResult, type Target } from './types.js';

export class SandboxBackend implements Target {
  readonly schedExtSysfs = '/sys/kernel/sched_ext';
  constructor(readonly session: SandboxSession) {}
  kernel() {
    return this.session.vm.kernelRelease;
  }
  state() {
    return this.session.state();
  }
  /** the scx binary (sched-ext/scx) running in the guest, if the deployed build is one */
  private scx: ScxGuestProcess | null = null;
  async load(build: BuildRecord, hints?: JobHints) {
    if (isScxBuild(build)) {
      const { binary, args, opsName } = scxCommand(build);
      const r = await startScxInGuest(this.session, { binary, args, opsName, label: `deploy ${build.name}` });
      if (!r.step.ok && r.proc) await stopScxInGuest(this.session, r.proc).catch(() => undefined);
      this.scx = r.step.ok ? r.proc : null;
      return { ok: r.step.ok, error: r.step.error, step: r.step };
    }
    if (!loaderAvailable()) return { ok: false, error: LOADER_NOT_BUILT };
    const step = await this.session.step({
      kind: 'load',
      object: buildPaths(build.id).object,
      label: `deploy ${build.name}`,
      ...(hints ? { hints } : {}),
    });
    return { ok: step.ok, error: step.error, step };
  }
  async unload() {
    if (this.scx) {
      const proc = this.scx;
      this.scx = null;
      const stop = await stopScxInGuest(this.session, proc);
      if (stop.step.state?.state === 'disabled') return; // stopped (killed after the grace period at worst)
      throw new ScxError('VM_CRASHED', `could not stop ${proc.binary} in the sandbox: ${stop.step.error}`);
    }
    const step = await this.session.step({ kind: 'unload' });
    if (!step.ok) throw new ScxError('VM_CRASHED', `could not unload the scheduler in the sandbox: ${step.error}`);
  }
  /** Through the VM's agent channel (or its monitor channel, beside a workload); the guest kills it after timeoutS. */
  async exec(command: string, o: ExecOptions): Promise<ExecResult> {
    const r = await this.session.vm.run(`cd /tmp\n${command}`, {
      guestTimeoutS: Math.ceil(o.timeoutS),
      // a stalling scheduler freezes the guest for up to the watchdog timeout: allow for it
      timeoutMs: o.timeoutS * 1000 + 90_000,
      what: o.what ?? command,
      ...(o.channel ? { channel: o.channel } : {}),
    });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, wallMs: r.guestMs };
  }
  async close() {
    await this.session.finish();
  }
}
