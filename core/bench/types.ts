/**
 * The benchmark runner's vocabulary (core/bench/runner.ts re-exports it): candidates and options in,
 * run records, per-policy statistics, predictions and the result out.
 */
import type { JobHints } from '../job-hints.js';
import type { JobDone } from '../learned-lengths.js';
import type { WorkloadProfile } from '../profile/profile.js';
import type { SandboxSession, SessionOptions } from '../sandbox/session.js';
import type { SchedulerExit } from '../sandbox/kmsg.js';
import type { LoadFailure } from '../loader/failure.js';
import type { PolicyName } from '../sim/index.js';
import type { MetricDef, Workload, WorkloadSample } from './workloads.js';

/** The name the kernel's own scheduler (no sched_ext scheduler loaded) has in results. */
export const DEFAULT_POLICY = 'default';

export interface SimModel {
  policy: PolicyName;
  quantum_ms?: number;
}

export interface Candidate {
  /** Unique name in the results (not "default"). */
  name: string;
  /** Host path of the compiled .bpf.o. */
  object: string;
  /** Values for the scheduler's SCX_PARAM parameters (the loader's --param). */
  params?: Record<string, number | boolean>;
  /** How core/sim models this policy (for the predicted ranking); null/absent: no prediction. */
  sim?: SimModel | null;
  /** Free text for the report (e.g. "library/ljf", "template"). */
  source?: string;
  /** An scx binary (sched-ext/scx) instead of a .bpf.o: started and stopped in the guest (core/scx/guest.ts); `object` is then the binary. */
  scx?: { binary: string; args: string[]; opsName: string };
  /** Loader only: job hints (core/job-hints.ts) fed through scx-job-hints (schedulers with job_hints / job_lens). */
  hints?: JobHints;
  /** Loader only: scx-job-hints --learn; each run's programs and CPU times land in RunRecord.jobs (needs job_lens). */
  learn?: boolean;
}

export interface Progress {
  phase: 'boot' | 'calibrate' | 'profile' | 'run' | 'done';
  /** Runs finished so far / all runs planned. */
  done: number;
  total: number;
  policy?: string;
  repeat?: number;
  message: string;
  elapsedMs: number;
}

export interface BenchmarkOptions {
  workload: Workload;
  candidates: Candidate[];
  /** Runs per policy (>= 1). */
  repeats: number;
  /** vCPUs of the VM when the runner boots its own (default 2). */
  cpus?: number;
  /** Run in this session (the caller boots and finishes it; no restart after a crash). */
  session?: SandboxSession;
  /** Or take VMs from here (shared across workloads; restarted after a crash; the caller closes it). */
  sessions?: SessionSource;
  /** Without session/sessions the runner boots its own VM with these options and shuts it down. */
  sessionOptions?: SessionOptions;
  /** Fresh VMs after crashes, at most (default 2); the policy that crashed one gets no more runs. */
  maxRestarts?: number;
  /** Counts competing load on the host (default: other QEMU processes); null: do not look. */
  hostProbe?: (() => number) | null;
  /** Before each run, wait up to this long (s) for the host probe to report no competing VM (default 0). */
  waitQuietS?: number;
  /** How core/sim models the kernel default (default: processor sharing, 'fair'). */
  defaultSim?: SimModel | null;
  /** After this many failed runs a candidate gets no more attempts (default 2; a verifier rejection stops at once). */
  maxFailures?: number;
  /**
   * Profile the workload once under the kernel default before the counted runs (scx-profile, as
   * profile_workload does), so results recorded from this benchmark carry the workload's fingerprint
   * and search can match them against workloads an agent profiles.
   */
  profile?: boolean;
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
}

export type FailureKind = 'load' | 'ejected' | 'workload' | 'output' | 'state' | 'unload' | 'vm' | 'skipped';

export interface RunRecord {
  /** Position in the interleaved order (0-based). */
  index: number;
  policy: string;
  /** 0-based repeat. */
  repeat: number;
  ok: boolean;
  failure?: FailureKind;
  error?: string;
  /** Host wall time of the whole run, load and unload included (ms). */
  hostMs: number;
  /** Guest wall time of the workload command (ms). */
  guestMs: number | null;
  sample?: WorkloadSample;
  loadFailure?: LoadFailure;
  exit?: SchedulerExit;
  /** Competing VMs on the host seen at the start or the end of the run (see hostProbe). */
  otherVms?: number;
  /** The guest console's tail when the VM died during this run. */
  console?: string;
  /** With Candidate.learn: the programs that exec'd and ended during the run, with their CPU time (scx-job-hints job_done lines). */
  jobs?: JobDone[];
}

export interface MetricStats {
  key: string;
  n: number;
  /** The values of the ok runs, in run order. */
  values: number[];
  median: number;
  min: number;
  max: number;
  mean: number;
  /** Improvement of the median over the default's median, % (positive = better, whichever direction is better). */
  vsDefaultPct: number | null;
  /**
   * The theoretical bound for this metric (best possible), if the workload has one: the workload's
   * own, or the median of this policy's runs' bounds when each run bounds its own work.
   */
  bound: number | null;
  /**
   * How far the median is from the bound, % of the bound (0 = at the bound); with per-run bounds,
   * the median of each run's distance from its own bound.
   */
  gapToBoundPct: number | null;
}

export interface PolicyResult {
  name: string;
  isDefault: boolean;
  source: string;
  /** ok: every run counted; partial: some failed; failed: none counted. */
  status: 'ok' | 'partial' | 'failed';
  runs: RunRecord[];
  metrics: Record<string, MetricStats>;
  failures: { repeat: number; kind: FailureKind; message: string }[];
  /** Counted runs during which another VM was running on the host. */
  contendedRuns: number;
}

export interface RankEntry {
  policy: string;
  value: number;
}

export interface Prediction {
  metric: string;
  objective: 'makespan' | 'mean_completion';
  /** Simulator values (ms), best first; `model` is the simulated policy family. */
  predicted: (RankEntry & { model: string })[];
  /** Measured medians of the same policies, best first. */
  measured: RankEntry[];
  /** Pairs of policies both orders put the same way round, of the pairs the simulator does not tie. */
  concordantPairs: number;
  comparablePairs: number;
  /** concordant / comparable, null when nothing is comparable. */
  agreement: number | null;
}

export interface BenchEnvironment {
  kernel: string | null;
  accelerator: string | null;
  acceleratorReason: string | null;
  guestCpus: number | null;
  hostCpus: number;
  hostModel: string;
  bootMs: number | null;
}

export interface BenchmarkResult {
  workload: { id: string; title: string; description: string; params: Record<string, string | number>; metrics: MetricDef[]; primary: string };
  environment: BenchEnvironment;
  startedAt: string;
  durationMs: number;
  repeats: number;
  calibration: unknown;
  /** The run order actually planned (interleaved). */
  order: { policy: string; repeat: number }[];
  policies: PolicyResult[];
  /** Per metric: the theoretical bound (see Workload.bounds), null when the workload has none. */
  bounds: Record<string, number | null>;
  /**
   * The unit length of the workload's work (ms), timed single-threaded at calibration, before every
   * default run and at the end; the bounds use the shortest (the machine at its fastest), so they
   * stay lower bounds however the host's load changed.
   */
  speed: { unitMs: number[]; referenceUnitMs: number } | null;
  /**
   * Where the bounds come from: the shortest unit timing (`unit`), each run's own work (`run`, e.g.
   * the CPU time its jobs took; each run is compared with its own bound), or none.
   */
  boundsFrom: 'unit' | 'run' | null;
  /** Every counted run did the same work (same jobs, units, iterations, checksums where printed). */
  sameWork: boolean;
  workSummary: string | null;
  predictions: Prediction[];
  /** Fresh VMs booted after crashes. */
  restarts: number;
  /** Runs the emulator's own faults took down (an int3 on a kernel patch site under TCG), each run again in a fresh VM. */
  lostRuns: RunRecord[];
  /** Set when the benchmark stopped early (VM failure, a scheduler that would not unload). */
  error: string | null;
  /** The guest console's tail from the last VM crash, if any. */
  crashConsole: string | null;
  /** The workload profiled under the kernel default (with `profile`), or why that failed. */
  profile: WorkloadProfile | null;
}

export type { WorkloadProfile };

/** Where the runner gets its VM; a restartable source boots a fresh one after a crash. */
export interface SessionSource {
  get(): Promise<SandboxSession>;
  readonly restartable: boolean;
}
