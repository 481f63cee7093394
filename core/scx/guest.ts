/**
 * Running an scx scheduler binary inside a sandbox session. The guest runs chrooted in the host's
 * root filesystem, so the binary installed under ~/.cache/scx-mcp/scx-bin runs there as it is.
 * start: the binary detached in the guest (pid, stdout/stderr and exit status in a run directory
 * under the guest's /tmp), then wait until /sys/kernel/sched_ext/root/ops names it and the state
 * is "enabled" (or the process exits). stop: SIGINT (scx schedulers detach cleanly on it), then
 * SIGKILL after a grace period; wait for sched_ext to be disabled. Both are recorded as steps of
 * the session's results. The scheduler's own exit line ("EXIT: …", printed by scx_utils from the
 * kernel's exit info) is parsed from its output.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { StepResult } from '../sandbox/results.js';
import { verifyBudgetS, type SandboxSession } from '../sandbox/session.js';

export interface ScxGuestProcess {
  dir: string;
  opsName: string;
  binary: string;
}

export interface ScxStart {
  step: StepResult;
  proc: ScxGuestProcess | null;
  /** the ops name the kernel shows */
  ops: string | null;
}

const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

let seq = 0;

/** What the scheduler said when it exited (scx_utils prints "EXIT: <reason>" from the kernel's exit info). */
export function scxExitLine(text: string): string | null {
  const m = /EXIT: ([^\n]*)/.exec(text);
  return m ? m[1]!.trim() : null;
}

/** Whether the ops name the kernel shows is this scheduler's (scx_utils may append a version to it). */
export function opsMatches(ops: string | null | undefined, opsName: string): boolean {
  return !!ops && (ops === opsName || ops.startsWith(`${opsName}_`) || ops.startsWith(opsName));
}

function parseMarkers(stdout: string): { ops: string | null; state: string | null; rc: number | null; pid: number | null; rest: string } {
  const get = (k: string) => new RegExp(`^@@${k} ?(.*)$`, 'm').exec(stdout)?.[1]?.trim() || null;
  const rc = get('RC');
  const pid = get('PID');
  return {
    ops: get('OPS'),
    state: get('STATE'),
    rc: rc && /^\d+$/.test(rc) ? Number(rc) : null,
    pid: pid && /^\d+$/.test(pid) ? Number(pid) : null,
    rest: stdout.replace(/^@@.*\n?/gm, ''),
  };
}

export async function startScxInGuest(
  session: SandboxSession,
  o: { binary: string; args: string[]; opsName: string; waitS?: number; label?: string },
): Promise<ScxStart> {
  const t0 = performance.now();
  const index = session.steps.length;
  const dir = `/tmp/scxbin${process.pid}-${++seq}`;
  // loading a big BPF program under emulation is slow: the verifier budget plus a minute
  const waitS = o.waitS ?? verifyBudgetS(session.accel.accel, session.opts) + 60;
  const cmd = [o.binary, ...o.args].map(q).join(' ');
  await provideKernelConfig(session);
  const r = await session.vm.run(
    `mkdir -p ${dir}
[ -x ${q(o.binary)} ] || { echo "${o.binary} is not executable in the guest" >&2; exit 127; }
sh -c ${q(`${cmd} > ${dir}/out 2> ${dir}/err & echo $! > ${dir}/pid; wait $!; echo $? > ${dir}/rc`)} </dev/null >/dev/null 2>&1 &
i=0; ops=; st=
while [ $i -lt ${waitS * 10} ]; do
  st=$(cat /sys/kernel/sched_ext/state 2>/dev/null); ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)
  if [ "$st" = enabled ]; then case "$ops" in ${o.opsName.replace(/[^A-Za-z0-9_]/g, '')}*) break ;; esac; fi
  [ -e ${dir}/rc ] && break
  sleep 0.1; i=$((i+1))
done
echo "@@OPS $ops"; echo "@@STATE $st"; echo "@@PID $(cat ${dir}/pid 2>/dev/null)"; echo "@@RC $(cat ${dir}/rc 2>/dev/null)"
tail -c 16384 ${dir}/out; tail -c 16384 ${dir}/err >&2`,
    { timeoutMs: (waitS + 120) * 1000, what: `start ${basename(o.binary)}` },
  );
  const m = parseMarkers(r.stdout);
  const state = await session.state(index);
  const attached = state.state === 'enabled' && opsMatches(state.ops, o.opsName) && m.rc === null;
  const said = scxExitLine(`${m.rest}\n${r.stderr}`);
  const step: StepResult = {
    index,
    kind: 'load',
    label: o.label ?? `start ${basename(o.binary)} ${o.args.join(' ')}`.trim(),
    ok: attached,
    hostMs: Math.round(performance.now() - t0),
    guestMs: r.guestMs,
    exitCode: r.exitCode === 127 ? 127 : m.rc,
    stdout: m.rest.slice(-8192),
    stderr: r.stderr.slice(-8192),
    state,
    ...(attached
      ? {}
      : {
          error:
            r.exitCode === 127
              ? r.stderr.trim()
              : m.rc !== null
                ? `${basename(o.binary)} exited with status ${m.rc} before attaching${said ? `: ${said}` : ''}${!said ? `: ${lastLines(r.stderr || m.rest)}` : ''}`
                : `${basename(o.binary)} did not attach within ${waitS} s (state ${state.state}, ops ${state.ops ?? 'none'})`,
        }),
  };
  session.steps.push(step);
  return { step, proc: m.rc === null && r.exitCode !== 127 ? { dir, opsName: o.opsName, binary: o.binary } : null, ops: state.ops };
}

/**
 * libbpf resolves a scheduler's CONFIG_* externs from /boot/config-$(uname -r) or /proc/config.gz.
 * The guest's /boot is the host's (a different kernel's), so the sandbox kernel's own config (kept
 * with it in the cache) is put there, in a guest-memory overlay over /boot; the host is not touched.
 */
async function provideKernelConfig(session: SandboxSession): Promise<void> {
  const cfg = join(session.kernel.dir, 'config');
  if (configProvided.has(session) || !existsSync(cfg)) return;
  const probe = await session.vm.run('[ -e "/boot/config-$(uname -r)" ] || [ -e /proc/config.gz ]', { timeoutMs: 60_000, what: 'kernel config for libbpf' });
  if (probe.exitCode !== 0) {
    await session.ensureWritable(['/boot']);
    await session.vm.run(`cp ${q(cfg)} "/boot/config-$(uname -r)"`, { timeoutMs: 60_000, what: 'kernel config for libbpf' });
  }
  configProvided.add(session);
}
const configProvided = new WeakSet<SandboxSession>();

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').slice(-n).join(' | ').slice(0, 600);
}

export interface ScxStop {
  step: StepResult;
  /** exit status of the binary (null: still running, killed) */
  exitCode: number | null;
  /** "EXIT: …" line the scheduler printed */
  exitLine: string | null;
  output: string;
}

/** Stop the binary (SIGINT, then SIGKILL after graceS) and wait for sched_ext to be disabled. */
export async function stopScxInGuest(session: SandboxSession, proc: ScxGuestProcess, graceS = 20): Promise<ScxStop> {
  const t0 = performance.now();
  const index = session.steps.length;
  const d = proc.dir;
  const r = await session.vm.run(
    `p=$(cat ${d}/pid 2>/dev/null)
[ -n "$p" ] && [ ! -e ${d}/rc ] && kill -INT $p 2>/dev/null
i=0; while [ ! -e ${d}/rc ] && [ $i -lt ${graceS * 10} ]; do sleep 0.1; i=$((i+1)); done
killed=; if [ ! -e ${d}/rc ] && [ -n "$p" ]; then kill -KILL $p 2>/dev/null; killed=1; sleep 0.5; fi
i=0; while [ "$(cat /sys/kernel/sched_ext/state)" != disabled ] && [ $i -lt ${graceS * 10} ]; do sleep 0.1; i=$((i+1)); done
echo "@@STATE $(cat /sys/kernel/sched_ext/state)"; echo "@@RC $(cat ${d}/rc 2>/dev/null)"; echo "@@KILLED $killed"
tail -c 16384 ${d}/out; tail -c 16384 ${d}/err >&2`,
    { timeoutMs: graceS * 2000 + 90_000, what: `stop ${basename(proc.binary)}` },
  );
  const m = parseMarkers(r.stdout);
  const killed = /^@@KILLED 1$/m.test(r.stdout);
  const state = await session.state(index);
  const output = `${m.rest}\n${r.stderr}`;
  const exitLine = scxExitLine(output);
  const ok = state.state === 'disabled' && !killed;
  const step: StepResult = {
    index,
    kind: 'unload',
    label: `stop ${basename(proc.binary)}`,
    ok,
    hostMs: Math.round(performance.now() - t0),
    guestMs: r.guestMs,
    exitCode: m.rc,
    stdout: m.rest.slice(-8192),
    stderr: r.stderr.slice(-8192),
    state,
    ...(ok
      ? {}
      : {
          error: killed
            ? `${basename(proc.binary)} did not exit within ${graceS} s of SIGINT and was killed (state ${state.state})`
            : `sched_ext state is still "${state.state}" after stopping ${basename(proc.binary)}`,
        }),
  };
  session.steps.push(step);
  return { step, exitCode: m.rc, exitLine, output };
}

/** Whether the binary is still running (its run directory has no exit status yet). */
export async function scxRunning(session: SandboxSession, proc: ScxGuestProcess): Promise<boolean> {
  const r = await session.vm.run(`[ -e ${proc.dir}/rc ] && echo exited || echo running`, { timeoutMs: 60_000, what: 'scx binary status' });
  return r.stdout.trim() === 'running';
}
