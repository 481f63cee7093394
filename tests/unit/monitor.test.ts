import { describe, expect, it } from 'vitest';
import { MonitorConfig, MonitorRule, RuleTracker, rates, rollbackOutcome, worsePct } from '../../core/monitor/rules.js';
import { parseSample, probeValue } from '../../core/monitor/sampler.js';

describe('monitor rules', () => {
  const rule = MonitorRule.parse({ metric: 'probe', alertPct: 30, rollbackPct: 60, window: 3 });

  it('alerts on degradation, rolls back only after a full window over the limit', () => {
    const t = new RuleTracker(rule);
    expect(t.feed(10)).toBeNull();
    expect(t.feed(40)).toBe('alert');
    expect(t.feed(70)).toBeNull();
    expect(t.feed(70)).toBeNull();
    expect(t.feed(70)).toBe('regression');
  });

  it('an alert-only rule (the default run-queue rule) alerts but never rolls back', () => {
    const def = MonitorConfig.parse({}).rules;
    expect(def).toEqual([expect.objectContaining({ metric: 'runq_wait_ms_per_s', action: 'alert' })]);
    const t = new RuleTracker(def[0]!);
    const changes = [500, 900, 900, 900, 900, 900, 900, 900].map((p) => t.feed(p));
    expect(changes).toContain('alert');
    expect(changes).not.toContain('regression');
  });

  it('a noisy run with single spikes never rolls back', () => {
    const t = new RuleTracker(rule);
    const noisy = [5, 80, -10, 90, 20, 75, 0, 65, 10, 100, 15];
    expect(noisy.map((p) => t.feed(p)).filter((x) => x === 'regression')).toEqual([]);
  });

  it('clears an alert only after the window is clearly below the alert level (hysteresis)', () => {
    const t = new RuleTracker(rule);
    t.feed(40);
    expect(t.alerting).toBe(true);
    expect(t.feed(29)).toBeNull(); // below 30 but not below 24: still alerting
    expect(t.feed(10)).toBeNull();
    expect(t.feed(10)).toBeNull();
    expect(t.feed(10)).toBe('alert_cleared');
  });

  it('measures "worse" in the right direction, with floors against near-zero baselines', () => {
    expect(worsePct('probe', 2.0, 1.0, 'lower')).toBe(100);
    expect(worsePct('probe', 500, 1000, 'higher')).toBe(50);
    expect(worsePct('runq_wait_ms_per_s', 3, 0.1)).toBeCloseTo(58, 0); // floor 5 ms/s
  });

  it('rejects bad configuration clearly', () => {
    expect(() => MonitorConfig.parse({ rules: [{ metric: 'latency_p99' }] })).toThrow(/Invalid option|expected one of/);
    expect(() => MonitorConfig.parse({ rules: [{ metric: 'probe', alertPct: 90, rollbackPct: 50 }] })).toThrow(/rollbackPct must be >= alertPct/);
  });
});

describe('samples', () => {
  it('parses the guest sample script output and turns two samples into rates', () => {
    const a = parseSample('state=enabled\nops=fifo\nt=10.0\npsi=1000000\nrunq_wait=2000000000\nctxt=1000\n', 0);
    const b = parseSample('state=enabled\nops=fifo\nt=12.0\npsi=1500000\nrunq_wait=2500000000\nctxt=3000\n', 2000);
    expect(a).toMatchObject({ state: 'enabled', ops: 'fifo', psiCpuSomeUs: 1_000_000, runqWaitNs: 2e9, ctxt: 1000 });
    expect(rates(a, b)).toEqual({ runq_wait_ms_per_s: 250, ctxsw_per_s: 1000, psi_cpu_some_pct: 25 });
  });
  it('reads PSI io and memory and the sched_ext event counters; events become one rate without the bypass duration', () => {
    const a = parseSample(
      'state=enabled\nops=x\npsi=0\npsi_io=1000000\npsi_memory=0\nev.SCX_EV_SELECT_CPU_FALLBACK=10\nev.SCX_EV_BYPASS_DURATION=999999\nev.SCX_EV_ENQ_SKIP_EXITING=1\nrunq_wait=0\nctxt=0\n',
      0,
    );
    const b = parseSample(
      'state=enabled\nops=x\npsi=0\npsi_io=1500000\npsi_memory=200000\nev.SCX_EV_SELECT_CPU_FALLBACK=30\nev.SCX_EV_BYPASS_DURATION=5999999\nev.SCX_EV_ENQ_SKIP_EXITING=1\nctxt=0\n',
      1000,
    );
    expect(a.events).toEqual({ SCX_EV_SELECT_CPU_FALLBACK: 10, SCX_EV_BYPASS_DURATION: 999999, SCX_EV_ENQ_SKIP_EXITING: 1 });
    expect(rates(a, b)).toMatchObject({ psi_io_some_pct: 50, psi_memory_some_pct: 20, scx_events_per_s: 20 });
    // no sched_ext scheduler (no events file): no event rate
    expect(rates(parseSample('state=disabled\n', 0), parseSample('state=disabled\n', 1000)).scx_events_per_s).toBeUndefined();
    expect(worsePct('psi_io_some_pct', 3, 0)).toBeCloseTo(300); // floor 1 %
  });
  it('takes the last number a probe prints', () => {
    expect(probeValue('Running in process mode\nTime: 1.234\n')).toBe(1.234);
    expect(probeValue('no numbers here')).toBeNull();
  });
  it('records a rollback by its trigger, not by its message: an ejection or the VM dying failed, a rule or the probe regressed', () => {
    expect(rollbackOutcome('ejection')).toBe('failed');
    expect(rollbackOutcome('vm_died')).toBe('failed');
    expect(rollbackOutcome('monitor_rule')).toBe('regressed');
    expect(rollbackOutcome('monitor_probe')).toBe('regressed');
  });
});
