/**
 * The host target: the real machine, opt-in (--allow-host, root, a kernel with sched_ext). Loads
 * start the Rust loader detached, so a deployed scheduler outlives the server.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobHints } from '../job-hints.js';
import { hostRunDir } from './run-dir.js';
import { HostCommands } from './run-as.js';
import { execGroup } from './host-exec.js';
import { LOADER_NOT_BUILT, LoaderProcess, loaderBinary } from '../loader/process.js';
import { hostTransport } from '../loader/transports.js';
import { parseStateOutput } from '../sandbox/session.js';
import { loaderDir } from '../sandbox/image.js';
import { buildPaths, type BuildRecord } from '../builds/build.js';
import { isScxBuild, scxCommand } from '../builds/scx-build.js';
import { isScxBinaryCmdline, startScxOnHost } from '../scx/host.js';
import { Deployment, type ExecOptions, type ExecResult, type Target } from './types.js';

/** sched_ext's sysfs (SCX_LOADER_SYSFS: the loader's own override, so the loader, the backend and the monitor read the same place) */
export function hostSchedExtSysfs(): string {
  return process.env.SCX_LOADER_SYSFS || '/sys/kernel/sched_ext';
}

/** Why the host cannot take a scheduler, or null if it can. */
export function hostRefusal(allowHost: boolean): string | null {
  if (!allowHost) return 'host deployment is off: start the server with --allow-host (scx-mcp serve --allow-host) to let it touch this machine';
  if (!existsSync(hostSchedExtSysfs()))
    return `this host's kernel (${readRelease()}) has no sched_ext (${hostSchedExtSysfs()} is missing); use target "sandbox"`;
  if (process.getuid?.() !== 0) return 'loading a scheduler on the host needs root; the server is not running as root';
  if (!existsSync('/sys/fs/bpf')) return 'bpffs is not mounted at /sys/fs/bpf';
  return null;
}

function readRelease(): string {
  try {
    return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether `pid` is a live scx-loader / scx-job-hints process (a pid file can outlive its process). */
function isLoaderProcess(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /scx-(loader|job-hints)/.test(cmdline) || isScxBinaryCmdline(cmdline);
  } catch {
    return false;
  }
}

/** Signal a loader process if it is still one (it may exit, and its pid be reused, at any moment). */
function signalLoader(pid: number, sig: NodeJS.Signals): void {
  try {
    if (isLoaderProcess(pid)) process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
}

/**
 * The real machine. Loads through the Rust loader (parameters, stats, the exit record, job hints;
 * the same LoaderProcess as in the sandbox, over the host transport: core/loader). The loader
 * process outlives the server (the scheduler stays deployed); its pid file lets a later server
 * unload it.
 */
export class HostBackend implements Target {
  private readonly sysfs = hostSchedExtSysfs();
  get schedExtSysfs() {
    return this.sysfs;
  }
  /** `commands`: how workload commands run (as whom, audited); the manager shares its own. */
  constructor(readonly commands: HostCommands = new HostCommands()) {}
  kernel() {
    return readRelease();
  }
  async state() {
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '');
    if (!existsSync(this.sysfs)) return parseStateOutput('state=absent\n');
    return parseStateOutput(`state=${read(join(this.sysfs, 'state'))}\nops=${read(join(this.sysfs, 'root', 'ops'))}\n`);
  }
  async load(build: BuildRecord, hints?: JobHints) {
    const st = await this.state();
    if (st.state === 'absent') return { ok: false, error: `this host's kernel (${readRelease()}) has no sched_ext` };
    if (st.state !== 'disabled')
      return { ok: false, error: `another sched_ext scheduler is active on the host (${st.ops ?? st.state}); scx-mcp will not replace one it did not start` };
    if (isScxBuild(build)) {
      // an scx binary: detached, supervised through its run directory like scx-loader (core/scx/host.ts)
      const { binary, args, opsName } = scxCommand(build);
      const deployment: Deployment = { buildId: build.id, name: build.name, since: new Date().toISOString() };
      return startScxOnHost({ binary, args, opsName, runDir: join(hostRunDir(), `${build.id}-${Date.now()}`), deployment, state: () => this.state() });
    }
    return this.loadWithLoader(build, hints);
  }
  /** Start the loader detached (LoaderProcess over the host transport), wait for its outcome; the same outcome rules as the sandbox's. */
  private async loadWithLoader(build: BuildRecord, hints?: JobHints) {
    if (!existsSync(join(loaderDir(), loaderBinary({ hints })))) return { ok: false, error: LOADER_NOT_BUILT };
    const dir = join(hostRunDir(), `${build.id}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    // what runs, for a later server that finds this loader by its pid file (adopt())
    const deployment: Deployment = { buildId: build.id, name: build.name, since: new Date().toISOString(), ...(hints ? { hints } : {}) };
    writeFileSync(join(dir, 'deployment.json'), JSON.stringify(deployment) + '\n');
    const loader = new LoaderProcess(hostTransport(loaderDir(), dir), { object: buildPaths(build.id).object, statsIntervalMs: 5000, hints });
    const { ok, failure: f, output, state, stderr } = await loader.start(() => this.state(), 300);
    if (ok) return { ok: true };
    await loader.stop(10);
    await rm(dir, { recursive: true, force: true });
    if (f) {
      return {
        ok: false,
        error: `load on the host failed (${f.stage}): ${f.reason}${f.file && f.line ? ` at ${f.file}:${f.line}` : ''}${f.hint ? `; ${f.hint}` : ''}`,
      };
    }
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    return {
      ok: false,
      error: `scx-loader did not attach on the host (exit status ${output.exitCode ?? 'none yet'}, sched_ext ${state.state})${tail ? `: ${tail}` : ''}`,
    };
  }

  async unload() {
    // loader processes (this server's or an earlier one's): SIGTERM detaches cleanly
    if (existsSync(hostRunDir())) {
      for (const d of await readdir(hostRunDir(), { withFileTypes: true }).then((es) => es.filter((e) => e.isDirectory()).map((e) => e.name))) {
        const pidFile = join(hostRunDir(), d, 'pid');
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
        if (Number.isInteger(pid) && isLoaderProcess(pid)) {
          signalLoader(pid, 'SIGTERM');
          for (let i = 0; i < 100 && isLoaderProcess(pid); i++) await new Promise((r) => setTimeout(r, 100));
          signalLoader(pid, 'SIGKILL');
        }
        await rm(join(hostRunDir(), d), { recursive: true, force: true });
      }
    }
    for (let i = 0; i < 100 && (await this.state()).state === 'enabled'; i++) await new Promise((r) => setTimeout(r, 100));
  }
  /**
   * A workload command ("user"): as the invoking user, never root unless the operator said so; audited.
   * The server's own ("server": reading state, talking to scx_loader): /bin/sh with the server's privileges.
   */
  async exec(command: string, o: ExecOptions): Promise<ExecResult> {
    if (o.as === 'user') return this.commands.run(command, { timeoutS: o.timeoutS, actor: o.actor, purpose: o.purpose, audit: o.audit });
    const { timedOut: _t, ...r } = await execGroup('/bin/sh', ['-c', command], { timeoutS: o.timeoutS });
    return r;
  }

  /**
   * The scheduler an earlier scx-mcp server deployed and left running (host deployments outlive the
   * server): a live loader whose run directory names its build, while sched_ext is enabled. The
   * server that finds it can roll it back or replace it; anything else that is active stays foreign.
   */
  async adopt(): Promise<Deployment | null> {
    if (!existsSync(hostRunDir()) || (await this.state()).state !== 'enabled') return null;
    for (const d of (await readdir(hostRunDir(), { withFileTypes: true })).filter((e) => e.isDirectory())) {
      const dir = join(hostRunDir(), d.name);
      try {
        const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
        if (!Number.isInteger(pid) || !isLoaderProcess(pid)) continue;
        return Deployment.parse(JSON.parse(readFileSync(join(dir, 'deployment.json'), 'utf8')));
      } catch {
        /* not one of ours, or half-written */
      }
    }
    return null;
  }

  /** Nothing to release: a deployed scheduler stays deployed when the server goes (see TargetManager.close). */
  async close() {}
}
