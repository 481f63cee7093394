/**
 * What a target's kernel log says about a scheduler it disabled: read through Target.exec (the
 * guest's dmesg, or the host's with the server's privileges), parsed by core/sandbox/kmsg.ts.
 */
import { parseSchedExtKmsg, type SchedulerExit } from '../sandbox/kmsg.js';
import type { Target } from './types.js';

/**
 * The kernel's last exit record of `scheduler`, if it came after the scheduler was last enabled
 * (an exit from an earlier run of the same scheduler is not this one's). Pure.
 */
export function exitSinceEnabled(dmesg: string, scheduler: string): SchedulerExit | null {
  const { enabled, exits } = parseSchedExtKmsg(dmesg);
  const exit = exits.filter((x) => x.scheduler === scheduler).at(-1);
  if (!exit) return null;
  const since = enabled.filter((e) => e.scheduler === scheduler).at(-1);
  if (since && since.atSeconds !== null && exit.atSeconds !== null && exit.atSeconds < since.atSeconds) return null;
  return exit;
}

/** Why the kernel disabled `scheduler` on `target`, or null when its log does not say (or cannot be read). */
export async function schedulerExit(target: Pick<Target, 'exec'>, scheduler: string): Promise<SchedulerExit | null> {
  const r = await target.exec('dmesg', { as: 'server', timeoutS: 60, channel: 'monitor', what: 'dmesg' });
  return r.exitCode === 0 ? exitSinceEnabled(r.stdout, scheduler) : null;
}
