/**
 * The monitor's sampler: the script that reads sched_ext state, PSI, run-queue wait and context
 * switches on a target, the parser of its output, and the optional SLO probe. Both run through the
 * target's exec: the sample with the server's privileges, the probe as a workload command (on the
 * host as the invoking user). In the sandbox they go over the VM's own monitor channel, so they
 * continue during a workload.
 */
import type { Actor } from '../targets/audit.js';
import { shellQuote } from '../targets/run-as.js';
import type { Target } from '../targets/types.js';
import type { MonitorConfig, RawSample } from './rules.js';

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
    tMs,
    state: kv.get('state') || 'unknown',
    ops: kv.get('ops') || null,
    psiCpuSomeUs: num('psi'),
    psiIoSomeUs: num('psi_io'),
    psiMemorySomeUs: num('psi_memory'),
    events,
    runqWaitNs: num('runq_wait') ?? 0,
    ctxt: num('ctxt') ?? 0,
    probe: null,
  };
}

/** The last number a probe printed ("Time: 1.23" → 1.23). */
export function probeValue(stdout: string): number | null {
  const nums = stdout.match(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi);
  return nums ? Number(nums[nums.length - 1]) : null;
}

/** The sample script for a target whose sched_ext sysfs is at `sysfs` (the host's may be overridden). */
export function sampleScript(sysfs: string): string {
  return sysfs === '/sys/kernel/sched_ext' ? SAMPLE_SCRIPT : SAMPLE_SCRIPT.replaceAll('/sys/kernel/sched_ext', shellQuote(sysfs));
}

/**
 * One sample of `target` at `tMs` (ms since the monitor started), with the probe's value when one
 * is configured: the state with the server's privileges, the probe as a workload command (as the
 * invoking user on the host; audited once, when the monitor starts).
 */
export async function readSample(target: Target, probe: MonitorConfig['probe'], actor: Actor, tMs: number): Promise<RawSample> {
  const text = (await target.exec(sampleScript(target.schedExtSysfs), { as: 'server', timeoutS: 60, channel: 'monitor', what: 'monitor sample' })).stdout;
  const sample = parseSample(text, tMs);
  if (probe) {
    const p = probe;
    try {
      const out = await target.exec(p.command, {
        as: 'user',
        actor,
        purpose: 'monitor_probe',
        audit: false,
        timeoutS: p.timeoutS,
        channel: 'monitor',
        what: 'monitor probe',
      });
      const v = out.exitCode === 0 ? probeValue(out.stdout) : null;
      if (v === null)
        sample.probeError =
          out.exitCode !== 0
            ? `probe exited with status ${out.exitCode}${out.exitCode === 137 ? ` (killed after ${p.timeoutS} s)` : ''}`
            : 'probe printed no number';
      sample.probe = v;
    } catch (e) {
      sample.probeError = `probe failed: ${(e as Error).message}`;
    }
  }
  return sample;
}
