/**
 * The monitor: watches a target after a deploy and rolls back on regression.
 *
 * Before the switch it samples a baseline (under whatever ran before); after it,
 * it samples every interval: sched_ext state and its event counters, PSI cpu, io and
 * memory, run-queue wait (/proc/schedstat), context switches (/proc/stat), and an
 * optional user SLO probe (a command printing a number). Rules compare each metric with the baseline's
 * median over a window of samples, with hysteresis:
 *   - above `alertPct`  → alert (an event, a notification; nothing changes)
 *   - above `rollbackPct` for `window` samples in a row → regression → rollback (rules with
 *     action "alert", like the default run-queue rule, only alert)
 *   - the scheduler leaves the kernel (stall, scx_bpf_error) → rollback at once
 *   - the probe (which worked under the baseline) fails `probe.maxFailures` times in a
 *     row → regression → rollback (a scheduler that starves the probe must not blind the monitor)
 *   - the sandbox VM dies under the scheduler (a guest panic, or killed frozen) → the watch ends
 *     (there is nothing left to roll back), unless the panic is the emulator's own (kmsg.ts emulatorPanic)
 * Every rollback, and every such death, is recorded as a negative result, so search and memory learn.
 * Samples, the probe and the kernel log are read through the target's exec (Target.exec); in the
 * sandbox over the VM's own monitor channel, so they continue during a workload.
 *
 * This file runs the loop; rules.ts holds the configuration and the pure rules (metrics from two
 * samples, hysteresis), sampler.ts the readings (the sample script, its parser, the probe).
 */
import { execa } from 'execa';
import { ScxError } from '../errors.js';
import type { TargetKind } from '../model/target.js';
import type { JobHints, TargetManager } from '../targets/manager.js';
import { appendAudit, OPERATOR, type Actor } from '../targets/audit.js';
import { schedulerExit } from '../targets/kernel-log.js';
import type { Target } from '../targets/types.js';
import { median } from '../model/stats.js';
import {
  RuleTracker,
  rates,
  rollbackOutcome,
  worsePct,
  type MonitorConfig,
  type MonitorEndTrigger,
  type MonitorRollbackTrigger,
  type MonitorEvent,
  type MonitorStatus,
  type RawSample,
} from './rules.js';
import { readSample } from './sampler.js';

export interface MonitorHooks {
  onEvent?: (e: MonitorEvent, status: MonitorStatus) => void;
  /** Record the outcome of a rollback (a negative result) in the library. */
  recordNegative?: (info: {
    buildId: string;
    reason: string;
    outcome: 'failed' | 'regressed';
    trigger: MonitorEndTrigger;
    metrics: Record<string, number>;
    baseline: Record<string, number>;
  }) => Promise<void>;
  /** Who deployed (the audit log names them beside the monitor's own rollbacks). */
  actor?: Actor;
}

export class Monitor {
  private timer?: NodeJS.Timeout;
  private prev?: RawSample;
  private baseline: Record<string, number> = {};
  private last: Record<string, number> | null = null;
  private readonly trackers: RuleTracker[];
  private readonly timeline: MonitorEvent[] = [];
  private running = false;
  private rolledBack = false;
  private busy = false;
  private probeFailures = 0;
  private buildId: string | null = null;
  private scheduler: string | null = null;
  private readonly t0 = performance.now();

  constructor(
    readonly target: TargetKind,
    readonly targets: TargetManager,
    readonly config: MonitorConfig,
    readonly hooks: MonitorHooks = {},
  ) {
    this.trackers = config.rules.map((r) => new RuleTracker(r));
    if (config.rules.some((r) => r.metric === 'probe') && !config.probe) {
      throw new ScxError('BAD_INPUT', 'a rule uses the "probe" metric but no probe command is configured', 'add monitor.probe.command, or drop the probe rule');
    }
  }

  status(): MonitorStatus {
    return {
      target: this.target,
      running: this.running,
      buildId: this.buildId,
      scheduler: this.scheduler,
      baseline: this.baseline,
      last: this.last,
      alerts: this.trackers.filter((t) => t.alerting).map((t) => t.rule.metric),
      events: this.prev?.events ?? {},
      rolledBack: this.rolledBack,
      timeline: this.timeline.slice(-200),
    };
  }

  private emit(kind: MonitorEvent['kind'], message: string, metrics?: Record<string, number>): void {
    const e: MonitorEvent = { at: new Date().toISOString(), kind, message, ...(metrics ? { metrics } : {}) };
    this.timeline.push(e);
    this.hooks.onEvent?.(e, this.status());
    if (this.config.hook && kind !== 'sample' && kind !== 'baseline') {
      // the operator's own command (never an MCP client's): it runs as the server's user; audited when the server may touch the host
      if (this.targets.opts.allowHost) {
        try {
          appendAudit(
            {
              event: 'host_command',
              purpose: 'monitor_hook',
              command: this.config.hook,
              uid: process.getuid?.() ?? -1,
              gid: process.getgid?.() ?? -1,
              user: null,
              trigger: `${this.target} ${kind}`,
            },
            OPERATOR,
          );
        } catch (err) {
          console.error(`[scx-mcp] audit: ${(err as Error).message}`);
        }
      }
      execa('sh', ['-c', this.config.hook], {
        env: { SCX_MONITOR_EVENT: JSON.stringify({ target: this.target, ...e }) },
        reject: false,
        timeout: 60_000,
      }).catch(() => {});
    }
  }

  /** The target, open (the sandbox VM may have died meanwhile). */
  private async open(): Promise<Target> {
    const t = await this.targets.target(this.target);
    if (!t) throw new ScxError('VM_CRASHED', this.target === 'sandbox' ? 'the sandbox VM is gone' : 'the host target is not open');
    return t;
  }

  private async read(): Promise<RawSample> {
    return readSample(await this.open(), this.config.probe, this.actor, performance.now() - this.t0);
  }

  /** Baseline under what runs now, then deploy, then watch. Bad configuration or a failing probe: refuse, target untouched. */
  async deployAndWatch(buildId: string, opts: { hints?: JobHints } = {}): Promise<MonitorStatus> {
    this.targets.checkHostAllowed(this.target);
    await this.targets.deployable(buildId); // refuse before spending time on a baseline
    // make sure the target exists and may be used (starting the sandbox VM if needed; the host only
    // with --allow-host) before anything, samples and probes included, runs on it
    await this.targets.open(this.target);
    if (this.target === 'host' && this.config.probe) {
      // whom the probe runs as is decided (or refused) and audited before it first runs
      this.targets.hostCommands.prepare(this.config.probe.command, {
        actor: this.actor,
        purpose: 'monitor_probe',
        repeat: `every ${this.config.intervalMs} ms while the monitor runs`,
      });
    }
    const samples: RawSample[] = [];
    for (let i = 0; i <= this.config.baselineSamples; i++) {
      const s = await this.read();
      if (this.config.probe && s.probe === null) {
        throw new ScxError(
          'BAD_INPUT',
          `the SLO probe does not work: ${s.probeError}`,
          'fix the probe command (it must exit 0 and print a number within its timeout); nothing was deployed',
        );
      }
      samples.push(s);
      if (i < this.config.baselineSamples) await new Promise((r) => setTimeout(r, this.config.intervalMs));
    }
    const perMetric = new Map<string, number[]>();
    for (let i = 1; i < samples.length; i++) {
      for (const [k, v] of Object.entries(rates(samples[i - 1]!, samples[i]!))) perMetric.set(k, [...(perMetric.get(k) ?? []), v]);
    }
    this.baseline = Object.fromEntries([...perMetric].map(([k, vs]) => [k, median(vs)]));
    this.emit('baseline', `baseline over ${samples.length - 1} samples`, this.baseline);

    const r = await this.targets.deploy(buildId, this.target, { ...opts, actor: this.actor });
    this.buildId = buildId;
    this.scheduler = r.status.current?.name ?? null;
    this.emit('deployed', `${this.scheduler} deployed; watching every ${this.config.intervalMs} ms`);
    this.running = true;
    this.prev = await this.read();
    this.timer = setInterval(() => void this.tick(), this.config.intervalMs);
    return this.status();
  }

  private async tick(): Promise<void> {
    if (!this.running || this.busy) return;
    this.busy = true;
    try {
      const cur = await this.read();
      if (!this.running) return;
      const m = rates(this.prev!, cur) as Record<string, number>;
      this.prev = cur;
      this.last = m;
      this.emit('sample', 'sample', m);
      if (cur.state !== 'enabled' || (this.scheduler && cur.ops !== this.scheduler)) {
        let why = `the scheduler is no longer running (sched_ext state ${cur.state})`;
        const t = await this.targets.target(this.target);
        const exit = t && this.scheduler ? await schedulerExit(t, this.scheduler).catch(() => null) : null;
        if (exit) why = `the kernel disabled ${exit.scheduler}: ${exit.reason}${exit.message ? ` (${exit.message.split('\n')[0]})` : ''}`;
        this.emit('scheduler_exit', why);
        await this.rollback(why, m, 'ejection');
        return;
      }
      if (cur.probeError) {
        this.probeFailures++;
        const limit = this.config.probe?.maxFailures ?? 3;
        this.emit('probe_failed', `${cur.probeError} (${this.probeFailures} in a row; limit ${limit})`);
        if (this.probeFailures >= limit) {
          const why = `the SLO probe failed ${this.probeFailures} times in a row under ${this.scheduler} (it worked under the baseline): ${cur.probeError}`;
          this.emit('regression', why, m);
          await this.rollback(why, m, 'monitor_probe');
          return;
        }
      } else {
        this.probeFailures = 0;
      }
      // the other rules still count while the probe fails
      for (const t of this.trackers) {
        const v = m[t.rule.metric];
        const b = this.baseline[t.rule.metric];
        if (v === undefined || b === undefined) continue;
        const pct = worsePct(t.rule.metric, v, b, this.config.probe?.better);
        const change = t.feed(pct);
        if (change === 'regression') {
          const why = `${t.rule.metric} ${pct.toFixed(0)} % worse than baseline for ${t.rule.window} samples (limit ${t.rule.rollbackPct} %)`;
          this.emit('regression', why, m);
          await this.rollback(why, m, 'monitor_rule');
          return;
        }
        if (change === 'alert') this.emit('alert', `${t.rule.metric} ${pct.toFixed(0)} % worse than baseline (alert at ${t.rule.alertPct} %)`, m);
        if (change === 'alert_cleared') this.emit('alert_cleared', `${t.rule.metric} back near baseline`, m);
      }
    } catch (e) {
      if (this.target === 'sandbox' && !(await this.targets.target('sandbox'))) await this.vmDied();
      else this.emit('error', `sampling failed: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** The sandbox VM died under the deployment: the watch ends, recorded against the scheduler unless the emulator did it. */
  private async vmDied(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    const d = this.targets.lastSandboxDeath();
    if (d?.emulator) {
      this.emit(
        'vm_died',
        `the sandbox VM died under ${this.scheduler} of the emulator's own fault (${d.panic}), not the scheduler's; nothing recorded against it: deploy it again to watch it in a fresh VM`,
      );
      return;
    }
    const how = d?.panic ? `the guest kernel panicked: ${d.panic}` : 'it froze or was killed (no panic on its console)';
    const why = `the sandbox VM died under ${this.scheduler}: ${how}`;
    this.emit('vm_died', why);
    await this.recordEnd(why, this.last ?? {}, 'vm_died');
  }

  private get actor(): Actor {
    return this.hooks.actor ?? OPERATOR;
  }

  private async rollback(reason: string, metrics: Record<string, number>, trigger: MonitorRollbackTrigger): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    try {
      const r = await this.targets.rollback(this.target, this.config.rollbackTo, { actor: this.actor, trigger, reason });
      this.rolledBack = true;
      this.emit('rollback', `rolled back to ${r.to?.name ?? 'the kernel default'}: ${reason}`);
    } catch (e) {
      this.emit('error', `rollback failed: ${(e as Error).message}`);
    }
    await this.recordEnd(reason, metrics, trigger);
  }

  /** The deployment's end as a negative result in the library (hooks.recordNegative). */
  private async recordEnd(reason: string, metrics: Record<string, number>, trigger: MonitorEndTrigger): Promise<void> {
    if (!this.buildId || !this.hooks.recordNegative) return;
    await this.hooks
      .recordNegative({ buildId: this.buildId, reason, outcome: rollbackOutcome(trigger), trigger, metrics, baseline: this.baseline })
      .catch((e) => this.emit('error', `recording the result failed: ${(e as Error).message}`));
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    this.emit('stopped', 'monitoring stopped');
  }
}
