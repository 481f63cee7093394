/**
 * One command on the host with a time limit that holds: the command runs in a process group of its
 * own, and at the limit the whole group is killed. (execa's own timeout kills only the shell; a
 * child still holding the output pipe, like `sleep` in `sh -c 'sleep 30'`, keeps the call waiting
 * until the child ends.)
 */
import { execa } from 'execa';
import type { ExecResult } from './types.js';

export async function execGroup(
  file: string,
  args: string[],
  o: { timeoutS: number; env?: Record<string, string>; extendEnv?: boolean; cwd?: string },
): Promise<ExecResult & { timedOut: boolean }> {
  const t0 = performance.now();
  const child = execa(file, args, {
    reject: false,
    detached: true, // its own session and process group, so the group can be killed
    stdin: 'ignore',
    ...(o.env ? { env: o.env } : {}),
    ...(o.extendEnv !== undefined ? { extendEnv: o.extendEnv } : {}),
    ...(o.cwd ? { cwd: o.cwd } : {}),
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
  }, o.timeoutS * 1000);
  try {
    const r = await child;
    return {
      exitCode: timedOut ? -1 : (r.exitCode ?? -1),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      wallMs: performance.now() - t0,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}
