/**
 * sched_ext's kernel messages, parsed: when a scheduler was enabled, and when
 * and why it was disabled (the exit reason the kernel prints).
 *
 *   sched_ext: BPF scheduler "fifo" enabled
 *   sched_ext: BPF scheduler "fifo" disabled (runnable task stall)
 *   sched_ext: fifo: <message, e.g. the watchdog's or scx_bpf_error's text>
 */
import { z } from 'zod';

export const ExitKind = z.enum(['unregistered', 'stall', 'error', 'bpf_error', 'sysrq', 'done', 'unknown']);
export type ExitKind = z.infer<typeof ExitKind>;

export const SchedulerExit = z.object({
  scheduler: z.string(),
  kind: ExitKind,
  reason: z.string().describe('the kernel\'s reason text, e.g. "runnable task stall"'),
  message: z.string().describe('the detail line(s) the kernel printed with it, if any'),
  atSeconds: z.number().nullable().describe('kernel timestamp of the disable message'),
});
export type SchedulerExit = z.infer<typeof SchedulerExit>;

export const SchedulerEnable = z.object({ scheduler: z.string(), atSeconds: z.number().nullable() });

/**
 * The kernel's exit reasons (scx_exit_reason()) mapped to a stable kind. A "runtime error" whose
 * message is RCU's CPU stall ("RCU CPU stall on CPUs …": RCU's detector noticed the stall before
 * sched_ext's watchdog did) is a stall too: the scheduler kept tasks from running.
 */
export function exitKindOf(reason: string, message = ''): ExitKind {
  if (/runnable task stall|watchdog/i.test(reason)) return 'stall';
  if (/runtime error/.test(reason) && /RCU CPU stall/.test(message)) return 'stall';
  if (/scx_bpf_error/.test(reason)) return 'bpf_error';
  if (/runtime error/.test(reason)) return 'error';
  if (/unregistered/.test(reason)) return 'unregistered';
  if (/sysrq/i.test(reason)) return 'sysrq';
  if (/^done$/.test(reason)) return 'done';
  return 'unknown';
}

const TS = String.raw`^(?:<\d+>)?(?:\[\s*(\d+\.\d+)\]\s*)?`;
const ENABLED = new RegExp(TS + String.raw`sched_ext: BPF scheduler "([^"]+)" enabled`);
const DISABLED = new RegExp(TS + String.raw`sched_ext: BPF scheduler "([^"]+)" disabled \((.*)\)\s*$`);

export function parseSchedExtKmsg(dmesg: string): { enabled: z.infer<typeof SchedulerEnable>[]; exits: SchedulerExit[] } {
  const lines = dmesg.split('\n');
  const enabled: z.infer<typeof SchedulerEnable>[] = [];
  const exits: SchedulerExit[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const en = ENABLED.exec(line);
    if (en) {
      enabled.push({ scheduler: en[2]!, atSeconds: en[1] ? Number(en[1]) : null });
      continue;
    }
    const dis = DISABLED.exec(line);
    if (!dis) continue;
    const name = dis[2]!;
    // Detail lines follow as "sched_ext: <name>: ..." (message, then possibly more).
    const detail: string[] = [];
    const detailRe = new RegExp(TS + String.raw`sched_ext: ` + escapeRe(name) + String.raw`: (.*)$`);
    for (let j = i + 1; j < Math.min(lines.length, i + 8); j++) {
      const d = detailRe.exec(lines[j]!);
      if (d) detail.push(d[2]!.trim());
    }
    const message = detail.join('\n');
    exits.push({ scheduler: name, kind: exitKindOf(dis[3]!, message), reason: dis[3]!, message, atSeconds: dis[1] ? Number(dis[1]) : null });
  }
  return { enabled, exits };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Only the lines that matter for scheduling (sched_ext, BPF, watchdog, oops), for the results. */
export function schedExtLines(dmesg: string): string {
  return dmesg.split('\n').filter((l) => /sched_ext|scx_|watchdog|stall|verifier|BUG:|Oops|WARNING:|Call Trace/.test(l)).join('\n');
}
