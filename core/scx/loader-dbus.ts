/**
 * A client of scx_loader (sched-ext/scx tools/scx_loader, crates.io scx_loader 1.1.x): the D-Bus
 * service on the system bus (name org.scx.Loader, object /org/scx/Loader, interface org.scx.Loader)
 * that starts, switches and stops scx schedulers for desktop tools. Where it manages the scheduler,
 * scx-mcp asks it to stop before a deploy and to run its scheduler again on rollback, instead of
 * refusing to replace a scheduler it did not start (core/targets/manager.ts).
 *
 * The calls are busctl commands run through Target.exec with the server's privileges, so the same
 * code talks to the guest's bus in the sandbox and to the host's on the host. busctl runs with
 * --json=short (one JSON value per reply, parsed strictly against the D-Bus signature) and
 * --auto-start=no (a bus that could activate scx_loader does not start it because we asked).
 *
 * What scx_loader 1.1.3 does, from its source (src/main.rs): every method checks polkit
 * (CheckAuthorization of org.scx.loader.manage-schedulers for the caller); StopScheduler returns at
 * once and stops the child (SIGINT) behind it; CurrentScheduler is "unknown" when none is set and is
 * set as soon as a start is asked for (not when the scheduler attached); CurrentSchedulerArgs is
 * empty when the scheduler was started by mode; SchedulerMode is a u32 (0 auto, 1 gaming,
 * 2 powersave, 3 lowlatency, 4 server).
 */
import { ScxError } from '../errors.js';

export const SCX_LOADER_BUS = { name: 'org.scx.Loader', path: '/org/scx/Loader', iface: 'org.scx.Loader' } as const;

export const SCHED_MODES = ['auto', 'gaming', 'powersave', 'lowlatency', 'server'] as const;
export type SchedModeName = (typeof SCHED_MODES)[number];

/** What scx_loader says it runs. */
export interface LoaderScheduler {
  /** e.g. "scx_bpfland" */
  scheduler: string;
  /** SchedulerMode (0 = auto) */
  mode: number;
  modeName: SchedModeName | null;
  /** CurrentSchedulerArgs: the arguments it was started with; empty when started by mode */
  args: string[];
}

export type LoaderState = { running: false } | ({ running: true } & LoaderScheduler);

/** A command's outcome on a target (Target.exec's result). */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command on a target with the server's privileges: a Target (core/targets), or anything with its exec. */
export interface Exec {
  exec(command: string, o: { as: 'server'; timeoutS: number; what?: string }): Promise<ExecResult>;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const SCHED_NAME = /^scx_[a-z0-9_]{1,40}$/;

/** The busctl command line for one request (pure). */
export function busctlCommand(args: string[]): string {
  return ['busctl', '--system', '--json=short', '--auto-start=no', '--', ...args].map(q).join(' ');
}

/** One reply of busctl --json=short: {"type": <signature>, "data": <value(s)>}. Throws unless it is one such line of `signature`. */
export function parseBusctlReply(stdout: string, signature: string): unknown {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (signature === '') {
    // a method without return values: busctl prints nothing (or an empty reply)
    if (lines.length === 0) return [];
  }
  if (lines.length !== 1) throw new Error(`expected one busctl reply line of type "${signature}", got ${lines.length}: ${stdout.slice(0, 200)}`);
  let v: unknown;
  try {
    v = JSON.parse(lines[0]!);
  } catch {
    throw new Error(`busctl reply is not JSON: ${lines[0]!.slice(0, 200)}`);
  }
  if (typeof v !== 'object' || v === null || !('type' in v) || !('data' in v)) throw new Error(`busctl reply has no type and data: ${lines[0]!.slice(0, 200)}`);
  const r = v as { type: unknown; data: unknown };
  if (r.type !== signature) throw new Error(`busctl reply has type "${String(r.type)}", expected "${signature}"`);
  return r.data;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** The properties' replies (get-property prints one line per property, in the order asked) to a state (pure; strict). */
export function parseLoaderProperties(stdout: string): LoaderState {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 3) throw new Error(`expected 3 property replies (CurrentScheduler, SchedulerMode, CurrentSchedulerArgs), got ${lines.length}`);
  const scheduler = parseBusctlReply(lines[0]!, 's');
  const mode = parseBusctlReply(lines[1]!, 'u');
  const args = parseBusctlReply(lines[2]!, 'as');
  if (typeof scheduler !== 'string') throw new Error(`CurrentScheduler is not a string: ${JSON.stringify(scheduler)}`);
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0) throw new Error(`SchedulerMode is not a u32: ${JSON.stringify(mode)}`);
  if (!isStringArray(args)) throw new Error(`CurrentSchedulerArgs is not a string array: ${JSON.stringify(args)}`);
  if (scheduler === 'unknown') return { running: false };
  if (!SCHED_NAME.test(scheduler)) throw new Error(`CurrentScheduler "${scheduler.slice(0, 60)}" is not an scx scheduler name`);
  return { running: true, scheduler, mode, modeName: SCHED_MODES[mode] ?? null, args };
}

/** What went wrong with a busctl call, from its exit status and stderr (pure). */
export function busctlFailure(r: Pick<ExecResult, 'exitCode' | 'stderr' | 'stdout'>): string {
  if (r.exitCode === 127) return 'busctl is not installed';
  const msg = (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ').slice(0, 400);
  return msg || `busctl exited with status ${r.exitCode}`;
}

/** Whether busctl's failure means there is no system bus at all (then there is no scx_loader either). */
export function noSystemBus(stderr: string): boolean {
  return /Failed to connect to (system )?bus/i.test(stderr);
}

export class ScxLoaderClient {
  constructor(
    private readonly target: Exec,
    private readonly timeoutS = 30,
  ) {}

  private async busctl(args: string[], what: string): Promise<ExecResult> {
    return this.target.exec(busctlCommand(args), { as: 'server', timeoutS: this.timeoutS, what: `scx_loader: ${what}` });
  }

  private async call(method: string, signature = '', values: string[] = []): Promise<void> {
    const r = await this.busctl(
      ['call', SCX_LOADER_BUS.name, SCX_LOADER_BUS.path, SCX_LOADER_BUS.iface, method, ...(signature ? [signature, ...values] : [])],
      method,
    );
    if (r.exitCode !== 0) throw new ScxError('BAD_INPUT', `scx_loader refused ${method}: ${busctlFailure(r)}`);
    try {
      parseBusctlReply(r.stdout, '');
    } catch (e) {
      throw new ScxError('BAD_INPUT', `scx_loader's reply to ${method}: ${(e as Error).message}`);
    }
  }

  /**
   * Whether scx_loader is on the target's system bus. Not there (no bus, no busctl, nobody owns
   * the name): { present: false, why }. A bus that answers something else throws.
   */
  async present(): Promise<{ present: boolean; why: string }> {
    const r = await this.busctl(
      ['call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', SCX_LOADER_BUS.name],
      'is it on the bus',
    );
    if (r.exitCode === 127) return { present: false, why: 'busctl is not installed, so no D-Bus service is asked' };
    if (r.exitCode !== 0 && noSystemBus(r.stderr)) return { present: false, why: `no system bus (${busctlFailure(r)})` };
    if (r.exitCode !== 0) throw new ScxError('BAD_INPUT', `asking the system bus for ${SCX_LOADER_BUS.name} failed: ${busctlFailure(r)}`);
    const data = parseBusctlReply(r.stdout, 'b');
    if (!Array.isArray(data) || data.length !== 1 || typeof data[0] !== 'boolean')
      throw new Error(`NameHasOwner reply is not one boolean: ${r.stdout.slice(0, 200)}`);
    return data[0]
      ? { present: true, why: `${SCX_LOADER_BUS.name} is on the system bus` }
      : { present: false, why: `nobody owns ${SCX_LOADER_BUS.name} on the system bus` };
  }

  /** What scx_loader says it runs (CurrentScheduler, SchedulerMode, CurrentSchedulerArgs). */
  async state(): Promise<LoaderState> {
    const r = await this.busctl(
      ['get-property', SCX_LOADER_BUS.name, SCX_LOADER_BUS.path, SCX_LOADER_BUS.iface, 'CurrentScheduler', 'SchedulerMode', 'CurrentSchedulerArgs'],
      'what it runs',
    );
    if (r.exitCode !== 0) throw new ScxError('BAD_INPUT', `reading scx_loader's CurrentScheduler failed: ${busctlFailure(r)}`);
    try {
      return parseLoaderProperties(r.stdout);
    } catch (e) {
      throw new ScxError('BAD_INPUT', `scx_loader's properties: ${(e as Error).message}`);
    }
  }

  /** Start `s` through scx_loader: with its arguments, or by mode when it was started by mode. */
  async start(s: LoaderScheduler): Promise<void> {
    if (!SCHED_NAME.test(s.scheduler)) throw new ScxError('BAD_INPUT', `"${s.scheduler}" is not an scx scheduler name`);
    if (s.args.length) await this.call('StartSchedulerWithArgs', 'sas', [s.scheduler, String(s.args.length), ...s.args]);
    else await this.call('StartScheduler', 'su', [s.scheduler, String(s.mode)]);
  }

  /** Switch to `s` (what it reported before): SwitchSchedulerWithArgs with its arguments, or SwitchScheduler with its mode. */
  async switchTo(s: LoaderScheduler): Promise<void> {
    if (!SCHED_NAME.test(s.scheduler)) throw new ScxError('BAD_INPUT', `"${s.scheduler}" is not an scx scheduler name`);
    if (s.args.length) await this.call('SwitchSchedulerWithArgs', 'sas', [s.scheduler, String(s.args.length), ...s.args]);
    else await this.call('SwitchScheduler', 'su', [s.scheduler, String(s.mode)]);
  }

  /** StopScheduler: returns at once; the scheduler stops behind it (wait for sched_ext to be disabled). */
  async stop(): Promise<void> {
    await this.call('StopScheduler');
  }

  /** RestoreDefault: its configured default scheduler (fails when none is configured). */
  async restoreDefault(): Promise<void> {
    await this.call('RestoreDefault');
  }
}

/** The ops name the kernel shows for a scheduler scx_loader runs ("scx_bpfland" → "bpfland"). */
export function loaderOpsName(scheduler: string): string {
  return scheduler.replace(/^scx_/, '');
}

/** "scx_bpfland --slice-us 20000" / "scx_lavd (mode gaming)", for messages and the audit. */
export function describeLoaderScheduler(s: LoaderScheduler): string {
  return s.args.length ? `${s.scheduler} ${s.args.join(' ')}` : `${s.scheduler} (mode ${s.modeName ?? s.mode})`;
}
