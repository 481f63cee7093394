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
 * run as the invoking user (run-as.ts), and every deploy, rollback and command is written
 * to the audit log (audit.ts).
 *
 * The manager (this file) keeps each target's stack and the rules; a Target per kind does the
 * work: sandbox.ts (the VM's agent channel) and host.ts (spawned loader processes); types.ts
 * holds what they share. Every command on a target goes through its exec (Target.exec).
 */
import { ScxError } from '../errors.js';
import { JobHints } from '../job-hints.js';
import { appendAudit, assertAuditWritable, OPERATOR, type Actor, type AuditEvent, type RollbackTrigger, type ScxLoaderAudit } from './audit.js';
import { HostCommands } from './run-as.js';
import { SandboxSession, type SessionOptions } from '../sandbox/session.js';
import type { StepResult } from '../sandbox/results.js';
import { buildSource, getBuild, requireVerified, type BuildRecord } from '../builds/build.js';
import { sha256Hex } from '../model/hash.js';
import { TargetKind } from '../model/target.js';
import { Deployment, TargetStatus, type DisplacedScxLoader, type Target } from './types.js';
import { hostDisplacedRecord, restoreScxLoader, stopScxLoader } from './scx-loader.js';
import { verifyBudgetS } from '../sandbox/session.js';
import { SandboxBackend } from './sandbox.js';
import { emulatorPanic } from '../sandbox/kmsg.js';
import { HostBackend, hostRefusal } from './host.js';

/** Job hints for schedulers with a job_hints map (sjf, ljf, hybrid): `{comm prefix: ms}` or rules keyed by argv, cgroup, pgid, sid or comm (core/job-hints.ts). */
export { JobHints };

interface TargetState {
  backend?: Target;
  starting?: Promise<Target>;
  current: Deployment | null;
  previous: (Deployment | null)[];
  /** scx_loader's scheduler, stopped by the first deploy (the bottom of the stack); run again on rollback to it */
  displaced: DisplacedScxLoader | null;
}

/** How the sandbox VM last died under the manager: what was deployed, and the guest's panic. */
export interface SandboxDeath {
  at: string;
  /** The scheduler deployed when it died (null: the kernel default). */
  deployed: string | null;
  /** The scheduler a deploy was loading when it died, if one was. */
  loading: string | null;
  /** The guest console's panic line and RIP (null: it froze or was killed without one). */
  panic: string | null;
  /** The panic is the emulator's own (an int3 on a kernel patch site under TCG; kmsg.ts emulatorPanic), not the scheduler's. */
  emulator: boolean;
}

export interface TargetManagerOptions {
  allowHost?: boolean;
  /** Whom workload commands on the host run as (scx-mcp serve --run-as): USER|UID[:GROUP|GID], or root. */
  runAs?: string;
  sandbox?: SessionOptions;
}

/** What a deploy or rollback did with scx_loader's scheduler, for the audit line. */
interface LoaderNote {
  audit?: ScxLoaderAudit;
}

/** Who asked for a rollback, and why (for the audit log). */
export interface RollbackCause {
  actor?: Actor;
  trigger?: RollbackTrigger;
  reason?: string;
}

export class TargetManager {
  private readonly targets: Record<TargetKind, TargetState> = {
    sandbox: { current: null, previous: [], displaced: null },
    host: { current: null, previous: [], displaced: null },
  };
  private sandboxDeath: SandboxDeath | null = null;
  /** Workload commands on the host: whom they run as, the audit of each. */
  readonly hostCommands: HostCommands;
  constructor(readonly opts: TargetManagerOptions = {}) {
    this.hostCommands = new HostCommands({ runAs: opts.runAs });
  }

  private async backend(kind: TargetKind, start: boolean): Promise<Target | undefined> {
    const t = this.targets[kind];
    if (t.backend) {
      const session = kind === 'sandbox' ? (t.backend as SandboxBackend).session : null;
      if (session && !session.vm.alive) {
        // the VM died (e.g. killed after a hang): how is kept (lastSandboxDeath); forget it, and what ran in it
        const panic = session.vm.consolePanic();
        this.sandboxDeath = {
          at: new Date().toISOString(),
          deployed: t.current?.name ?? null,
          loading: null,
          panic,
          emulator: emulatorPanic(panic, session.accel.accel),
        };
        void session.finish().catch(() => undefined);
        t.backend = undefined;
        t.current = null;
        t.previous = [];
        t.displaced = null;
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
      t.displaced ??= t.current ? hostDisplacedRecord.read() : null;
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
    let reason = kind === 'sandbox' ? (b ? 'sandbox VM running' : this.sandboxDeathText()) : 'host deployment allowed';
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
    return { target: kind, available, reason, kernel: b?.kernel() ?? null, current: t.current, previous: t.previous, schedExt, scxLoader: t.displaced };
  }

  /** Deploy a verified build; whatever ran before is unloaded and remembered. */
  /** A build that may be deployed: it built and passed verify_bpf. Throws with the reason otherwise. */
  async deployable(buildId: string): Promise<BuildRecord> {
    const build = await getBuild(buildId);
    if (!build.ok) throw new ScxError('BAD_INPUT', `build ${buildId} did not build (stopped at ${build.stage})`, 'fix it and build again');
    if (!build.verification) {
      throw new ScxError(
        'BAD_INPUT',
        `build ${buildId} (${build.name}) has not been verified`,
        'run verify_bpf on it first; only builds that pass are deployed',
      );
    }
    if (build.verification.verdict !== 'pass') {
      throw new ScxError(
        'BAD_INPUT',
        `build ${buildId} (${build.name}) failed verification: ${build.verification.reasons.join('; ')}`,
        'fix the scheduler, build and verify again',
      );
    }
    return build;
  }

  /** Throws when `kind` is the host and the host may not be touched (checked before anything else about a deploy). */
  checkHostAllowed(kind: TargetKind): void {
    const why = kind === 'host' ? hostRefusal(Boolean(this.opts.allowHost)) : null;
    if (why) throw new ScxError('BAD_INPUT', `refusing to deploy on the host: ${why}`, 'deploy to target "sandbox" instead');
  }

  async deploy(
    buildId: string,
    kind: TargetKind,
    opts: { hints?: JobHints; actor?: Actor } = {},
  ): Promise<{ status: TargetStatus; replaced: Deployment | null; load: StepResult | undefined }> {
    this.checkHostAllowed(kind);
    const build = await this.deployable(buildId);
    const source = await buildSource(build.id, build).catch(() => null);
    if (opts.hints && !/\bjob_hints\b/.test(source ?? '')) {
      throw new ScxError(
        'BAD_INPUT',
        `${build.name} has no job_hints map, so job hints would be ignored`,
        'hints are for sjf, ljf and hybrid (and schedulers that declare the same job_hints map); leave them out for this one',
      );
    }
    if (kind === 'host') {
      assertAuditWritable(); // a host change that cannot be recorded is not made
      const loader: LoaderNote = {};
      const audit = (outcome: 'ok' | 'failed', replacedName: string | null, error?: string) =>
        appendAudit(
          {
            event: 'deploy',
            target: 'host',
            buildId: build.id,
            name: build.name,
            sourceSha256: source === null ? null : sha256Hex(source),
            origin: build.origin,
            params: build.params,
            hints: opts.hints ?? null,
            replaced: replacedName,
            outcome,
            ...(error ? { error } : {}),
            ...(loader.audit ? { scxLoader: loader.audit } : {}),
          },
          opts.actor ?? OPERATOR,
        );
      try {
        const r = await this.deployOn(build, kind, opts, loader);
        audit('ok', r.replaced?.name ?? null);
        return r;
      } catch (e) {
        audit('failed', this.targets.host.current?.name ?? null, (e as Error).message);
        throw e;
      }
    }
    return this.deployOn(build, kind, opts);
  }

  private async deployOn(
    build: BuildRecord,
    kind: TargetKind,
    opts: { hints?: JobHints },
    loader: LoaderNote = {},
    again = false,
  ): Promise<{ status: TargetStatus; replaced: Deployment | null; load: StepResult | undefined }> {
    const buildId = build.id;
    const b = (await this.backend(kind, true))!;
    const kernel = b.kernel();
    // verified on the very kernel it is about to be loaded on (kfuncs and the verifier differ between releases)
    if (kernel) requireVerified(build, kernel, kind);
    const t = this.targets[kind];
    const replaced = t.current;
    const fresh = !replaced && t.previous.length === 0;
    // nothing of ours runs: a scheduler scx_loader runs is asked to stop (and remembered) instead of refused
    const displaced = replaced ? null : await stopScxLoader(b, this.loaderWaitS(b));
    if (displaced) loader.audit = { action: 'stopped', scheduler: displaced.scheduler, mode: displaced.mode, args: displaced.args };
    if (replaced) await b.unload();
    // a VM that dies while the scheduler loads can fail the load or throw
    const res = await b.load(build, opts.hints).catch((e: unknown) => {
      if (!(b instanceof SandboxBackend) || b.session.vm.alive) throw e;
      return { ok: false, error: (e as Error).message, step: undefined };
    });
    // backend() notices the death and records it (sandboxDeath); the record is told what was loading
    const died = !res.ok && kind === 'sandbox' && !(await this.backend(kind, false)) ? this.sandboxDeath : null;
    if (died) {
      died.loading = build.name;
      // the VM (and what ran in it) is gone: nothing to put back. Its kernel default is all a fresh VM
      // loses, so the emulator's own fault in a VM that ran nothing of ours is deployed again, once
      if (died.emulator && fresh && !again) return this.deployOn(build, kind, opts, loader, true);
      throw new ScxError(
        'VM_CRASHED',
        `deploying ${build.name} to the sandbox failed: the VM died while it loaded (${died.panic ?? 'no panic on its console: it froze or was killed'}${died.emulator ? `; the emulator's own fault, not the scheduler's${again ? ', a second time' : ''}` : ''})`,
        `a fresh sandbox VM boots on the next deploy${replaced ? `; what ran in the old one (${replaced.name}) is gone` : ''}`,
      );
    }
    if (!res.ok) {
      // put back what was running before, so the target is never left worse than we found it
      if (replaced) await b.load(await getBuild(replaced.buildId), replaced.hints).catch(() => undefined);
      let restored = '';
      if (displaced) {
        const back = await this.restoreLoader(kind, b, displaced);
        loader.audit = back.audit;
        restored = back.audit.action === 'restored' ? `; scx_loader runs ${displaced.scheduler} again` : `; ${back.audit.error}`;
      }
      throw new ScxError(
        'BAD_INPUT',
        `deploying ${build.name} to ${kind} failed: ${res.error}`,
        (replaced ? `the previous scheduler (${replaced.name}) was restored` : 'the target runs the kernel default') + restored,
      );
    }
    if (displaced) {
      t.displaced = displaced;
      if (kind === 'host') hostDisplacedRecord.write(displaced);
    }
    t.previous.push(replaced);
    t.current = { buildId, name: build.name, since: new Date().toISOString(), ...(opts.hints ? { hints: opts.hints } : {}) };
    return { status: await this.status(kind), replaced, load: res.step };
  }

  /** Back to the previous scheduler, or to the kernel default. Idempotent at the default. On the host, audited with its cause. */
  async rollback(
    kind: TargetKind,
    to: 'previous' | 'default',
    cause: RollbackCause = {},
  ): Promise<{ status: TargetStatus; from: Deployment | null; to: Deployment | null; changed: boolean }> {
    if (kind !== 'host' || !this.opts.allowHost) return this.rollbackOn(kind, to);
    await this.backend('host', true); // adopts what an earlier server left deployed
    const from = this.targets.host.current;
    const audit = (e: Partial<Extract<AuditEvent, { event: 'rollback' }>>) => {
      try {
        appendAudit(
          {
            event: 'rollback',
            target: 'host',
            trigger: cause.trigger ?? 'tool',
            reason: cause.reason ?? null,
            from: from?.name ?? null,
            to: null,
            changed: false,
            outcome: 'ok',
            ...e,
          },
          cause.actor ?? OPERATOR,
        );
      } catch (err) {
        // a rollback is the safe direction: it is not undone because the log cannot be written
        console.error(`[scx-mcp] audit: ${(err as Error).message}`);
      }
    };
    const loader: LoaderNote = {};
    try {
      const r = await this.rollbackOn(kind, to, loader);
      audit({ to: r.to?.name ?? null, changed: r.changed, ...(loader.audit ? { scxLoader: loader.audit } : {}) });
      return r;
    } catch (e) {
      audit({ changed: true, outcome: 'failed', error: (e as Error).message, ...(loader.audit ? { scxLoader: loader.audit } : {}) });
      throw e;
    }
  }

  private async rollbackOn(
    kind: TargetKind,
    to: 'previous' | 'default',
    loader: LoaderNote = {},
  ): Promise<{ status: TargetStatus; from: Deployment | null; to: Deployment | null; changed: boolean; scxLoader?: ScxLoaderAudit }> {
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
    } else if (t.displaced) {
      // the bottom of the stack: what scx_loader ran before our first deploy
      const d = t.displaced;
      t.displaced = null;
      if (kind === 'host') hostDisplacedRecord.write(null);
      const back = await this.restoreLoader(kind, b, d);
      loader.audit = back.audit;
      if (back.audit.action !== 'restored') throw new ScxError('BAD_INPUT', `rolled back to the kernel default: ${back.audit.error}`);
    }
    return { status: await this.status(kind), from, to: t.current, changed: true, ...(loader.audit ? { scxLoader: loader.audit } : {}) };
  }

  /** How long scx_loader's scheduler may take to stop or attach: loading under emulation is slow (the verifier budget plus a minute). */
  private loaderWaitS(b: Target): number {
    return b instanceof SandboxBackend ? verifyBudgetS(b.session.accel.accel, b.session.opts) + 60 : 120;
  }

  /** Ask scx_loader to run `d` again; never throws (the outcome is in the audit note). */
  private async restoreLoader(kind: TargetKind, b: Target, d: DisplacedScxLoader): Promise<{ audit: ScxLoaderAudit }> {
    const base = { scheduler: d.scheduler, mode: d.mode, args: d.args };
    try {
      await restoreScxLoader(b, d, this.loaderWaitS(b));
      return { audit: { action: 'restored', ...base } };
    } catch (e) {
      return {
        audit: { action: 'restore_failed', ...base, error: `asking scx_loader on ${kind} to run ${d.scheduler} again failed: ${(e as Error).message}` },
      };
    }
  }

  /** Run a command on a target (the sandbox VM, or the host when allowed: as the invoking user, audited). */
  async run(kind: TargetKind, command: string, timeoutS: number, actor: Actor = OPERATOR) {
    const b = await this.backend(kind, true);
    return b!.exec(command, { timeoutS, as: 'user', actor, purpose: 'command' });
  }

  /**
   * The target itself, for commands through its exec (the monitor's samples and probe): undefined
   * when it is not open (a sandbox VM that is not running, or died) and `start` is false.
   */
  async target(kind: TargetKind, start = false): Promise<Target | undefined> {
    return this.backend(kind, start);
  }

  private sandboxDeathText(): string {
    const d = this.sandboxDeath;
    if (!d) return 'sandbox VM starts on first deploy';
    const how = d.panic
      ? `${d.panic}${d.emulator ? ": the emulator's own fault, not the scheduler's" : ''}`
      : 'no panic on its console: it froze or was killed';
    const under = `${d.deployed ?? 'the kernel default'}${d.loading ? `, while ${d.loading} loaded` : ''}`;
    return `the sandbox VM died at ${d.at} under ${under} (${how}); a fresh one starts on the next deploy`;
  }

  /** How the sandbox VM last died, if it did (noticed when the target was next asked for). */
  lastSandboxDeath(): SandboxDeath | null {
    return this.sandboxDeath;
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
   * with the server is its monitor (core/monitor/): the host runs without one until a server
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
