/**
 * The monitor's rules, pure: what it may be configured with, the metrics it derives from two raw
 * samples, and the hysteresis that turns "worse than baseline" into an alert or a regression
 * (see monitor.ts for how they are used).
 */
import { z } from 'zod';
import { Fingerprint } from '../model/fingerprint.js';

export const METRICS = [
  'psi_cpu_some_pct',
  'psi_io_some_pct',
  'psi_memory_some_pct',
  'runq_wait_ms_per_s',
  'ctxsw_per_s',
  'scx_events_per_s',
  'probe',
] as const;
export const MetricName = z.enum(METRICS);
export type MetricName = z.infer<typeof MetricName>;

export const MonitorRule = z
  .object({
    metric: MetricName,
    alertPct: z.number().positive().max(10_000).default(50).describe('alert when worse than baseline by this many %'),
    rollbackPct: z.number().positive().max(10_000).default(150).describe('roll back when worse by this many % for `window` samples in a row'),
    window: z.number().int().min(1).max(60).default(3),
    action: z.enum(['rollback', 'alert']).default('rollback').describe('"alert": never roll back on this metric, only alert'),
  })
  .refine((r) => r.rollbackPct >= r.alertPct, 'rollbackPct must be >= alertPct');
export type MonitorRule = z.infer<typeof MonitorRule>;

export const MonitorConfig = z.object({
  intervalMs: z.number().int().min(200).max(60_000).default(1000),
  baselineSamples: z.number().int().min(2).max(60).default(4),
  // By default system metrics only alert: the baseline is whatever ran before the switch, often an
  // idle machine, and the workload an agent starts after deploying would look like a regression.
  // Automatic performance rollbacks come from a probe rule (an SLO), or rules given with action "rollback".
  rules: z.array(MonitorRule).default([{ metric: 'runq_wait_ms_per_s', alertPct: 100, rollbackPct: 400, window: 5, action: 'alert' }]),
  probe: z
    .object({
      command: z.string().min(1).max(4096).describe('prints a number (its last number is taken), e.g. a request latency or a benchmark time'),
      timeoutS: z.number().positive().max(600).default(30),
      better: z.enum(['lower', 'higher']).default('lower'),
      maxFailures: z
        .number()
        .int()
        .min(1)
        .max(60)
        .default(3)
        .describe('the probe failing (non-zero exit, no number, time-out) this many samples in a row under the new scheduler is a regression'),
    })
    .optional(),
  hook: z
    .string()
    .max(4096)
    .optional()
    .describe(
      'host command run on every alert/regression/rollback, with the event as JSON in $SCX_MONITOR_EVENT (e.g. one that starts an agent); set by the operator (scx-mcp serve --monitor-hook, scx-mcp monitor --config), never by an MCP client',
    ),
  rollbackTo: z.enum(['previous', 'default']).default('previous'),
  workload: z
    .object({
      name: z.string().min(1).max(200),
      fingerprint: Fingerprint.optional(),
    })
    .optional()
    .describe(
      "the workload being watched (name, and the fingerprint from profile_workload): a rollback's negative record carries it, so search learns which workloads this scheduler hurts",
    ),
});
export type MonitorConfig = z.infer<typeof MonitorConfig>;

export const MonitorEvent = z.object({
  at: z.string(),
  kind: z.enum([
    'baseline',
    'deployed',
    'sample',
    'alert',
    'alert_cleared',
    'regression',
    'scheduler_exit',
    'rollback',
    'probe_failed',
    'vm_died',
    'stopped',
    'error',
  ]),
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
  events: z
    .record(z.string(), z.number())
    .describe('sched_ext event counters at the last sample (/sys/kernel/sched_ext/root/events), e.g. SCX_EV_SELECT_CPU_FALLBACK'),
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

/** Why the monitor rolls a scheduler back: the kernel ejected it, a rule's regression, or the SLO probe failing. */
export type MonitorRollbackTrigger = 'ejection' | 'monitor_rule' | 'monitor_probe';

/** What ended a monitored deployment, for its negative record: a rollback's trigger, or the sandbox VM dying under it. */
export type MonitorEndTrigger = MonitorRollbackTrigger | 'vm_died';

/**
 * What the end of a monitored deployment says about the scheduler, for the library's history: the
 * kernel ejecting it (a stall, scx_bpf_error) or the sandbox VM dying under it is a failure; a
 * rule's or the probe's regression is a regression.
 */
export function rollbackOutcome(trigger: MonitorEndTrigger): 'failed' | 'regressed' {
  return trigger === 'ejection' || trigger === 'vm_died' ? 'failed' : 'regressed';
}
