/**
 * Deployment targets: where a verified scheduler runs.
 *
 *   sandbox  a long-lived VM (started on first use) in which the agent can run
 *            workloads; nothing on the host changes.
 *   host     the real machine. Only when its kernel has sched_ext, the server runs
 *            as root, and it was started with --allow-host. Refused otherwise, with why.
 *
 * One scheduler per target at a time. Each target keeps the stack of what ran
 * before, so rollback can go back one step or all the way to the kernel default.
 *
 * On the host, only loading, unloading and reading sched_ext state run as root; workload commands
 * run as the invoking user (targets/run-as.ts), and every deploy, rollback and command is written
 * to the audit log (targets/audit.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { ScxError } from './errors.js';
import { JobHints, jobHintArgs } from './job-hints.js';
import { appendAudit, assertAuditWritable, OPERATOR, type Actor, type AuditEvent, type RollbackTrigger } from './targets/audit.js';
import { hostRunDir } from './targets/run-dir.js';
import { HostCommands } from './targets/run-as.js';
import { SandboxSession, loaderFailure, parseLoaderOutput, parseStateOutput, type SessionOptions } from './sandbox/session.js';
import { loaderAvailable, loaderDir } from './sandbox/image.js';
import type { SchedExtState, StepResult } from './sandbox/results.js';
import { buildPaths, buildSource, getBuild, requireVerified, type BuildRecord } from './builds/build.js';
import { isScxBuild, scxCommand } from './builds/scx-build.js';
import { startScxInGuest, stopScxInGuest, type ScxGuestProcess } from './scx/guest.js';
import { isScxBinaryCmdline, startScxOnHost } from './scx/host.js';
import { sha256Hex } from './model/hash.js';
import { TargetKind } from './model/target.js';

/** Job hints for schedulers with a job_hints map (sjf, ljf, hybrid): `{comm prefix: ms}` or rules keyed by argv, cgroup, pgid, sid or comm (core/job-hints.ts). */
export { JobHints };

export const Deployment = z.object({
  buildId: z.string(),
  name: z.string(),
  since: z.string(),
  hints: JobHints.optional().describe('job hints fed into its job_hints map (scx-job-hints)'),
});
export type Deployment = z.infer<typeof Deployment>;

export const TargetStatus = z.object({
  target: TargetKind,
  available: z.boolean(),
  reason: z.string().describe('why the target is or is not available'),
  kernel: z.string().nullable(),
  current: Deployment.nullable().describe('the scheduler scx-mcp deployed that is running now; null = kernel default'),
  previous: z.array(Deployment.nullable()).describe('what ran before, most recent last; null = kernel default'),
  schedExt: z.object({ state: z.string(), ops: z.string().nullable() }).nullable(),
});
export type TargetStatus = z.infer<typeof TargetStatus>;

const HINTS_NEED_LOADER = 'job hints need the Rust loader (scx-job-hints), which is not built: run npm run setup';

interface Backend {
  kernel(): string | null;
  state(): Promise<SchedExtState>;
  load(build: BuildRecord, hints?: JobHints): Promise<{ ok: boolean; error?: string; step?: StepResult }>;
  unload(): Promise<void>;
  run(command: string, timeoutS: number, actor: Actor): Promise<{ exitCode: number; stdout: string; stderr: string; wallMs: number }>;
  close(): Promise<void>;
}

class SandboxBackend implements Backend {
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
    const loader = loaderAvailable();
    if (hints && !loader) return { ok: false, error: HINTS_NEED_LOADER };
    const step = await this.session.step({ kind: 'load', object: buildPaths(build.id).object, label: `deploy ${build.name}`, via: loader ? 'loader' : 'bpftool', ...(hints ? { hints } : {}) });
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
  async run(command: string, timeoutS: number) {
    const r = await this.session.vm.run(`cd /tmp\n${command}`, { guestTimeoutS: timeoutS, timeoutMs: timeoutS * 1000 + 90_000, what: command });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, wallMs: r.guestMs };
  }
  async close() {
    await this.session.finish();
  }
}

const HOST_PIN_DIR = '/sys/fs/bpf/scx-mcp';

/** sched_ext's sysfs (SCX_LOADER_SYSFS: the loader's own override, so the loader, the backend and the monitor read the same place) */
export function hostSchedExtSysfs(): string {
  return process.env.SCX_LOADER_SYSFS || '/sys/kernel/sched_ext';
}

/** Why the host cannot take a scheduler, or null if it can. */
export function hostRefusal(allowHost: boolean): string | null {
  if (!allowHost) return 'host deployment is off: start the server with --allow-host (scx-mcp serve --allow-host) to let it touch this machine';
  if (!existsSync(hostSchedExtSysfs())) return `this host's kernel (${readRelease()}) has no sched_ext (${hostSchedExtSysfs()} is missing); use target "sandbox"`;
  if (process.getuid?.() !== 0) return 'loading a scheduler on the host needs root; the server is not running as root';
  if (!existsSync('/sys/fs/bpf')) return 'bpffs is not mounted at /sys/fs/bpf';
  return null;
}

function readRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether `pid` is a live scx-loader / scx-job-hints process (a pid file can outlive its process). */
function isLoaderProcess(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /scx-(loader|job-hints)/.test(cmdline) || isScxBinaryCmdline(cmdline);
  } catch {
    return false;
  }
}

/** Signal a loader process if it is still one (it may exit, and its pid be reused, at any moment). */
function signalLoader(pid: number, sig: NodeJS.Signals): void {
  try {
    if (isLoaderProcess(pid)) process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

/**
 * The real machine. Loads through the Rust loader when it is built (parameters, stats, the exit
 * record, job hints; the same JSON-lines protocol as in the sandbox), else with bpftool. The loader
 * process outlives the server (the scheduler stays deployed); its pid file lets a later server
 * unload it.
 */
export class HostBackend implements Backend {
  private readonly sysfs = hostSchedExtSysfs();
  /** `commands`: how workload commands run (as whom, audited); the manager shares its own. */
  constructor(readonly commands: HostCommands = new HostCommands()) {}
  kernel() {
    return readRelease();
  }
  async state() {
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '');
    if (!existsSync(this.sysfs)) return parseStateOutput('state=absent\n');
    return parseStateOutput(`state=${read(join(this.sysfs, 'state'))}\nops=${read(join(this.sysfs, 'root', 'ops'))}\n`);
  }
  async load(build: BuildRecord, hints?: JobHints) {
    const st = await this.state();
    if (st.state === 'absent') return { ok: false, error: `this host's kernel (${readRelease()}) has no sched_ext` };
    if (st.state !== 'disabled') return { ok: false, error: `another sched_ext scheduler is active on the host (${st.ops ?? st.state}); scx-mcp will not replace one it did not start` };
    if (isScxBuild(build)) {
      // an scx binary: detached, supervised through its run directory like scx-loader (core/scx/host.ts)
      const { binary, args, opsName } = scxCommand(build);
      const deployment: Deployment = { buildId: build.id, name: build.name, since: new Date().toISOString() };
      return startScxOnHost({ binary, args, opsName, runDir: join(hostRunDir(), `${build.id}-${Date.now()}`), deployment, state: () => this.state() });
    }
    const bin = join(loaderDir(), hints ? 'scx-job-hints' : 'scx-loader');
    if (existsSync(bin)) return this.loadWithLoader(bin, build, hints);
    if (hints) return { ok: false, error: HINTS_NEED_LOADER };
    const dir = `${HOST_PIN_DIR}/${build.id}`;
    await execa('mkdir', ['-p', dir]);
    const r = await execa('bpftool', ['struct_ops', 'register', buildPaths(build.id).object, dir], { reject: false, timeout: 120_000 });
    const after = await this.state();
    if (r.exitCode !== 0 || after.state !== 'enabled') {
      await rm(dir, { recursive: true, force: true });
      return { ok: false, error: `load on the host failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
    }
    return { ok: true };
  }
  /** Start the loader detached, wait for its "attached" (or error/exit) line; the same outcome rules as the sandbox's. */
  private async loadWithLoader(bin: string, build: BuildRecord, hints?: JobHints) {
    const dir = join(hostRunDir(), `${build.id}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    const args = ['run', buildPaths(build.id).object, '--stats-interval-ms', '5000', ...jobHintArgs(hints)];
    const out = openSync(join(dir, 'out'), 'w');
    const err = openSync(join(dir, 'err'), 'w');
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, err] });
    closeSync(out);
    closeSync(err);
    let exitCode: number | null = null;
    child.on('exit', (code, sig) => void (exitCode = code ?? (sig ? 128 : -1)));
    child.unref();
    if (child.pid) writeFileSync(join(dir, 'pid'), String(child.pid));
    // what runs, for a later server that finds this loader by its pid file (adopt())
    const deployment: Deployment = { buildId: build.id, name: build.name, since: new Date().toISOString(), ...(hints ? { hints } : {}) };
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify(deployment) + '\n');
    const t0 = performance.now();
    let loader = parseLoaderOutput('');
    while (performance.now() - t0 < 300_000) {
      loader = parseLoaderOutput(readFileSync(join(dir, 'out'), 'utf8'));
      if (loader.lines.some((l) => ['attached', 'error', 'exit'].includes(String(l.type))) || exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 50)); // the exit status, if it stopped
    const errLine = loader.lines.find((l) => l.type === 'error');
    const after = await this.state();
    if (loader.lines.some((l) => l.type === 'attached') && !errLine && after.state === 'enabled') return { ok: true };
    if (child.pid) signalLoader(child.pid, 'SIGTERM');
    const stderr = readFileSync(join(dir, 'err'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    await rm(dir, { recursive: true, force: true });
    if (errLine) {
      const f = loaderFailure(errLine);
      return { ok: false, error: `load on the host failed (${f.stage}): ${f.reason}${f.file && f.line ? ` at ${f.file}:${f.line}` : ''}${f.hint ? `; ${f.hint}` : ''}` };
    }
    return { ok: false, error: `scx-loader did not attach on the host (exit status ${exitCode ?? 'none yet'}, sched_ext ${after.state})${stderr ? `: ${stderr}` : ''}` };
  }

  async unload() {
    // loader processes (this server's or an earlier one's): SIGTERM detaches cleanly
    if (existsSync(hostRunDir())) {
      for (const d of await readdir(hostRunDir(), { withFileTypes: true }).then((es) => es.filter((e) => e.isDirectory()).map((e) => e.name))) {
        const pidFile = join(hostRunDir(), d, 'pid');
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
        if (Number.isInteger(pid) && isLoaderProcess(pid)) {
          signalLoader(pid, 'SIGTERM');
          for (let i = 0; i < 100 && isLoaderProcess(pid); i++) await new Promise((r) => setTimeout(r, 100));
          signalLoader(pid, 'SIGKILL');
        }
        await rm(join(hostRunDir(), d), { recursive: true, force: true });
      }
    }
    // bpftool pins (loads without the loader)
    if (existsSync(HOST_PIN_DIR)) for (const d of await readdir(HOST_PIN_DIR)) await rm(`${HOST_PIN_DIR}/${d}`, { recursive: true, force: true });
    for (let i = 0; i < 100 && (await this.state()).state === 'enabled'; i++) await new Promise((r) => setTimeout(r, 100));
  }
  /** A workload command: as the invoking user, never root unless the operator said so; audited. */
  async run(command: string, timeoutS: number, actor: Actor) {
    return this.commands.run(command, { timeoutS, actor, purpose: 'command' });
  }

  /**
   * The scheduler an earlier scx-mcp server deployed and left running (host deployments outlive the
   * server): a live loader whose run directory names its build, while sched_ext is enabled. The
   * server that finds it can roll it back or replace it; anything else that is active stays foreign.
   */
  async adopt(): Promise<Deployment | null> {
    if (!existsSync(hostRunDir()) || (await this.state()).state !== 'enabled') return null;
    for (const d of (await readdir(hostRunDir(), { withFileTypes: true })).filter((e) => e.isDirectory())) {
      const dir = join(hostRunDir(), d.name);
      try {
        const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
        if (!Number.isInteger(pid) || !isLoaderProcess(pid)) continue;
        return Deployment.parse(JSON.parse(readFileSync(join(dir, 'deployment.json'), 'utf8')));
      } catch {
        /* not one of ours, or half-written */
      }
    }
    return null;
  }

  /** Nothing to release: a deployed scheduler stays deployed when the server goes (see TargetManager.close). */
  async close() {}
}

interface TargetState {
  backend?: Backend;
  starting?: Promise<Backend>;
  current: Deployment | null;
  previous: (Deployment | null)[];
}

export interface TargetManagerOptions {
  allowHost?: boolean;
  /** Whom workload commands on the host run as (scx-mcp serve --run-as): USER|UID[:GROUP|GID], or root. */
  runAs?: string;
  sandbox?: SessionOptions;
}

/** Who asked for a rollback, and why (for the audit log). */
export interface RollbackCause {
  actor?: Actor;
  trigger?: RollbackTrigger;
  reason?: string;
}

export class TargetManager {
  private readonly targets: Record<TargetKind, TargetState> = {
    sandbox: { current: null, previous: [] },
    host: { current: null, previous: [] },
  };
  /** Workload commands on the host: whom they run as, the audit of each. */
  readonly hostCommands: HostCommands;
  constructor(readonly opts: TargetManagerOptions = {}) {
    this.hostCommands = new HostCommands({ runAs: opts.runAs });
  }

  private async backend(kind: TargetKind, start: boolean): Promise<Backend | undefined> {
    const t = this.targets[kind];
    if (t.backend) {
      if (kind === 'sandbox' && !(t.backend as SandboxBackend).session.vm.alive) {
        // the VM died (e.g. killed after a hang): forget it, and what ran in it
        t.backend = undefined;
        t.current = null;
        t.previous = [];
      } else {
        return t.backend;
      }
    }
    if (!start) return undefined;
    if (kind === 'host') {
      this.checkHostAllowed(kind);
      const host = new HostBackend(this.hostCommands);
      // a scheduler an earlier server deployed is this server's to roll back or replace
      t.current ??= await host.adopt();
      return (t.backend = host);
    }
    t.starting ??= SandboxSession.start(this.opts.sandbox).then((s) => (t.backend = new SandboxBackend(s)));
    try {
      return await t.starting;
    } finally {
      t.starting = undefined;
    }
  }

  async status(kind: TargetKind): Promise<TargetStatus> {
    const t = this.targets[kind];
    const b = await this.backend(kind, false);
    let available = true;
    let reason = kind === 'sandbox' ? (b ? 'sandbox VM running' : 'sandbox VM starts on first deploy') : 'host deployment allowed';
    if (kind === 'host') {
      const why = hostRefusal(Boolean(this.opts.allowHost));
      if (why) {
        available = false;
        reason = why;
      }
    }
    let schedExt: TargetStatus['schedExt'] = null;
    if (b) {
      const st = await b.state();
      schedExt = { state: st.state, ops: st.ops };
    }
    return { target: kind, available, reason, kernel: b?.kernel() ?? null, current: t.current, previous: t.previous, schedExt };
  }

  /** Deploy a verified build; whatever ran before is unloaded and remembered. */
  /** A build that may be deployed: it built and passed verify_bpf. Throws with the reason otherwise. */
  async deployable(buildId: string): Promise<BuildRecord> {
    const build = await getBuild(buildId);
    if (!build.ok) throw new ScxError('BAD_INPUT', `build ${buildId} did not build (stopped at ${build.stage})`, 'fix it and build again');
    if (!build.verification) {
      throw new ScxError('BAD_INPUT', `build ${buildId} (${build.name}) has not been verified`, 'run verify_bpf on it first; only builds that pass are deployed');
    }
    if (build.verification.verdict !== 'pass') {
      throw new ScxError('BAD_INPUT', `build ${buildId} (${build.name}) failed verification: ${build.verification.reasons.join('; ')}`,
        'fix the scheduler, build and verify again');
    }
    return build;
  }

  /** Throws when `kind` is the host and the host may not be touched (checked before anything else about a deploy). */
  checkHostAllowed(kind: TargetKind): void {
    const why = kind === 'host' ? hostRefusal(Boolean(this.opts.allowHost)) : null;
    if (why) throw new ScxError('BAD_INPUT', `refusing to deploy on the host: ${why}`, 'deploy to target "sandbox" instead');
  }

  async deploy(buildId: string, kind: TargetKind, opts: { hints?: JobHints; actor?: Actor } = {}): Promise<{ status: TargetStatus; replaced: Deployment | null; load: StepResult | undefined }> {
    this.checkHostAllowed(kind);
    const build = await this.deployable(buildId);
    const source = await buildSource(build.id, build).catch(() => null);
    if (opts.hints && !/\bjob_hints\b/.test(source ?? '')) {
      throw new ScxError('BAD_INPUT', `${build.name} has no job_hints map, so job hints would be ignored`, 'hints are for sjf, ljf and hybrid (and schedulers that declare the same job_hints map); leave them out for this one');
    }
    if (kind === 'host') {
      assertAuditWritable(); // a host change that cannot be recorded is not made
      const audit = (outcome: 'ok' | 'failed', replacedName: string | null, error?: string) => appendAudit({
        event: 'deploy', target: 'host', buildId: build.id, name: build.name,
        sourceSha256: source === null ? null : sha256Hex(source),
        origin: build.origin, params: build.params, hints: opts.hints ?? null, replaced: replacedName, outcome, ...(error ? { error } : {}),
      }, opts.actor ?? OPERATOR);
      try {
        const r = await this.deployOn(build, kind, opts);
        audit('ok', r.replaced?.name ?? null);
        return r;
      } catch (e) {
        audit('failed', this.targets.host.current?.name ?? null, (e as Error).message);
        throw e;
      }
    }
    return this.deployOn(build, kind, opts);
  }

  private async deployOn(build: BuildRecord, kind: TargetKind, opts: { hints?: JobHints }): Promise<{ status: TargetStatus; replaced: Deployment | null; load: StepResult | undefined }> {
    const buildId = build.id;
    const b = (await this.backend(kind, true))!;
    const kernel = b.kernel();
    // verified on the very kernel it is about to be loaded on (kfuncs and the verifier differ between releases)
    if (kernel) requireVerified(build, kernel, kind);
    const t = this.targets[kind];
    const replaced = t.current;
    if (replaced) await b.unload();
    const res = await b.load(build, opts.hints);
    if (!res.ok) {
      // put back what was running before, so the target is never left worse than we found it
      if (replaced) await b.load(await getBuild(replaced.buildId), replaced.hints).catch(() => undefined);
      throw new ScxError('BAD_INPUT', `deploying ${build.name} to ${kind} failed: ${res.error}`,
        replaced ? `the previous scheduler (${replaced.name}) was restored` : 'the target runs the kernel default');
    }
    t.previous.push(replaced);
    t.current = { buildId, name: build.name, since: new Date().toISOString(), ...(opts.hints ? { hints: opts.hints } : {}) };
    return { status: await this.status(kind), replaced, load: res.step };
  }

  /** Back to the previous scheduler, or to the kernel default. Idempotent at the default. On the host, audited with its cause. */
  async rollback(kind: TargetKind, to: 'previous' | 'default', cause: RollbackCause = {}): Promise<{ status: TargetStatus; from: Deployment | null; to: Deployment | null; changed: boolean }> {
    if (kind !== 'host' || !this.opts.allowHost) return this.rollbackOn(kind, to);
    await this.backend('host', true); // adopts what an earlier server left deployed
    const from = this.targets.host.current;
    const audit = (e: Partial<Extract<AuditEvent, { event: 'rollback' }>>) => {
      try {
        appendAudit({ event: 'rollback', target: 'host', trigger: cause.trigger ?? 'tool', reason: cause.reason ?? null, from: from?.name ?? null, to: null, changed: false, outcome: 'ok', ...e }, cause.actor ?? OPERATOR);
      } catch (err) {
        // a rollback is the safe direction: it is not undone because the log cannot be written
        console.error(`[scx-mcp] audit: ${(err as Error).message}`);
      }
    };
    try {
      const r = await this.rollbackOn(kind, to);
      audit({ to: r.to?.name ?? null, changed: r.changed });
      return r;
    } catch (e) {
      audit({ changed: true, outcome: 'failed', error: (e as Error).message });
      throw e;
    }
  }

  private async rollbackOn(kind: TargetKind, to: 'previous' | 'default'): Promise<{ status: TargetStatus; from: Deployment | null; to: Deployment | null; changed: boolean }> {
    const t = this.targets[kind];
    // the host backend is cheap to open, and opening it adopts what an earlier server left deployed;
    // a sandbox VM that is not running has nothing to roll back
    const b = await this.backend(kind, kind === 'host' && Boolean(this.opts.allowHost));
    const from = t.current;
    if (!b || (!from && (to === 'default' || t.previous.length === 0))) {
      return { status: await this.status(kind), from, to: null, changed: false };
    }
    let target: Deployment | null = null;
    if (to === 'previous') {
      target = t.previous.pop() ?? null;
    } else {
      t.previous = [];
    }
    if (from) await b.unload();
    t.current = null;
    if (target) {
      const res = await b.load(await getBuild(target.buildId), target.hints);
      if (!res.ok) {
        throw new ScxError('VM_CRASHED', `rolled back to the kernel default: re-loading ${target.name} failed (${res.error})`);
      }
      t.current = { ...target, since: new Date().toISOString() };
    }
    return { status: await this.status(kind), from, to: t.current, changed: true };
  }

  /** Run a command on a target (the sandbox VM, or the host when allowed: as the invoking user, audited). */
  async run(kind: TargetKind, command: string, timeoutS: number, actor: Actor = OPERATOR) {
    const b = await this.backend(kind, true);
    return b!.run(command, timeoutS, actor);
  }

  /** Make sure a target can be used: boots the sandbox VM if needed; refuses the host without --allow-host, root and sched_ext. */
  async open(kind: TargetKind): Promise<void> {
    await this.backend(kind, true);
  }

  /** The running sandbox session, if any (for tools that need the VM itself). */
  async sandboxSession(start: boolean): Promise<SandboxSession | undefined> {
    const b = (await this.backend('sandbox', start)) as SandboxBackend | undefined;
    return b?.session;
  }

  /**
   * The server is going (its client went away, or it was signalled). The sandbox VM is shut down.
   * A scheduler deployed on the host stays deployed: it is production, its loader runs detached,
   * and a later server finds it by its pid file (rollback, or a new deploy, replaces it). What stops
   * with the server is its monitor (core/monitor.ts): the host runs without one until a server
   * deploys again with a monitor.
   */
  async close(): Promise<void> {
    for (const kind of ['sandbox', 'host'] as const) {
      const t = this.targets[kind];
      await t.backend?.close().catch(() => undefined);
      t.backend = undefined;
    }
  }
}
