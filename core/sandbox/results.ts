/**
 * The results model of a sandbox run. Tools return these objects as-is
 * (structured content), so every field is documented for the agent reading it.
 */
import { z } from 'zod';
import { SchedulerExit } from './kmsg.js';
import { LoadFailure } from '../loader/failure.js';
import { JobHints } from '../job-hints.js';

export const SchedExtState = z.object({
  state: z.string().describe('/sys/kernel/sched_ext/state: disabled, enabling, enabled, disabling'),
  ops: z.string().nullable().describe('name of the loaded scheduler (root/ops), null when none'),
  enableSeq: z.number().nullable(),
  nrRejected: z.number().nullable(),
  switchAll: z.boolean().nullable(),
  events: z.record(z.string(), z.number()).describe('non-zero sched_ext event counters (root/events) where the kernel has them'),
});
export type SchedExtState = z.infer<typeof SchedExtState>;

export const StateTransition = z.object({
  atMs: z.number().describe('ms since the VM was started (host clock)'),
  step: z.number().describe('index of the step after which it was seen'),
  from: z.string(),
  to: z.string(),
  ops: z.string().nullable(),
});
export type StateTransition = z.infer<typeof StateTransition>;

export const SandboxStep = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('state') }),
  z.object({
    kind: z.literal('load'),
    object: z.string().describe('host path of the compiled .bpf.o'),
    label: z.string().optional(),
    // every load goes through the Rust loader; 'loader' is still accepted from callers that name it (core/bench/batches.ts)
    via: z.literal('loader').optional().describe('the only way: the Rust scx-loader (scx-job-hints with hints or learn)'),
    params: z
      .record(z.string(), z.union([z.number(), z.boolean()]))
      .optional()
      .describe('--param name=value'),
    timeoutMs: z.number().int().min(1).max(30000).optional().describe('sched_ext watchdog timeout (catch stalls sooner)'),
    statsIntervalMs: z.number().int().min(100).max(60000).default(1000),
    hints: JobHints.optional().describe(
      'job hints, {comm prefix: expected runtime ms} or rules [{argv|cgroup|pgid|sid|comm, expect_ms}] (core/job-hints.ts), via scx-job-hints',
    ),
    verifierStats: z.boolean().optional().describe("the verifier's statistics per program (--verifier-stats, log level 4)"),
    learn: z.boolean().optional().describe('scx-job-hints --learn: a job_done line (normalised command line, CPU time) for every program that execs and ends'),
  }),
  z.object({ kind: z.literal('loader_output'), label: z.string().optional() }),
  z.object({
    kind: z.literal('run'),
    command: z
      .string()
      .describe(
        "shell command run in the guest: the host's /bin/sh in the host's filesystem (read-only; /tmp, /run, $HOME writable), with the project's programs (scx-loader, scx-profile, the fixtures) on PATH",
      ),
    timeoutS: z.number().positive().max(3600).default(60),
    label: z.string().optional(),
    writable: z.array(z.string()).optional().describe('host paths the command writes into: overlays in guest memory (SandboxSession.ensureWritable)'),
  }),
  z.object({ kind: z.literal('unload'), waitS: z.number().positive().max(120).default(20) }),
  z.object({ kind: z.literal('wait_state'), state: z.string(), timeoutS: z.number().positive().max(600).default(60) }),
  z.object({ kind: z.literal('sleep'), seconds: z.number().positive().max(600) }),
  z.object({ kind: z.literal('dmesg') }),
]);
export type SandboxStep = z.input<typeof SandboxStep>;

export const StepResult = z.object({
  index: z.number(),
  kind: z.string(),
  label: z.string(),
  ok: z.boolean(),
  hostMs: z.number().describe('host wall time of the step'),
  guestMs: z.number().nullable().describe("guest wall time of the step's commands (guest CLOCK_MONOTONIC)"),
  exitCode: z.number().nullable(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  state: SchedExtState.optional().describe('sched_ext state right after the step'),
  loadFailure: LoadFailure.optional(),
  exit: SchedulerExit.optional().describe('the kernel ejected the scheduler during this step, and why'),
  loader: z
    .object({
      lines: z.array(z.record(z.string(), z.unknown())).describe('JSON lines scx-loader printed so far (loaded, attached, stats, exit, detached, error)'),
      running: z.boolean(),
      exitCode: z.number().nullable(),
    })
    .optional(),
  error: z.string().optional(),
});
export type StepResult = z.infer<typeof StepResult>;

export const SandboxError = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  consoleTail: z.string().optional(),
});

export const SandboxResult = z.object({
  ok: z.boolean().describe('every step succeeded and the VM was torn down cleanly'),
  kernel: z.object({ release: z.string(), cpus: z.number(), memoryMb: z.number() }),
  accelerator: z.object({ kind: z.enum(['kvm', 'tcg']), reason: z.string() }),
  timings: z.object({
    imageMs: z.number().describe('building or finding the guest image'),
    bootMs: z.number().describe('QEMU start until the guest agent answered'),
    loadMs: z.number().nullable().describe('sum of scheduler load steps (guest time)'),
    workloadMs: z.number().nullable().describe('sum of run steps (guest time)'),
    totalMs: z.number(),
  }),
  steps: z.array(StepResult),
  transitions: z.array(StateTransition),
  exits: z.array(SchedulerExit).describe('schedulers the kernel disabled during the run, with the reason (stall, scx_bpf_error, unregistered)'),
  loadFailure: LoadFailure.nullable().describe('the first load failure, verifier log parsed'),
  dmesg: z.string().describe('kernel log lines about sched_ext/BPF'),
  bootRetries: z.array(z.string()).optional().describe('guest kernel panics of boot attempts before this VM came up (booted again: nothing had run yet)'),
  emulatorFault: z
    .string()
    .optional()
    .describe("the guest's panic when the VM died of the emulator's own fault (an int3 on a kernel patch site under TCG), not of what ran in it"),
  error: SandboxError.nullable(),
});
export type SandboxResult = z.infer<typeof SandboxResult>;
