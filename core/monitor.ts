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
 * Every rollback is recorded as a negative result, so search and memory learn.
 * Samples go over the VM's own monitor channel, so they continue during a workload.
 */
import { execa } from 'execa';
import { z } from 'zod';
import { ScxError } from './errors.js';
import { Fingerprint } from './model/fingerprint.js';
import type { TargetKind } from './model/target.js';
import { hostSchedExtSysfs, type JobHints, type TargetManager } from './targets.js';
import { appendAudit, OPERATOR, type Actor, type RollbackTrigger } from './targets/audit.js';
import { shellQuote } from './targets/run-as.js';
import { median } from './model/stats.js';

export const METRICS = ['psi_cpu_some_pct', 'psi_io_some_pct', 'psi_memory_some_pct', 'runq_wait_ms_per_s', 'ctxsw_per_s', 'scx_events_per_s', 'probe'] as const;
export const MetricName = z.enum(METRICS);
export type MetricName = z.infer<typeof MetricName>;

export const MonitorRule = z.object({
  metric: MetricName,
  alertPct: z.number().positive().max(10_000).default(50).describe('alert when worse than baseline by this many %'),
  rollbackPct: z.number().positive().max(10_000).default(150).describe('roll back when worse by this many % for `window` samples in a row'),
  window: z.number().int().min(1).max(60).default(3),
  action: z.enum(['rollback', 'alert']).default('rollback').describe('"alert": never roll back on this metric, only alert'),
}).refine((r) => r.rollbackPct >= r.alertPct, 'rollbackPct must be >= alertPct');
export type MonitorRule = z.infer<typeof MonitorRule>;

export const MonitorConfig = z.object({
  intervalMs: z.number().int().min(200).max(60_000).default(1000),
  baselineSamples: z.number().int().min(2).max(60).default(4),
  // By default system metrics only alert: the baseline is whatever ran before the switch, often an
  // idle machine, and the workload an agent starts after deploying would look like a regression.
  // Automatic performance rollbacks come from a probe rule (an SLO), or rules given with action "rollback".
  rules: z.array(MonitorRule).default([{ metric: 'runq_wait_ms_per_s', alertPct: 100, rollbackPct: 400, window: 5, action: 'alert' }]),
  probe: z.object({
    command: z.string().min(1).max(4096).describe('prints a number (its last number is taken), e.g. a request latency or a benchmark time'),
    timeoutS: z.number().positive().max(600).default(30),
    better: z.enum(['lower', 'higher']).default('lower'),
    maxFailures: z.number().int().min(1).max(60).default(3).describe('the probe failing (non-zero exit, no number, time-out) this many samples in a row under the new scheduler is a regression'),
  }).optional(),
  hook: z.string().max(4096).optional().describe('host command run on every alert/regression/rollback, with the event as JSON in $SCX_MONITOR_EVENT (e.g. one that starts an agent); set by the operator (scx-mcp serve --monitor-hook, scx-mcp monitor --config), never by an MCP client'),
  rollbackTo: z.enum(['previous', 'default']).default('previous'),
  workload: z.object({
    name: z.string().min(1).max(200),
    fingerprint: Fingerprint.optional(),
  }).optional().describe('the workload being watched (name, and the fingerprint from profile_workload): a rollback\'s negative record carries it, so search learns which workloads this scheduler hurts'),
});
export type MonitorConfig = z.infer<typeof MonitorConfig>;

export const MonitorEvent = z.object({
  at: z.string(),
  kind: z.enum(['baseline', 'deployed', 'sample', 'alert', 'alert_cleared', 'regression', 'scheduler_exit', 'rollback', 'probe_failed', 'stopped', 'error']),
  message: z.string(),
  metrics: z.record(z.string(), z.number()).optional(),
});
export type MonitorEvent = z.infer<typeof MonitorEvent>;

export const MonitorStatus = z.object({
  target: z.enum(['sandbox', 'host']),
  running: z.boolean(),
  buildId: z.string().nullable(),
  scheduler: z.string().nullable(),
  baseline: z.record(z.string(), z.number()),
  last: z.record(z.string(), z.number()).nullable(),
  alerts: z.array(z.string()).describe('metrics currently in alert'),
  events: z.record(z.string(), z.number()).describe('sched_ext event counters at the last sample (/sys/kernel/sched_ext/root/events), e.g. SCX_EV_SELECT_CPU_FALLBACK'),
  rolledBack: z.boolean(),
  timeline: z.array(MonitorEvent),
});
export type MonitorStatus = z.infer<typeof MonitorStatus>;

/** One raw reading of the counters; rates come from two of them. */
export interface RawSample {
  tMs: number;
  state: string;
  ops: string | null;
  psiCpuSomeUs: number | null;
  psiIoSomeUs: number | null;
  psiMemorySomeUs: number | null;
  /** sched_ext event counters (cumulative), when a scheduler is loaded and the kernel has them. */
  events: Record<string, number>;
  runqWaitNs: number;
  ctxt: number;
  probe: number | null;
  probeError?: string;
}

export const SAMPLE_SCRIPT = `echo "state=$(cat /sys/kernel/sched_ext/state 2>/dev/null)"
echo "ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)"
echo "t=$(cat /proc/uptime | cut -d' ' -f1)"
sed -n 's/^some .*total=\\([0-9]*\\).*/psi=\\1/p' /proc/pressure/cpu 2>/dev/null
sed -n 's/^some .*total=\\([0-9]*\\).*/psi_io=\\1/p' /proc/pressure/io 2>/dev/null
sed -n 's/^some .*total=\\([0-9]*\\).*/psi_memory=\\1/p' /proc/pressure/memory 2>/dev/null
awk '/^SCX_EV_/ { print "ev." $1 "=" $2 }' /sys/kernel/sched_ext/root/events 2>/dev/null
awk '/^cpu[0-9]/ { w += $9 } END { print "runq_wait=" w }' /proc/schedstat
awk '/^ctxt/ { print "ctxt=" $2 }' /proc/stat`;

export function parseSample(text: string, tMs: number): RawSample {
  const kv = new Map<string, string>();
  for (const l of text.split('\n')) {
    const m = /^([\w.]+)=(.*)$/.exec(l.trim());
    if (m) kv.set(m[1]!, m[2]!);
  }
  const num = (k: string) => (kv.get(k) ? Number(kv.get(k)) : null);
  const events: Record<string, number> = {};
  for (const [k, v] of kv) if (k.startsWith('ev.') && Number.isFinite(Number(v))) events[k.slice(3)] = Number(v);
  return {
    tMs, state: kv.get('state') || 'unknown', ops: kv.get('ops') || null,
    psiCpuSomeUs: num('psi'), psiIoSomeUs: num('psi_io'), psiMemorySomeUs: num('psi_memory'), events,
    runqWaitNs: num('runq_wait') ?? 0, ctxt: num('ctxt') ?? 0, probe: null,
  };
}

/** The last number a probe printed ("Time: 1.23" → 1.23). */
export function probeValue(stdout: string): number | null {
  const nums = stdout.match(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi);
  return nums ? Number(nums[nums.length - 1]) : null;
}

/** Metric values from two consecutive samples. */
export function rates(prev: RawSample, cur: RawSample): Partial<Record<MetricName, number>> {
  const dt = Math.max(1, cur.tMs - prev.tMs) / 1000;
  const out: Partial<Record<MetricName, number>> = {
    runq_wait_ms_per_s: Math.max(0, cur.runqWaitNs - prev.runqWaitNs) / 1e6 / dt,
    ctxsw_per_s: Math.max(0, cur.ctxt - prev.ctxt) / dt,
  };
  const psi = (a: number | null, b: number | null) => (a !== null && b !== null ? (Math.max(0, b - a) / 1e6 / dt) * 100 : undefined);
  const cpu = psi(prev.psiCpuSomeUs, cur.psiCpuSomeUs);
  const io = psi(prev.psiIoSomeUs, cur.psiIoSomeUs);
  const mem = psi(prev.psiMemorySomeUs, cur.psiMemorySomeUs);
  if (cpu !== undefined) out.psi_cpu_some_pct = cpu;
  if (io !== undefined) out.psi_io_some_pct = io;
  if (mem !== undefined) out.psi_memory_some_pct = mem;
  // sched_ext's own counters of unusual events (fallbacks, bypass, skipped enqueues), as one rate;
  // SCX_EV_BYPASS_DURATION is a time, not a count
  const counted = Object.keys(cur.events).filter((k) => !k.endsWith('_DURATION') && k in prev.events);
  if (counted.length) out.scx_events_per_s = counted.reduce((a, k) => a + Math.max(0, cur.events[k]! - prev.events[k]!), 0) / dt;
  if (cur.probe !== null) out.probe = cur.probe;
  return out;
}

/** How much worse than baseline, in % (positive = worse). */
export function worsePct(metric: MetricName, value: number, base: number, probeBetter: 'lower' | 'higher' = 'lower'): number {
  const floor = metric === 'probe' ? 1e-9 : metric.startsWith('psi_') ? 1 : metric === 'runq_wait_ms_per_s' ? 5 : 50;
  const b = Math.max(Math.abs(base), floor); // a near-zero baseline must not turn noise into +10000 %
  const higherIsWorse = metric !== 'probe' || probeBetter === 'lower';
  return ((higherIsWorse ? value - base : base - value) / b) * 100;
}

/** Rule state machine: pure, for unit tests. */
export class RuleTracker {
  private over = 0;
  private calm = 0;
  alerting = false;
  constructor(readonly rule: MonitorRule) {}
  /** Feed one value's %-worse; returns what changed. */
  feed(pct: number): 'regression' | 'alert' | 'alert_cleared' | null {
    if (pct >= this.rule.rollbackPct) this.over++;
    else this.over = 0;
    if (this.over >= this.rule.window && this.rule.action === 'rollback') return 'regression';
    if (!this.alerting && pct >= this.rule.alertPct) {
      this.alerting = true;
      this.calm = 0;
      return 'alert';
    }
    if (this.alerting) {
      // hysteresis: clear only after `window` samples clearly below the alert level
      this.calm = pct < this.rule.alertPct * 0.8 ? this.calm + 1 : 0;
      if (this.calm >= this.rule.window) {
        this.alerting = false;
        return 'alert_cleared';
      }
    }
    return null;
  }
}

export interface MonitorHooks {
  onEvent?: (e: MonitorEvent, status: MonitorStatus) => void;
  /** Record the outcome of a rollback (a negative result) in the library. */
  recordNegative?: (info: { buildId: string; reason: string; metrics: Record<string, number>; baseline: Record<string, number> }) => Promise<void>;
  /** Who deployed (the audit log names them beside the monitor's own rollbacks). */
  actor?: Actor;
}

/** The sample script for the host: the same, reading sched_ext where the host backend reads it. */
export function hostSampleScript(sysfs = hostSchedExtSysfs()): string {
  return SAMPLE_SCRIPT.replaceAll('/sys/kernel/sched_ext', shellQuote(sysfs));
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

  constructor(readonly target: TargetKind, readonly targets: TargetManager, readonly config: MonitorConfig, readonly hooks: MonitorHooks = {}) {
    this.trackers = config.rules.map((r) => new RuleTracker(r));
    if (config.rules.some((r) => r.metric === 'probe') && !config.probe) {
      throw new ScxError('BAD_INPUT', 'a rule uses the "probe" metric but no probe command is configured', 'add monitor.probe.command, or drop the probe rule');
    }
  }

  status(): MonitorStatus {
    return {
      target: this.target, running: this.running, buildId: this.buildId, scheduler: this.scheduler, baseline: this.baseline, last: this.last,
      alerts: this.trackers.filter((t) => t.alerting).map((t) => t.rule.metric), events: this.prev?.events ?? {}, rolledBack: this.rolledBack, timeline: this.timeline.slice(-200),
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
          appendAudit({ event: 'host_command', purpose: 'monitor_hook', command: this.config.hook, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, user: null, trigger: `${this.target} ${kind}` }, OPERATOR);
        } catch (err) {
          console.error(`[scx-mcp] audit: ${(err as Error).message}`);
        }
      }
      execa('sh', ['-c', this.config.hook], { env: { SCX_MONITOR_EVENT: JSON.stringify({ target: this.target, ...e }) }, reject: false, timeout: 60_000 }).catch(() => {});
    }
  }

  private async read(): Promise<RawSample> {
    const tMs = performance.now() - this.t0;
    let text: string;
    if (this.target === 'sandbox') {
      const s = await this.targets.sandboxSession(false);
      if (!s) throw new ScxError('VM_CRASHED', 'the sandbox VM is gone');
      text = (await s.vm.run(SAMPLE_SCRIPT, { channel: 'monitor', timeoutMs: 90_000, what: 'monitor sample' })).stdout;
    } else {
      text = (await execa('sh', ['-c', hostSampleScript()], { reject: false })).stdout; // reading state: root's
    }
    const sample = parseSample(text, tMs);
    if (this.config.probe) {
      const p = this.config.probe;
      try {
        const out = this.target === 'sandbox'
          ? await (await this.targets.sandboxSession(false))!.vm.run(p.command, { channel: 'monitor', guestTimeoutS: Math.ceil(p.timeoutS), timeoutMs: p.timeoutS * 1000 + 90_000, what: 'monitor probe' })
          // a workload command: as the invoking user, never root (audited once, when the monitor starts)
          : await this.targets.hostCommands.run(p.command, { timeoutS: p.timeoutS, actor: this.actor, purpose: 'monitor_probe', audit: false });
        const v = out.exitCode === 0 ? probeValue(out.stdout) : null;
        if (v === null) sample.probeError = out.exitCode !== 0 ? `probe exited with status ${out.exitCode}${out.exitCode === 137 ? ` (killed after ${p.timeoutS} s)` : ''}` : 'probe printed no number';
        sample.probe = v;
      } catch (e) {
        sample.probeError = `probe failed: ${(e as Error).message}`;
      }
    }
    return sample;
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
      this.targets.hostCommands.prepare(this.config.probe.command, { actor: this.actor, purpose: 'monitor_probe', repeat: `every ${this.config.intervalMs} ms while the monitor runs` });
    }
    const samples: RawSample[] = [];
    for (let i = 0; i <= this.config.baselineSamples; i++) {
      const s = await this.read();
      if (this.config.probe && s.probe === null) {
        throw new ScxError('BAD_INPUT', `the SLO probe does not work: ${s.probeError}`, 'fix the probe command (it must exit 0 and print a number within its timeout); nothing was deployed');
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
        const s = this.target === 'sandbox' ? await this.targets.sandboxSession(false) : undefined;
        const exit = s ? (await s.kernelLog()).exits.filter((x) => x.scheduler === this.scheduler).at(-1) : undefined;
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
      this.emit('error', `sampling failed: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private get actor(): Actor {
    return this.hooks.actor ?? OPERATOR;
  }

  private async rollback(reason: string, metrics: Record<string, number>, trigger: RollbackTrigger): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    try {
      const r = await this.targets.rollback(this.target, this.config.rollbackTo, { actor: this.actor, trigger, reason });
      this.rolledBack = true;
      this.emit('rollback', `rolled back to ${r.to?.name ?? 'the kernel default'}: ${reason}`);
    } catch (e) {
      this.emit('error', `rollback failed: ${(e as Error).message}`);
    }
    if (this.buildId && this.hooks.recordNegative) {
      await this.hooks.recordNegative({ buildId: this.buildId, reason, metrics, baseline: this.baseline }).catch((e) => this.emit('error', `recording the result failed: ${(e as Error).message}`));
    }
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    this.emit('stopped', 'monitoring stopped');
  }
}
