/**
 * An scx binary deployed on the host (deploy_scx target "host", --allow-host only): supervised
 * like scx-loader. The binary runs detached (it outlives the server, so the scheduler stays
 * deployed) with a run directory under /run/scx-mcp holding its pid, stdout/stderr and
 * deployment.json, so a later server adopts it and rollback stops it (HostBackend.unload signals
 * every live process a run directory names; isScxBinaryProcess tells an scx binary by its path).
 * Attached means: sched_ext is enabled and root/ops names the scheduler while the process lives.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchedExtState } from '../sandbox/results.js';
import { scxBinDir } from './catalog.js';
import { opsMatches, scxExitLine } from './guest.js';

/** Whether a /proc/<pid>/cmdline is an installed scx binary's. */
export function isScxBinaryCmdline(cmdline: string): boolean {
  const argv0 = cmdline.split('\0')[0] ?? '';
  return argv0.startsWith(join(scxBinDir(), 'bin') + '/');
}

export async function startScxOnHost(o: {
  binary: string;
  args: string[];
  opsName: string;
  runDir: string;
  deployment: object;
  state: () => Promise<SchedExtState>;
  timeoutMs?: number;
}): Promise<{ ok: true } | { ok: false; error: string }> {
  await mkdir(o.runDir, { recursive: true });
  const out = openSync(join(o.runDir, 'out'), 'w');
  const err = openSync(join(o.runDir, 'err'), 'w');
  const child = spawn(o.binary, o.args, { detached: true, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  let exitCode: number | null = null;
  child.on('exit', (code, sig) => void (exitCode = code ?? (sig ? 128 : -1)));
  child.on('error', () => void (exitCode = 127));
  child.unref();
  if (child.pid) writeFileSync(join(o.runDir, 'pid'), String(child.pid));
  writeFileSync(join(o.runDir, 'deployment.json'), JSON.stringify(o.deployment) + '\n');
  const t0 = performance.now();
  let st: SchedExtState | undefined;
  while (performance.now() - t0 < (o.timeoutMs ?? 300_000)) {
    st = await o.state();
    if (exitCode !== null) break;
    if (st.state === 'enabled' && opsMatches(st.ops, o.opsName)) return { ok: true };
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.pid && exitCode === null) {
    try {
      process.kill(child.pid, 'SIGINT');
    } catch {
      /* gone */
    }
    for (let i = 0; i < 100 && exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    if (exitCode === null)
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  }
  const text = ['out', 'err'].map((f) => (existsSync(join(o.runDir, f)) ? readFileSync(join(o.runDir, f), 'utf8') : '')).join('\n');
  const said = scxExitLine(text);
  await rm(o.runDir, { recursive: true, force: true });
  return {
    ok: false,
    error:
      `${o.binary.split('/').pop()} did not attach on the host (exit status ${exitCode ?? 'none, stopped'}, sched_ext ${st?.state ?? 'unknown'}${st?.ops ? `, ops ${st.ops}` : ''})` +
      `${said ? `: ${said}` : text.trim() ? `: ${text.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
  };
}
