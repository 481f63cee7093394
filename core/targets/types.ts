/** What the targets part speaks: a deployment, a target's status, and the Target each target kind implements. */
import { z } from 'zod';
import { JobHints } from '../job-hints.js';
import type { Actor, AuditEvent } from './audit.js';
import type { SchedExtState, StepResult } from '../sandbox/results.js';
import type { BuildRecord } from '../builds/build.js';
import { TargetKind } from '../model/target.js';

export const Deployment = z.object({
  buildId: z.string(),
  name: z.string(),
  since: z.string(),
  hints: JobHints.optional().describe('job hints fed into its job_hints map (scx-job-hints)'),
});
export type Deployment = z.infer<typeof Deployment>;

/** The scheduler scx_loader (the org.scx.Loader D-Bus service) ran on a target before scx-mcp deployed there, as it reported it. */
export const DisplacedScxLoader = z.object({
  scheduler: z.string().describe('CurrentScheduler, e.g. scx_bpfland'),
  mode: z.number().int().describe('SchedulerMode (0 auto, 1 gaming, 2 powersave, 3 lowlatency, 4 server)'),
  args: z.array(z.string()).describe('CurrentSchedulerArgs; empty when it was started by mode'),
  stoppedAt: z.string().describe('when scx-mcp asked scx_loader to stop it'),
});
export type DisplacedScxLoader = z.infer<typeof DisplacedScxLoader>;

export const TargetStatus = z.object({
  target: TargetKind,
  available: z.boolean(),
  reason: z.string().describe('why the target is or is not available'),
  kernel: z.string().nullable(),
  current: Deployment.nullable().describe('the scheduler scx-mcp deployed that is running now; null = kernel default'),
  previous: z.array(Deployment.nullable()).describe('what ran before, most recent last; null = kernel default'),
  schedExt: z.object({ state: z.string(), ops: z.string().nullable() }).nullable(),
  scxLoader: DisplacedScxLoader.nullable().describe(
    "what scx_loader ran before scx-mcp's first deploy here, stopped through D-Bus; a rollback to the bottom of the stack asks scx_loader to run it again. null = scx_loader was not running a scheduler (or is not there)",
  ),
});
export type TargetStatus = z.infer<typeof TargetStatus>;

/** Why a workload command runs on the host (its audit line says so). */
export type HostCommandPurpose = Extract<AuditEvent, { event: 'host_command' }>['purpose'];

/**
 * How one command runs on a target (Target.exec). Whose command it is decides the privileges:
 *   user    a workload command (profile_workload, run_command, the monitor's SLO probe): on the host
 *           as the invoking user, never root unless the operator said so (run-as.ts), and audited;
 *   server  scx-mcp's own reads and control (sched_ext state, the kernel log, scx_loader over D-Bus):
 *           with the server's own privileges (root on a host that takes schedulers), not audited as a
 *           command (the deploy or rollback it belongs to is).
 * In the sandbox both run as the guest's root: nothing there is anyone's machine.
 */
export type ExecOptions = {
  /** the command's time limit (s): the guest kills it (exit status 137) in the sandbox, the host kills it (-1) */
  timeoutS: number;
  /** sandbox: the VM channel to run on; "monitor" runs beside a workload on the agent channel (the host ignores it) */
  channel?: 'agent' | 'monitor';
  /** a label for errors and time-outs (default: the command) */
  what?: string;
} & ({ as: 'server' } | { as: 'user'; actor: Actor; purpose: HostCommandPurpose; audit?: boolean });

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** One target kind: the sandbox VM (sandbox.ts) or this machine (host.ts). Every command on a target goes through exec. */
export interface Target {
  kernel(): string | null;
  /** where this target's sched_ext sysfs is (the host's may be overridden, SCX_LOADER_SYSFS) */
  readonly schedExtSysfs: string;
  state(): Promise<SchedExtState>;
  load(build: BuildRecord, hints?: JobHints): Promise<{ ok: boolean; error?: string; step?: StepResult }>;
  unload(): Promise<void>;
  /** Run a shell command (/bin/sh -c on the host, the guest's sh in the sandbox): its output and exit status. */
  exec(command: string, opts: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

/** The same interface under its earlier name. */
export type Backend = Target;
