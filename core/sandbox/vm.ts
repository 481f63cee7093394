/**
 * One QEMU VM running the sandbox kernel and the guest agent.
 *
 * The host listens on unix sockets in the VM's own run directory; QEMU connects to
 * them as the backends of virtio-serial ports (scx.agent for jobs, scx.monitor for
 * samples) before the guest runs, so nothing the guest says is lost. On each port
 * requests go one at a time (see guest/agent.sh).
 * Every request has a host-side deadline, because a stalling scheduler can freeze
 * the whole guest; on a missed deadline the VM is killed, never left behind.
 *
 * The guest sees the host: QEMU's built-in 9p server exports the host's root filesystem
 * read-only (tag hostroot) and the VM's share directory read-write (tag scxshare, <runDir>/share:
 * the one place the guest can write to the host, for a job's outputs). The guest's init mounts
 * both and chroots into the host's tree (guest/init). 9p rather than virtiofs: QEMU serves 9p
 * itself, while virtiofs needs a virtiofsd daemon per VM, which Debian bookworm does not package.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { isScxError, ScxError } from '../errors.js';
import { runsDir } from '../paths.js';
import type { Accelerator } from './accel.js';
import { LineReader } from './reply.js';
import { panicSummary } from './kmsg.js';
import { qemuBinary } from './qemu.js';

export interface VmOptions {
  vmlinuz: string;
  initrd: string;
  accel: Accelerator;
  cpus?: number;
  memoryMb?: number;
  bootTimeoutMs?: number;
  /** Keep the run directory (console log) after shutdown. */
  keepRunDir?: boolean;
  extraCmdline?: string;
  /** Share the host's root filesystem with the guest (default true). */
  hostShare?: boolean;
  /** Programs the guest finds on PATH by name (host paths; image.ts guestPrograms()). */
  programs?: Record<string, string>;
  /** Host paths the guest may write to, each through an overlay whose writes stay in guest memory ($HOME always is). */
  writable?: string[];
  /**
   * A network card whose guest port 22 is forwarded to 127.0.0.1:<sshPort> on the host (QEMU user
   * networking, restrict=on: the guest reaches nothing outside, the host reaches its sshd). For a
   * fleet of sandbox VMs driven over ssh; start the host's sshd in the guest with startSshd().
   */
  sshPort?: number;
}

/** A host path the guest makes writable (an overlay): absolute, nothing a shell line would split or quote. */
export function checkWritablePath(p: string): void {
  if (!p.startsWith('/') || /[\s'"\\\0]/.test(p)) throw new ScxError('BAD_INPUT', `writable path "${p}" must be absolute, without spaces or quotes`);
}

/** What the host writes into the share for the guest's init: shell assignments, values quoted. */
export function guestEnv(o: { home: string; writable: string[] }): string {
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  return [`SCX_HOME=${q(o.home)}`, `SCX_WRITABLE=${q(o.writable.join(' '))}`].join('\n') + '\n';
}

export interface RunReply {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Guest CLOCK_MONOTONIC around the script, so durations are the guest's own. */
  guestMs: number;
  hostMs: number;
}

interface Pending {
  resolve: (fields: string[]) => void;
  reject: (e: Error) => void;
}

/** The guest's agent ports: jobs on one, the monitor's samples on the other, so sampling goes on during a workload. */
export const CHANNELS = ['agent', 'monitor'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** One virtio-serial port: a unix socket QEMU connects to, a line protocol, one request at a time. */
class Channel {
  server?: Server;
  socket?: Socket;
  /** Reply lines, read with bounded memory (a reply past MAX_REPLY_CHARS keeps its head and end). */
  private readonly lines = new LineReader((line) => this.onLine(line));
  private nextId = 1;
  readonly pending = new Map<string, Pending>();
  queue: Promise<unknown> = Promise.resolve();
  private helloResolve?: (fields: string[]) => void;
  readonly hello = new Promise<string[]>((r) => (this.helloResolve = r));

  constructor(
    readonly name: ChannelName,
    readonly path: string,
  ) {}

  async listen(): Promise<void> {
    this.server = createServer((s) => this.attach(s));
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.path, () => res());
    });
  }

  private attach(s: Socket): void {
    if (this.socket) {
      s.destroy();
      return;
    }
    this.socket = s;
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => this.lines.push(chunk));
    s.on('error', () => {});
  }

  private onLine(line: string): void {
    const fields = line.trim().split(' ');
    if (fields[0] === 'HELLO') {
      this.helloResolve?.(fields);
      return;
    }
    const p = this.pending.get(fields[0]!);
    if (p && fields[1] === 'DONE') {
      this.pending.delete(fields[0]!);
      p.resolve(fields.slice(2));
    }
  }

  send(line: string, payload: Buffer | undefined): { id: string; reply: Promise<string[]> } {
    const id = String(this.nextId++);
    const reply = new Promise<string[]>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.socket!.write(`${id} ${line}\n`);
    if (payload) this.socket!.write(payload);
    return { id, reply };
  }

  rejectAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export class SandboxVM {
  readonly runDir: string;
  kernelRelease = '';
  guestCpus = 0;
  bootMs = 0;
  /** Whether the guest runs in the host's filesystem (false: the initramfs only, see guest/init). */
  hostShared = false;
  private readonly channels = new Map<ChannelName, Channel>();
  private qemu?: ResultPromise;
  private qemuExited = false;
  private qemuExit?: { code: number | null; signal: string | null; stderr: string };
  private dead?: Error;
  private rejectDead!: (e: Error) => void;
  /** Rejects as soon as the VM is gone (QEMU exit, kill, missed deadline). */
  private readonly deadSignal = new Promise<never>((_, rej) => (this.rejectDead = rej));

  private constructor(
    runDir: string,
    readonly opts: VmOptions,
  ) {
    this.runDir = runDir;
    this.deadSignal.catch(() => {});
  }

  get consoleLog(): string {
    return join(this.runDir, 'console.log');
  }

  /** The directory the guest sees read-write at /run/scx/share: a job's outputs come back here. */
  get shareDir(): string {
    return join(this.runDir, 'share');
  }

  /** The last lines the guest printed on its serial console (for error reports). */
  consoleTail(lines = 25): string {
    try {
      return readFileSync(this.consoleLog, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** The guest kernel's panic, if it printed one: its oops line, RIP and first frames, and the panic line. */
  consolePanic(): string | null {
    try {
      return panicSummary(readFileSync(this.consoleLog, 'utf8'));
    } catch {
      return null;
    }
  }

  /**
   * Boot a VM. A guest kernel that panics while booting, before /init's agents said hello (nothing
   * of the caller's has run yet), is booted once more: that panic is the emulator's or the kernel's,
   * never the caller's (seen under multi-threaded TCG: an int3 taken on a patch site mid-boot). The
   * first boot's panic is kept in bootRetries.
   */
  static async start(opts: VmOptions): Promise<SandboxVM> {
    await mkdir(runsDir(), { recursive: true });
    const retries: string[] = [];
    for (;;) {
      const vm = new SandboxVM(await mkdtemp(join(runsDir(), 'vm-')), opts);
      try {
        await vm.boot();
        vm.bootRetries = retries;
        return vm;
      } catch (e) {
        const panic = isScxError(e) && e.code === 'VM_CRASHED' ? vm.consolePanic() : null;
        await vm.kill();
        // not init dying or no root, which the same image and command line would do again
        const again = panic !== null && !/Attempted to kill init|No working init|Unable to mount root/.test(panic);
        if (!again || retries.length >= 1) {
          if (retries.length && isScxError(e)) e.message += ` (the first boot panicked too: ${retries[0]})`;
          throw e;
        }
        retries.push(panic!);
      }
    }
  }

  /** Panics of earlier boot attempts of this VM (see start). */
  bootRetries: string[] = [];

  private async boot(): Promise<void> {
    const o = this.opts;
    for (const f of [o.vmlinuz, o.initrd]) {
      if (!existsSync(f))
        throw new ScxError('OBJECT_MISSING', `sandbox file missing: ${f}`, 'run `npm run setup` to fetch the kernel and build the guest image');
    }
    const share = o.hostShare ?? true;
    if (share) await this.prepareShare();
    for (const name of CHANNELS) {
      const ch = new Channel(name, join(this.runDir, `${name}.sock`));
      await ch.listen();
      this.channels.set(name, ch);
    }

    const accelArgs = o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
    // rcu_cpu_stall_timeout: a scheduler that stalls tasks must be ejected by sched_ext's own watchdog
    // (at most 30 s), which names the stall; RCU's stall detector (21 s by default) fired first when
    // the emulated guest shared a busy host, and sched_ext then reports a "runtime error" instead
    // tsc=reliable: no clocksource watchdog. On a loaded host the emulated TSC looked skewed to it, and a
    // clocksource switch at run time rewrites code (static keys) under the running CPUs. maxcpus=1: the
    // boot runs on one CPU and /init brings the others online once the clocksource has settled (see there).
    const cmdline = [
      'console=ttyS0',
      'panic=-1',
      'quiet',
      'loglevel=4',
      'rdinit=/init',
      'rcupdate.rcu_cpu_stall_timeout=60',
      'tsc=reliable',
      ...((o.cpus ?? 2) > 1 ? ['maxcpus=1'] : []),
      o.extraCmdline ?? '',
    ]
      .join(' ')
      .trim();
    const args = [
      ...accelArgs,
      '-m',
      String(o.memoryMb ?? 1024),
      '-smp',
      String(o.cpus ?? 2),
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-monitor',
      'none',
      '-serial',
      `file:${this.consoleLog}`,
      '-kernel',
      o.vmlinuz,
      '-initrd',
      o.initrd,
      '-append',
      cmdline,
      ...(share
        ? [
            '-virtfs',
            'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
            '-virtfs',
            `local,path=${this.shareDir},mount_tag=scxshare,security_model=none,multidevs=remap`,
          ]
        : []),
      ...(o.sshPort ? ['-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`, '-device', 'virtio-net-pci,netdev=net0'] : []),
      '-device',
      'virtio-serial-pci',
      ...CHANNELS.flatMap((name) => [
        '-chardev',
        `socket,id=${name},path=${this.channels.get(name)!.path}`,
        '-device',
        `virtserialport,chardev=${name},name=scx.${name}`,
      ]),
    ];
    const t0 = performance.now();
    const helloP = Promise.all(CHANNELS.map((n) => this.channels.get(n)!.hello)).then((all) => all[0]!);
    this.qemu = execa(await qemuBinary(), args, { reject: false, stdin: 'ignore', cleanup: true });
    this.qemu
      .then((r) => {
        this.qemuExited = true;
        this.qemuExit = { code: r.exitCode ?? null, signal: r.signal ?? null, stderr: String(r.stderr ?? '') };
        const panic = this.consolePanic();
        this.fail(
          new ScxError(
            'VM_CRASHED',
            `QEMU exited (${r.exitCode ?? r.signal})${panic ? `: guest kernel panicked: ${panic}` : ''}${r.stderr ? ': ' + String(r.stderr).trim().split('\n').slice(-2).join(' | ') : ''}`,
            'see the console lines in details',
            { console: this.consoleTail() },
          ),
        );
      })
      .catch(() => {});

    const timeoutMs = o.bootTimeoutMs ?? 120_000;
    const hello = await this.withDeadline(
      helloP,
      timeoutMs,
      () =>
        new ScxError(
          'VM_TIMEOUT',
          `the sandbox guest did not come up within ${timeoutMs / 1000} s`,
          'the console tail is in details; under software emulation (TCG) a loaded host boots slower: retry, or raise the boot timeout',
          { console: this.consoleTail() },
        ),
    );
    this.bootMs = Math.round(performance.now() - t0);
    this.kernelRelease = hello[1] ?? '';
    this.guestCpus = Number(hello[2] ?? 0);
    this.hostShared = hello[4] === 'host';
    if (share && !this.hostShared) {
      throw new ScxError(
        'VM_CRASHED',
        'the sandbox guest could not mount the host filesystem (9p)',
        'the console tail is in details; run `npm run setup` so the kernel cache has its 9p modules',
        { console: this.consoleTail() },
      );
    }
  }

  /** The share directory: the guest's settings, and its PATH of the project's programs (symlinks to host paths). */
  private async prepareShare(): Promise<void> {
    const o = this.opts;
    await mkdir(join(this.shareDir, 'bin'), { recursive: true });
    for (const [name, path] of Object.entries(o.programs ?? {})) {
      if (!/^[A-Za-z0-9_.+-]+$/.test(name) || !path.startsWith('/'))
        throw new ScxError('BAD_INPUT', `guest program ${name} -> ${path}: a plain name and an absolute host path are needed`);
      await symlink(path, join(this.shareDir, 'bin', name));
    }
    for (const p of o.writable ?? []) {
      checkWritablePath(p);
    }
    await writeFile(join(this.shareDir, 'guest.env'), guestEnv({ home: process.env.HOME || homedir(), writable: o.writable ?? [] }));
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    this.rejectDead(e);
    for (const ch of this.channels.values()) ch.rejectAll(e);
  }

  private async withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(onTimeout()), ms)));
    try {
      return await Promise.race([p, this.deadSignal, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private request(line: string, payload: Buffer | undefined, timeoutMs: number, what: string, channel: ChannelName = 'agent'): Promise<string[]> {
    const ch = this.channels.get(channel);
    if (!ch) return Promise.reject(new ScxError('VM_CRASHED', 'the sandbox VM is not running'));
    const job = ch.queue.then(async () => {
      if (this.dead) throw this.dead;
      const { id, reply } = ch.send(line, payload);
      try {
        return await this.withDeadline(
          reply,
          timeoutMs,
          () =>
            new ScxError(
              'VM_TIMEOUT',
              `the sandbox guest did not answer "${what}" within ${Math.round(timeoutMs / 1000)} s`,
              'the guest is frozen or the step is too slow; the VM is torn down. The console tail is in details.',
              { console: this.consoleTail() },
            ),
        );
      } catch (e) {
        ch.pending.delete(id);
        this.fail(e as Error);
        throw e;
      }
    });
    ch.queue = job.catch(() => {});
    return job;
  }

  /**
   * Run a shell script in the guest (busybox sh, cwd /tmp). `timeoutMs` is the host's
   * deadline for the reply; `guestTimeoutS` (optional) makes the guest kill the script first.
   */
  async run(script: string, opts: { timeoutMs?: number; guestTimeoutS?: number; what?: string; channel?: ChannelName } = {}): Promise<RunReply> {
    const t0 = performance.now();
    const b64 = Buffer.from(script).toString('base64');
    const f = await this.request(`RUN ${opts.guestTimeoutS ?? 0} ${b64}`, undefined, opts.timeoutMs ?? 120_000, opts.what ?? script.slice(0, 60), opts.channel);
    const dec = (s: string | undefined) => (!s || s === '-' ? '' : Buffer.from(s, 'base64').toString('utf8'));
    return {
      exitCode: Number(f[0]),
      guestMs: (Number(f[2]) - Number(f[1])) / 1e6,
      stdout: dec(f[3]),
      stderr: dec(f[4]),
      hostMs: performance.now() - t0,
    };
  }

  /** Copy bytes to a guest path (made executable). */
  async put(guestPath: string, data: Buffer, timeoutMs = 120_000): Promise<void> {
    if (/\s/.test(guestPath)) throw new ScxError('BAD_INPUT', `guest path must not contain spaces: ${guestPath}`);
    const f = await this.request(`PUT ${guestPath} ${data.length}`, data, timeoutMs, `put ${guestPath}`);
    if (Number(f[0]) !== 0) throw new ScxError('VM_CRASHED', `writing ${guestPath} in the guest failed (status ${f[0]})`);
  }

  get alive(): boolean {
    return !this.dead && !this.qemuExited;
  }

  /** Orderly power-off; falls back to kill. Always releases everything. */
  async shutdown(): Promise<void> {
    if (this.alive && this.channels.get('agent')?.socket) {
      try {
        await this.request('BYE', undefined, 10_000, 'power off');
        await Promise.race([this.qemu, new Promise((r) => setTimeout(r, 10_000))]);
      } catch {
        /* fall through to kill */
      }
    }
    await this.kill();
  }

  async kill(): Promise<void> {
    if (this.qemu && !this.qemuExited) {
      this.qemu.kill('SIGKILL');
      await Promise.race([this.qemu.catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
    }
    this.fail(new ScxError('VM_CRASHED', 'the sandbox VM was shut down'));
    for (const ch of this.channels.values()) await ch.close();
    if (!this.opts.keepRunDir) await rm(this.runDir, { recursive: true, force: true });
  }

  /** How QEMU ended, once it has. */
  get exitStatus() {
    return this.qemuExit;
  }
}
