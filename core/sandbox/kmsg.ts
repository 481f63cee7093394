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
  return dmesg
    .split('\n')
    .filter((l) => /sched_ext|scx_|watchdog|stall|verifier|BUG:|Oops|WARNING:|Call Trace/.test(l))
    .join('\n');
}

/**
 * What a guest kernel panic says about its cause, in one line: the oops header
 * ("BUG: kernel NULL pointer dereference…", "general protection fault…", "kernel BUG at…"),
 * where it happened (RIP), the first frames of the call trace, and the panic line itself.
 * null when the console has no panic.
 */
export function panicSummary(console: string): string | null {
  const lines = console.split('\n').map((l) => l.replace(/^\[\s*\d+\.\d+\]\s*/, '').trim());
  const panicAt = lines.findIndex((l) => /^Kernel panic - /.test(l));
  if (panicAt < 0) return null;
  const before = lines.slice(0, panicAt);
  const lastOf = (re: RegExp): number => {
    for (let i = before.length - 1; i >= 0; i--) if (re.test(before[i]!)) return i;
    return -1;
  };
  const parts: string[] = [];
  const headRe = /^(BUG:|Oops:|general protection fault|kernel BUG at|WARNING:|Unable to handle|divide error|invalid opcode|stack segment|double fault)/;
  let head = lastOf(headRe);
  // "BUG: …" then "#PF: …" then "Oops: …" is one report: name it by its first line
  for (let j = head - 1; head > 0 && j >= Math.max(0, head - 3); j--) if (headRe.test(before[j]!)) head = j;
  if (head >= 0) {
    parts.push(before[head]!);
    const rest = before.slice(head + 1);
    const rip = rest.find((l) => /^RIP: /.test(l));
    if (rip) parts.push(rip);
    const ct = rest.findIndex((l) => /^Call Trace:/.test(l));
    if (ct >= 0) {
      const frames = rest
        .slice(ct + 1)
        .filter((l) => /^[? ]*[A-Za-z_][\w.]*\+0x[0-9a-f]+\/0x[0-9a-f]+/.test(l))
        .slice(0, 6)
        .map((l) => l.replace(/^\?\s*/, '').split(/\s/)[0]!);
      if (frames.length) parts.push(`call trace: ${frames.join(' < ')}`);
    }
    const comm = rest.find((l) => /^CPU: \d+ .*PID: \d+ .*Comm: /.test(l)) ?? before.slice(head).find((l) => /CPU: \d+.*Comm: /.test(l));
    if (comm) parts.push(comm.replace(/\s+/g, ' '));
  }
  parts.push(lines[panicAt]!);
  return parts.join('; ');
}

/**
 * A guest panic that is the emulator's, not the code under test's: an int3 trap the kernel does not
 * own, taken on one of its own text-patching sites (a static key or jump label flipped by
 * text_poke_bp while another vCPU runs that code). Under multi-threaded TCG the other vCPU can run
 * a stale translation that still holds the temporary int3 after the patch is done; seen while
 * booting, and while sched_ext flips its static keys on enable (Comm: scx_enable_help). Under KVM
 * the CPU does not do this, so there it is never excused.
 */
export function emulatorPanic(panic: string | null, accel: string | null): boolean {
  return accel === 'tcg' && panic !== null && /^Oops: int3\b/.test(panic);
}
