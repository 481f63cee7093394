import { z } from 'zod';
import { ScxError } from '../errors.js';

/**
 * Policy families the simulator models.
 * - `fifo`: non-preemptive, arrival order (ties: input order).
 * - `sjf`: non-preemptive, shortest job first among arrived jobs.
 * - `ljf`: non-preemptive, longest job first among arrived jobs.
 * - `priority`: non-preemptive, strict priority classes (lower number first), FIFO within a class.
 * - `fair`: ideal processor sharing (the quantum -> 0 limit of round robin): n active jobs on c CPUs
 *   each run at rate min(1, c/n).
 * - `rr`: round robin with a global FIFO queue and a time slice of `quantum_ms` (default 20 ms,
 *   sched_ext's default slice); a job whose slice expires goes to the tail.
 */
export type PolicyName = 'fifo' | 'sjf' | 'ljf' | 'priority' | 'fair' | 'rr';
export const POLICY_NAMES: readonly PolicyName[] = ['fifo', 'sjf', 'ljf', 'priority', 'fair', 'rr'];

export type Objective = 'makespan' | 'mean_completion' | 'mean_turnaround';

/** sched_ext's default slice (SCX_SLICE_DFL): used by `rr` when `quantum_ms` is absent. */
export const DEFAULT_QUANTUM_MS = 20;

export interface SimJob {
  id: string | number;
  /** CPU time the job needs, in ms (0 allowed). */
  work_ms: number;
  /** When the job becomes runnable, in ms from the common start (default 0). */
  arrival_ms?: number;
  /** Priority class for `priority`: lower runs first (default 0). */
  priority?: number;
}

export interface SimInput {
  /** Identical CPUs. */
  cpus: number;
  jobs: SimJob[];
  /** Time slice for `rr` (ms). */
  quantum_ms?: number;
}

export interface JobOutcome {
  id: string | number;
  work_ms: number;
  arrival_ms: number;
  priority: number;
  /** First time the job ran. */
  start_ms: number;
  /** When it finished, from the common start (t = 0). */
  completion_ms: number;
  /** completion - arrival */
  turnaround_ms: number;
  /** turnaround - work: time runnable but not running */
  wait_ms: number;
}

export interface Bounds {
  /** No schedule can finish sooner: max(longest job, total work / cpus), generalised to arrivals. */
  makespan_lower: number;
  /**
   * The optimal mean completion time (SPT list scheduling on identical CPUs), when every job
   * arrives at the same time; null otherwise (the problem is NP-hard with release dates).
   */
  mean_completion_optimal: number | null;
  /**
   * A lower bound on the mean completion time of any schedule: equal to the optimum for simultaneous
   * arrivals; with arrivals the larger of mean(arrival + work) and SRPT on one CPU `cpus` times faster.
   */
  mean_completion_lower: number;
}

export interface SimResult {
  policy: PolicyName;
  cpus: number;
  /** The slice used (rr only), else null. */
  quantum_ms: number | null;
  makespan_ms: number;
  /** Mean of completion_ms (from the common start); 0 for no jobs. */
  mean_completion_ms: number;
  mean_turnaround_ms: number;
  max_turnaround_ms: number;
  /** One entry per input job, in input order. */
  jobs: JobOutcome[];
  bounds: Bounds;
  /** Scheduling events the simulation processed (diagnostic). */
  events: number;
}

export interface SimOptions {
  /** rr: skip whole rounds analytically when nothing can change (default true). */
  fastForward?: boolean;
  /** rr: refuse inputs needing more slice events than this (default 50 million). */
  maxEvents?: number;
}

/** For tools that take a simulation input from an agent (MCP): the same rules simulate() enforces. */
export const simJobSchema = z.object({
  id: z.union([z.string(), z.number()]),
  work_ms: z.number().min(0),
  arrival_ms: z.number().min(0).optional(),
  priority: z.number().optional(),
});

export const simInputSchema = z.object({
  cpus: z.number().int().min(1).max(65536),
  jobs: z.array(simJobSchema).max(1_000_000),
  quantum_ms: z.number().positive().optional(),
});

export const policyNameSchema = z.enum(['fifo', 'sjf', 'ljf', 'priority', 'fair', 'rr']);
export const objectiveSchema = z.enum(['makespan', 'mean_completion', 'mean_turnaround']);

/** Jobs in columnar form, after validation and defaults. */
export interface NormJobs {
  n: number;
  ids: (string | number)[];
  work: Float64Array;
  arrival: Float64Array;
  priority: Float64Array;
  /** Indices sorted by (arrival, input index). */
  byArrival: Int32Array;
}

function bad(message: string, hint?: string): never {
  throw new ScxError('BAD_INPUT', message, hint);
}

export function validateInput(input: SimInput): void {
  if (input === null || typeof input !== 'object') bad('simulation input must be an object {cpus, jobs, quantum_ms?}');
  const { cpus, jobs, quantum_ms } = input;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 65536) {
    bad(`cpus must be an integer from 1 to 65536, got ${String(cpus)}`);
  }
  if (!Array.isArray(jobs)) bad('jobs must be an array of {id, work_ms, arrival_ms?, priority?}');
  if (quantum_ms !== undefined && !(Number.isFinite(quantum_ms) && quantum_ms > 0)) {
    bad(`quantum_ms must be a positive number, got ${String(quantum_ms)}`);
  }
  const seen = new Set<string | number>();
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i];
    if (j === null || typeof j !== 'object') bad(`jobs[${i}] must be an object {id, work_ms, arrival_ms?, priority?}`);
    if (typeof j.id !== 'string' && typeof j.id !== 'number') bad(`jobs[${i}].id must be a string or a number`);
    if (seen.has(j.id)) bad(`jobs[${i}].id ${JSON.stringify(j.id)} is used by an earlier job`, 'give every job its own id');
    seen.add(j.id);
    if (!(Number.isFinite(j.work_ms) && j.work_ms >= 0)) {
      bad(`jobs[${i}].work_ms must be a finite number >= 0, got ${String(j.work_ms)}`);
    }
    if (j.arrival_ms !== undefined && !(Number.isFinite(j.arrival_ms) && j.arrival_ms >= 0)) {
      bad(`jobs[${i}].arrival_ms must be a finite number >= 0, got ${String(j.arrival_ms)}`);
    }
    if (j.priority !== undefined && !Number.isFinite(j.priority)) {
      bad(`jobs[${i}].priority must be a finite number, got ${String(j.priority)}`);
    }
  }
}

export function normalize(input: SimInput): NormJobs {
  validateInput(input);
  const n = input.jobs.length;
  const work = new Float64Array(n);
  const arrival = new Float64Array(n);
  const priority = new Float64Array(n);
  const ids: (string | number)[] = new Array<string | number>(n);
  for (let i = 0; i < n; i++) {
    const j = input.jobs[i] as SimJob;
    ids[i] = j.id;
    work[i] = j.work_ms;
    arrival[i] = j.arrival_ms ?? 0;
    priority[i] = j.priority ?? 0;
  }
  const byArrival = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const d = (arrival[a] as number) - (arrival[b] as number);
    return d !== 0 ? d : a - b;
  });
  return { n, ids, work, arrival, priority, byArrival };
}
