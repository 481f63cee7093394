/**
 * A sandbox session: one VM plus the sched_ext operations on it (load, unload,
 * read state, run a workload, read the kernel log), each recorded as a step of
 * the results model. A one-shot job (runSandboxJob) and a long-lived sandbox
 * target both use it.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { ScxError, isScxError } from '../errors.js';
import { ensureKernel, type KernelInfo } from '../kernel/fetch.js';
import { chooseAccelerator, type AccelChoice } from './accel.js';
import { ensureGuestImage, guestPrograms, type ImageOptions } from './image.js';
import { emulatorPanic, parseSchedExtKmsg, schedExtLines, type SchedulerExit } from './kmsg.js';
import { SandboxStep, type SandboxResult, type SchedExtState, type StateTransition, type StepResult } from './results.js';
import type { z } from 'zod';
import { checkWritablePath, SandboxVM } from './vm.js';
import { hasLine } from '../loader/protocol.js';
import { LoaderProcess } from '../loader/process.js';
import { guestTransport } from '../loader/transports.js';
import type { LoadFailure } from '../loader/failure.js';

export interface SessionOptions {
  /** Forward the guest's port 22 to 127.0.0.1:<sshPort> (see startSsh). */
  sshPort?: number;
  cpus?: number;
  memoryMb?: number;
  bootTimeoutMs?: number;
  kernel?: KernelInfo;
  image?: ImageOptions;
  keepRunDir?: boolean;
  /** Host paths jobs may write to (through overlays kept in guest memory); $HOME always is. */
  writable?: string[];
  log?: (line: string) => void;
  /** Seconds a load may verify before it is stopped (see verifyBudgetS). */
  verifyBudgetS?: number;
  /** Keep a whole log (a verifier log) where its owner wants it; results then link to it instead of carrying it. */
  keepLog?: (name: string, text: string) => Promise<{ uri: string; bytes: number }>;
}

const STATE_SCRIPT = `d=/sys/kernel/sched_ext
if [ ! -d $d ]; then echo state=absent; exit 0; fi
echo "state=$(cat $d/state)"
[ -r $d/root/ops ] && echo "ops=$(cat $d/root/ops)"
for f in enable_seq nr_rejected switch_all; do [ -r $d/$f ] && echo "$f=$(cat $d/$f)"; done
[ -r $d/root/events ] && sed 's/^/event /' $d/root/events
true`;

export function parseStateOutput(text: string): SchedExtState {
  const kv = new Map<string, string>();
  const events: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const ev = /^event\s+(\S+)\s+(-?\d+)/.exec(line);
    if (ev) {
      // only the counters that moved: a zero-filled list of 20 names is noise to the reader
      if (Number(ev[2]) !== 0) events[ev[1]!] = Number(ev[2]);
      continue;
    }
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!.trim());
  }
  const num = (k: string) => (kv.has(k) && kv.get(k) !== '' ? Number(kv.get(k)) : null);
  return {
    state: kv.get('state') ?? 'unknown',
    ops: kv.get('ops') || null,
    enableSeq: num('enable_seq'),
    nrRejected: num('nr_rejected'),
    switchAll: kv.has('switch_all') ? kv.get('switch_all') === '1' : null,
    events,
  };
}

let stripTool: string | null | undefined;
async function findStrip(): Promise<string | null> {
  if (stripTool !== undefined) return stripTool;
  for (const t of ['llvm-strip-19', 'llvm-strip-20', 'llvm-strip-18', 'llvm-strip']) {
    if ((await execa(t, ['--version'], { reject: false })).exitCode === 0) return (stripTool = t);
  }
  return (stripTool = null);
}

/** The object without DWARF (BTF and its line info stay, so verifier logs still quote source lines). */
async function objectForGuest(path: string): Promise<Buffer> {
  const strip = await findStrip();
  if (!strip) return readFile(path);
  const r = await execa(strip, ['-g', '-o', '-', path], { encoding: 'buffer', reject: false });
  return r.exitCode === 0 ? Buffer.from(r.stdout as Uint8Array) : readFile(path);
}

/**
 * Seconds a load may spend in the verifier before it is stopped: SessionOptions.verifyBudgetS,
 * else $SCX_MCP_VERIFY_BUDGET_S, else 60 under emulation (TCG) and 20 with KVM.
 */
export function verifyBudgetS(accel: 'kvm' | 'tcg', opts: { verifyBudgetS?: number } = {}): number {
  const env = Number(process.env.SCX_MCP_VERIFY_BUDGET_S);
  const v = opts.verifyBudgetS ?? (Number.isFinite(env) && env > 0 ? env : accel === 'tcg' ? 60 : 20);
  return Math.max(1, Math.min(600, Math.round(v)));
}

export class SandboxSession {
  readonly steps: StepResult[] = [];
  readonly transitions: StateTransition[] = [];
  private lastState = 'unknown';
  private readonly t0 = performance.now();
  private loads = 0;
  firstLoadFailure: LoadFailure | null = null;
  /** How many kernel exit messages were already attributed to a step. */
  private exitsSeen = 0;

  private constructor(
    readonly vm: SandboxVM,
    readonly kernel: KernelInfo,
    readonly accel: AccelChoice,
    readonly imageMs: number,
    readonly opts: SessionOptions,
  ) {}

  static async start(opts: SessionOptions = {}): Promise<SandboxSession> {
    const log = opts.log ?? (() => {});
    const kernel = opts.kernel ?? (await ensureKernel({ log }));
    const t0 = performance.now();
    const image = await ensureGuestImage({ kernel, ...opts.image, log });
    const imageMs = Math.round(performance.now() - t0);
    const accel = await chooseAccelerator(kernel.vmlinuz);
    log(`booting sandbox: kernel ${kernel.release}, ${accel.accel} (${accel.reason})`);
    const vm = await SandboxVM.start({
      vmlinuz: kernel.vmlinuz,
      initrd: image,
      accel: accel.accel,
      cpus: opts.cpus ?? 2,
      memoryMb: opts.memoryMb ?? 1024,
      bootTimeoutMs: opts.bootTimeoutMs ?? (accel.accel === 'kvm' ? 60_000 : 180_000),
      keepRunDir: opts.keepRunDir,
      programs: await guestPrograms(),
      writable: opts.writable,
      sshPort: opts.sshPort,
    });
    for (const p of vm.bootRetries) log(`the guest kernel panicked while booting, booted again: ${p}`);
    log(`sandbox up in ${vm.bootMs} ms`);
    return new SandboxSession(vm, kernel, accel, imageMs, opts);
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.t0);
  }

  /** Read sched_ext state and record a transition if it changed. */
  async state(stepIndex = this.steps.length - 1): Promise<SchedExtState> {
    const r = await this.vm.run(STATE_SCRIPT, { timeoutMs: 90_000, what: 'read sched_ext state' });
    const st = parseStateOutput(r.stdout);
    if (st.state !== this.lastState) {
      this.transitions.push({ atMs: this.elapsed(), step: stepIndex, from: this.lastState, to: st.state, ops: st.ops });
      this.lastState = st.state;
    }
    return st;
  }

  /** Execute one step; failures of the step are recorded, VM failures are thrown. */
  async step(input: SandboxStep): Promise<StepResult> {
    const step = SandboxStep.parse(input);
    const index = this.steps.length;
    const stateBefore = this.lastState;
    const t0 = performance.now();
    const base = { index, kind: step.kind, hostMs: 0, guestMs: null as number | null, exitCode: null as number | null };
    let result: StepResult;
    switch (step.kind) {
      case 'state': {
        const st = await this.state(index);
        result = {
          ...base,
          label: 'read sched_ext state',
          ok: st.state !== 'absent',
          state: st,
          ...(st.state === 'absent' ? { error: 'this kernel has no /sys/kernel/sched_ext (built without sched_ext)' } : {}),
        };
        break;
      }
      case 'load': {
        result = await this.loadWithLoader(step, base);
        break;
      }
      case 'loader_output': {
        const lines = await this.loaderLines();
        result = {
          ...base,
          label: step.label ?? 'loader output',
          ok: lines !== null,
          loader: lines ?? { lines: [], running: false, exitCode: null },
          ...(lines === null ? { error: 'no scheduler was loaded through scx-loader in this session' } : {}),
        };
        break;
      }
      case 'run': {
        if (step.writable?.length) await this.ensureWritable(step.writable);
        const r = await this.vm.run(`cd /tmp\n${step.command}`, {
          guestTimeoutS: Math.ceil(step.timeoutS),
          // a stalling scheduler freezes the guest for up to the watchdog timeout (30 s): allow for it
          timeoutMs: step.timeoutS * 1000 + 90_000,
          what: step.label ?? step.command,
        });
        const killed = r.exitCode === 137;
        result = {
          ...base,
          label: step.label ?? step.command,
          ok: r.exitCode === 0,
          exitCode: r.exitCode,
          guestMs: r.guestMs,
          stdout: r.stdout,
          stderr: r.stderr,
          ...(killed ? { error: `killed after its ${step.timeoutS} s time limit` } : r.exitCode !== 0 ? { error: `exited with status ${r.exitCode}` } : {}),
        };
        break;
      }
      case 'unload': {
        const loaderLines = this.loader ? await this.stopLoader(step.waitS) : undefined;
        const r = await this.vm.run(
          `i=0; while [ "$(cat /sys/kernel/sched_ext/state)" != disabled ] && [ $i -lt ${step.waitS * 10} ]; do sleep 0.1; i=$((i+1)); done
cat /sys/kernel/sched_ext/state`,
          { timeoutMs: step.waitS * 1000 + 90_000, what: 'unload scheduler' },
        );
        const state = r.stdout.trim();
        result = {
          ...base,
          label: 'unload scheduler',
          ok: state === 'disabled',
          exitCode: r.exitCode,
          guestMs: r.guestMs,
          ...(loaderLines ? { loader: loaderLines } : {}),
          ...(state !== 'disabled' ? { error: `sched_ext state is still "${state}" ${step.waitS} s after removing the link` } : {}),
        };
        break;
      }
      case 'wait_state': {
        const r = await this.vm.run(
          `i=0; while [ "$(cat /sys/kernel/sched_ext/state)" != "${step.state.replace(/[^a-z]/g, '')}" ] && [ $i -lt ${step.timeoutS * 10} ]; do sleep 0.1; i=$((i+1)); done
cat /sys/kernel/sched_ext/state`,
          { timeoutMs: step.timeoutS * 1000 + 90_000, what: `wait for state ${step.state}` },
        );
        const now = r.stdout.trim();
        result = {
          ...base,
          label: `wait for sched_ext state ${step.state}`,
          ok: now === step.state,
          guestMs: r.guestMs,
          exitCode: r.exitCode,
          ...(now !== step.state ? { error: `state is "${now}" after ${step.timeoutS} s` } : {}),
        };
        break;
      }
      case 'sleep': {
        const r = await this.vm.run(`sleep ${step.seconds}`, { timeoutMs: step.seconds * 1000 + 90_000, what: 'sleep' });
        result = { ...base, label: `sleep ${step.seconds} s`, ok: r.exitCode === 0, guestMs: r.guestMs, exitCode: r.exitCode };
        break;
      }
      case 'dmesg': {
        const r = await this.vm.run('dmesg', { timeoutMs: 60_000, what: 'dmesg' });
        result = { ...base, label: 'kernel log', ok: r.exitCode === 0, stdout: r.stdout, exitCode: r.exitCode, guestMs: r.guestMs };
        break;
      }
    }
    if (step.kind !== 'state' && step.kind !== 'dmesg' && !result.state) result.state = await this.state(index);
    // The scheduler was running (or was just attached) and is gone, without us unloading it: the kernel ejected it. Say why.
    const wasRunning = stateBefore === 'enabled' || (step.kind === 'load' && (result.exitCode === 0 || hasLine(result.loader?.lines ?? [], 'attached')));
    if (wasRunning && step.kind !== 'unload' && result.state && result.state.state !== 'enabled') {
      const { exits } = await this.kernelLog();
      const fresh = exits.slice(this.exitsSeen);
      this.exitsSeen = exits.length;
      const exit = fresh[fresh.length - 1];
      if (exit) {
        result.exit = exit;
        result.ok = false;
        result.error = `the kernel disabled scheduler "${exit.scheduler}": ${exit.reason}${exit.message ? ` (${exit.message.split('\n')[0]})` : ''}`;
      }
    }
    result.hostMs = Math.round(performance.now() - t0);
    this.steps.push(result);
    return result;
  }

  /**
   * Start an ssh server in the guest for `publicKey` (root, key only), reached on the host at
   * 127.0.0.1:<VmOptions.sshPort>. The host's dropbear (Debian's dropbear-bin: binaries, no
   * service) with a host key made in guest memory; nothing is written to the host.
   */
  async startSsh(publicKey: string): Promise<void> {
    if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+( [^\n'"\\]*)?$/.test(publicKey.trim())) {
      throw new ScxError('BAD_INPUT', 'not an ssh public key (one line: ssh-ed25519 AAAA… comment)');
    }
    const r = await this.vm.run(
      [
        'command -v dropbear >/dev/null || { echo "dropbear is not installed on the host (npm run setup installs dropbear-bin)" >&2; exit 127; }',
        'mkdir -p /run/scx/ssh "$HOME/.ssh" && chmod 700 /run/scx/ssh "$HOME/.ssh"',
        `printf '%s\n' '${publicKey.trim()}' > "$HOME/.ssh/authorized_keys" && chmod 600 "$HOME/.ssh/authorized_keys"`,
        '[ -f /run/scx/ssh/host_ed25519 ] || dropbearkey -t ed25519 -f /run/scx/ssh/host_ed25519 >/dev/null 2>&1',
        'dropbear -r /run/scx/ssh/host_ed25519 -p 22 -s -P /run/scx/ssh/dropbear.pid',
        'for i in $(seq 50); do [ -s /run/scx/ssh/dropbear.pid ] && exit 0; sleep 0.1; done; echo "dropbear did not start" >&2; exit 1',
      ].join('\n'),
      { timeoutMs: 60_000, what: 'start ssh' },
    );
    if (r.exitCode !== 0) throw new ScxError('TOOL_MISSING', `cannot start ssh in the sandbox: ${r.stderr.trim().split('\n').pop()}`, 'run npm run setup');
  }

  private overlays = 0;
  private readonly writableDone = new Set<string>();

  /**
   * Make host paths writable in the guest (the host's tree is read-only there): an overlay on each
   * directory that is not writable yet, its upper layer in guest memory. Idempotent per path.
   */
  async ensureWritable(paths: string[]): Promise<void> {
    for (const p of paths) {
      if (this.writableDone.has(p)) continue;
      checkWritablePath(p);
      const n = ++this.overlays;
      const r = await this.vm.run(
        [
          `p='${p}'`,
          `[ -d "$p" ] || { echo "$p is not a directory on the host" >&2; exit 2; }`,
          'if touch "$p/.scx-w" 2>/dev/null; then rm -f "$p/.scx-w"; exit 0; fi',
          `o=/run/scx/ovl/x${n}; mkdir -p $o/u $o/w`,
          'mount -t overlay overlay -o "lowerdir=$p,upperdir=$o/u,workdir=$o/w" "$p"',
        ].join('\n'),
        { timeoutMs: 60_000, what: `make ${p} writable` },
      );
      if (r.exitCode !== 0)
        throw new ScxError(
          'BAD_INPUT',
          `cannot make ${p} writable in the sandbox: ${r.stderr.trim().split('\n').pop() ?? `status ${r.exitCode}`}`,
          'give an existing host directory (cwd or writable)',
        );
      this.writableDone.add(p);
    }
  }

  /** The scheduler attached through scx-loader in this session, if any. */
  private loader?: LoaderProcess;

  private async loaderLines(): Promise<NonNullable<StepResult['loader']> | null> {
    return this.loader ? this.loader.output() : null;
  }

  /** SIGTERM the loader (it detaches cleanly) and wait for it to exit. */
  private async stopLoader(waitS: number): Promise<NonNullable<StepResult['loader']> | undefined> {
    if (!this.loader) return undefined;
    const lines = await this.loader.stop(waitS);
    this.loader = undefined;
    return lines;
  }

  private async loadWithLoader(step: Extract<z.output<typeof SandboxStep>, { kind: 'load' }>, base: Omit<StepResult, 'label' | 'ok'>): Promise<StepResult> {
    if (this.loader) await this.stopLoader(20);
    if (!existsSync(step.object)) {
      throw new ScxError(
        'OBJECT_MISSING',
        `BPF object not found: ${step.object}`,
        'build the scheduler first (build_scheduler), then pass the .bpf.o path it returned',
      );
    }
    const data = await objectForGuest(step.object);
    if (data.subarray(0, 4).toString('latin1') !== '\x7fELF') {
      throw new ScxError('OBJECT_INVALID', `${step.object} is not an ELF object file`, 'pass the .bpf.o that clang produced with -target bpf');
    }
    const n = ++this.loads;
    const dir = `/tmp/loader${n}`;
    const obj = `${dir}/${basename(step.object).replace(/[^A-Za-z0-9._-]/g, '_')}`;
    await this.vm.put(obj, data);
    const budget = verifyBudgetS(this.accel.accel, this.opts);
    const loader = new LoaderProcess(guestTransport(this.vm, dir, `load ${basename(step.object)}`), {
      object: obj,
      statsIntervalMs: step.statsIntervalMs,
      params: step.params,
      timeoutMs: step.timeoutMs,
      verifierStats: step.verifierStats,
      verifyTimeoutS: budget,
      hints: step.hints,
      learn: step.learn,
    });
    this.loader = loader;
    let start;
    try {
      start = await loader.start(() => this.state(base.index), budget + 60);
    } catch (e) {
      this.loader = undefined;
      throw e;
    }
    const { ok, output, errorLine, failure, state } = start;
    if (errorLine && failure) {
      // the whole verifier log goes to its owner's file; the result keeps the part that explains the failure
      const whole = typeof errorLine.verifier_log === 'string' ? errorLine.verifier_log : '';
      if (whole && this.opts.keepLog) {
        failure.wholeLog = await this.opts.keepLog('verifier', whole).catch(() => null);
        errorLine.verifier_log = `[${whole.length} characters: the failing part is in loadFailure.log${failure.wholeLog ? `, the whole log at ${failure.wholeLog.uri}` : ''}]`;
      } else if (whole.length > 16 * 1024) {
        errorLine.verifier_log = `[${whole.length} characters: the failing part is in loadFailure.log]`;
      }
      // the loader's failure is loadFailure (renamed): the line keeps a pointer instead of a second copy of its log excerpt
      if (errorLine.failure) errorLine.failure.log = '[in loadFailure.log]';
      this.firstLoadFailure ??= failure;
      if (!output.running) this.loader = undefined;
    }
    return {
      ...base,
      label: step.label ?? `load ${basename(step.object)} (scx-loader)`,
      ok,
      exitCode: output.exitCode,
      guestMs: start.guestMs,
      stderr: start.stderr,
      state,
      loader: output,
      ...(failure
        ? { loadFailure: failure, error: `load failed (${failure.stage}): ${failure.reason}` }
        : !ok
          ? { error: `scx-loader did not attach (state ${state.state})` }
          : {}),
    };
  }

  /** The kernel log and what it says about schedulers that were disabled. */
  async kernelLog(): Promise<{ dmesg: string; exits: SchedulerExit[] }> {
    const r = await this.vm.run('dmesg', { timeoutMs: 60_000, what: 'dmesg' });
    const exits = parseSchedExtKmsg(r.stdout).exits;
    return { dmesg: r.stdout, exits };
  }

  /** Collect the kernel log, shut the VM down, and build the result. Never throws for a VM failure. */
  async finish(error?: unknown): Promise<SandboxResult> {
    let dmesg = '';
    let exits: SchedulerExit[] = [];
    if (this.vm.alive) {
      try {
        ({ dmesg, exits } = await this.kernelLog());
      } catch {
        /* VM gone */
      }
    }
    const consoleTail = this.vm.consoleTail(40);
    const panic = error !== undefined && !this.vm.alive ? this.vm.consolePanic() : null;
    await this.vm.shutdown();
    const sum = (k: string) => {
      const xs = this.steps.filter((s) => s.kind === k && s.guestMs !== null).map((s) => s.guestMs!);
      return xs.length ? Math.round(xs.reduce((a, b) => a + b, 0)) : null;
    };
    const err =
      error === undefined
        ? null
        : isScxError(error)
          ? { code: error.code, message: error.message, hint: error.hint, consoleTail: (error.details?.console as string | undefined) ?? consoleTail }
          : { code: 'INTERNAL', message: String((error as Error)?.message ?? error), consoleTail };
    return {
      ok: !err && this.steps.every((s) => s.ok),
      kernel: { release: this.vm.kernelRelease || this.kernel.release, cpus: this.vm.guestCpus, memoryMb: this.opts.memoryMb ?? 1024 },
      accelerator: { kind: this.accel.accel, reason: this.accel.reason },
      timings: { imageMs: this.imageMs, bootMs: this.vm.bootMs, loadMs: sum('load'), workloadMs: sum('run'), totalMs: this.elapsed() + this.imageMs },
      steps: this.steps,
      transitions: this.transitions,
      exits,
      loadFailure: this.firstLoadFailure,
      dmesg: schedExtLines(dmesg),
      ...(this.vm.bootRetries.length ? { bootRetries: this.vm.bootRetries } : {}),
      ...(emulatorPanic(panic, this.accel.accel) ? { emulatorFault: panic! } : {}),
      error: err,
    };
  }
}

/** Reject bad steps before any VM boots: malformed steps, missing or non-ELF objects. */
export async function validateSteps(steps: SandboxStep[]): Promise<void> {
  for (const [i, raw] of steps.entries()) {
    const parsed = SandboxStep.safeParse(raw);
    if (!parsed.success) {
      throw new ScxError(
        'BAD_INPUT',
        `step ${i + 1} is malformed: ${parsed.error.issues.map((x) => `${x.path.join('.') || 'step'}: ${x.message}`).join('; ')}`,
        'each step is {kind: state|load|run|unload|wait_state|sleep|dmesg, ...}',
      );
    }
    const step = parsed.data;
    if (step.kind !== 'load') continue;
    if (!existsSync(step.object)) {
      throw new ScxError(
        'OBJECT_MISSING',
        `step ${i + 1}: BPF object not found: ${step.object}`,
        'build the scheduler first, then pass the .bpf.o path it produced',
      );
    }
    const head = (await readFile(step.object)).subarray(0, 4);
    if (head.toString('latin1') !== '\x7fELF') {
      throw new ScxError('OBJECT_INVALID', `step ${i + 1}: ${step.object} is not an ELF object file`, 'pass the .bpf.o that clang produced with -target bpf');
    }
  }
}

/** Boot a throwaway VM, run the steps in order, always tear it down. */
export async function runSandboxJob(steps: SandboxStep[], opts: SessionOptions = {}): Promise<SandboxResult> {
  await validateSteps(steps);
  const session = await SandboxSession.start(opts);
  try {
    await session.state(-1);
    for (const s of steps) {
      opts.log?.(`step ${session.steps.length + 1}/${steps.length}: ${s.kind}`);
      await session.step(s);
    }
    return await session.finish();
  } catch (e) {
    return await session.finish(e);
  }
}
