/**
 * A trace-driven scheduling simulator: predicts makespan and mean completion time of a job list
 * under simple policy families on identical CPUs, with the bounds no scheduler can beat. Pure
 * functions, no I/O; event-driven, so 10k jobs take milliseconds.
 *
 *   simulate({ cpus: 2, jobs: [{ id: 'a', work_ms: 39 }, ...] }, 'sjf')
 *   rankPolicies(input, 'mean_completion')
 */
import { ScxError } from '../errors.js';
import { computeBoundsNorm } from './bounds.js';
import { fifoOrder, keyOrder, listSchedule, processorSharing, roundRobin, type Schedule } from './policies.js';
import {
  DEFAULT_QUANTUM_MS,
  POLICY_NAMES,
  normalize,
  type Bounds,
  type JobOutcome,
  type NormJobs,
  type Objective,
  type PolicyName,
  type SimInput,
  type SimOptions,
  type SimResult,
} from './types.js';

export * from './types.js';
export { batchJobName, jobsFromSpec, parseJobSpec, BATCH_MAX_JOBS, BATCH_MAX_UNITS } from './spec.js';

function runPolicy(jobs: NormJobs, input: SimInput, policy: PolicyName, options: SimOptions): Schedule {
  const { cpus } = input;
  switch (policy) {
    case 'fifo':
      return listSchedule(jobs, cpus, fifoOrder(jobs));
    case 'sjf':
      return listSchedule(jobs, cpus, keyOrder(jobs, jobs.work, 1));
    case 'ljf':
      return listSchedule(jobs, cpus, keyOrder(jobs, jobs.work, -1));
    case 'priority':
      return listSchedule(jobs, cpus, keyOrder(jobs, jobs.priority, 1));
    case 'fair':
      return processorSharing(jobs, cpus);
    case 'rr':
      return roundRobin(jobs, cpus, input.quantum_ms ?? DEFAULT_QUANTUM_MS, {
        fastForward: options.fastForward ?? true,
        maxEvents: options.maxEvents ?? 50_000_000,
      });
    default:
      throw new ScxError('BAD_INPUT', `unknown policy '${String(policy)}'`, `use one of ${POLICY_NAMES.join(', ')}`);
  }
}

function summarize(jobs: NormJobs, input: SimInput, policy: PolicyName, sched: Schedule, bounds: Bounds): SimResult {
  const { n, ids, work, arrival, priority } = jobs;
  const out: JobOutcome[] = new Array<JobOutcome>(n);
  let makespan = 0;
  let sumC = 0;
  let sumT = 0;
  let maxT = 0;
  for (let i = 0; i < n; i++) {
    const c = sched.end[i]!;
    const turnaround = c - arrival[i]!;
    out[i] = {
      id: ids[i]!,
      work_ms: work[i]!,
      arrival_ms: arrival[i]!,
      priority: priority[i]!,
      start_ms: sched.start[i]!,
      completion_ms: c,
      turnaround_ms: turnaround,
      wait_ms: Math.max(0, turnaround - work[i]!),
    };
    makespan = Math.max(makespan, c);
    sumC += c;
    sumT += turnaround;
    maxT = Math.max(maxT, turnaround);
  }
  return {
    policy,
    cpus: input.cpus,
    quantum_ms: policy === 'rr' ? (input.quantum_ms ?? DEFAULT_QUANTUM_MS) : null,
    makespan_ms: makespan,
    mean_completion_ms: n ? sumC / n : 0,
    mean_turnaround_ms: n ? sumT / n : 0,
    max_turnaround_ms: maxT,
    jobs: out,
    bounds,
    events: sched.events,
  };
}

/** Simulate one policy. Throws ScxError('BAD_INPUT') on invalid input. */
export function simulate(input: SimInput, policy: PolicyName, options: SimOptions = {}): SimResult {
  const jobs = normalize(input);
  const sched = runPolicy(jobs, input, policy, options);
  return summarize(jobs, input, policy, sched, computeBoundsNorm(jobs, input.cpus));
}

/** The bounds alone (see Bounds). */
export function computeBounds(input: SimInput): Bounds {
  return computeBoundsNorm(normalize(input), input.cpus);
}

/** Simulate several policies on one input (validated and normalised once). */
export function simulateAll(input: SimInput, policies: readonly PolicyName[] = defaultPolicies(input), options: SimOptions = {}): SimResult[] {
  const jobs = normalize(input);
  const bounds = computeBoundsNorm(jobs, input.cpus);
  return policies.map((p) => summarize(jobs, input, p, runPolicy(jobs, input, p, options), bounds));
}

/** Every family; `priority` only when some job has a priority (else it is fifo). */
export function defaultPolicies(input: SimInput): PolicyName[] {
  const hasPriority = Array.isArray(input.jobs) && input.jobs.some((j) => j && j.priority !== undefined);
  return POLICY_NAMES.filter((p) => p !== 'priority' || hasPriority);
}

export interface RankedPolicy {
  rank: number;
  policy: PolicyName;
  /** The objective's value for this policy. */
  value: number;
  makespan_ms: number;
  mean_completion_ms: number;
  mean_turnaround_ms: number;
  /** value / bound (1 = provably optimal); null when the bound is 0. */
  ratio_to_bound: number | null;
}

export interface Ranking {
  objective: Objective;
  /** The lower bound for the objective (see Bounds). */
  bound: number;
  ranking: RankedPolicy[];
}

function objectiveValue(r: SimResult, objective: Objective): number {
  switch (objective) {
    case 'makespan':
      return r.makespan_ms;
    case 'mean_completion':
      return r.mean_completion_ms;
    case 'mean_turnaround':
      return r.mean_turnaround_ms;
  }
}

/**
 * Simulate the policies and order them best first by `objective` (lower is better); ties go to the
 * better other objective, then to the order of POLICY_NAMES.
 */
export function rankPolicies(input: SimInput, objective: Objective, policies?: readonly PolicyName[], options: SimOptions = {}): Ranking {
  if (objective !== 'makespan' && objective !== 'mean_completion' && objective !== 'mean_turnaround') {
    throw new ScxError('BAD_INPUT', `unknown objective '${String(objective)}'`, 'use makespan, mean_completion or mean_turnaround');
  }
  const results = simulateAll(input, policies ?? defaultPolicies(input), options);
  const n = input.jobs.length;
  const meanArrival = n ? input.jobs.reduce((s, j) => s + (j.arrival_ms ?? 0), 0) / n : 0;
  const b = results[0]?.bounds ?? computeBounds(input);
  const bound = objective === 'makespan' ? b.makespan_lower : objective === 'mean_completion' ? b.mean_completion_lower : b.mean_completion_lower - meanArrival;
  const secondary: Objective = objective === 'makespan' ? 'mean_completion' : 'makespan';
  const order = (p: PolicyName) => POLICY_NAMES.indexOf(p);
  const tol = (x: number) => 1e-9 * Math.max(1, Math.abs(x));
  const sorted = [...results].sort((x, y) => {
    const dx = objectiveValue(x, objective) - objectiveValue(y, objective);
    if (Math.abs(dx) > tol(objectiveValue(x, objective))) return dx;
    const ds = objectiveValue(x, secondary) - objectiveValue(y, secondary);
    if (Math.abs(ds) > tol(objectiveValue(x, secondary))) return ds;
    return order(x.policy) - order(y.policy);
  });
  return {
    objective,
    bound,
    ranking: sorted.map((r, i) => {
      const value = objectiveValue(r, objective);
      return {
        rank: i + 1,
        policy: r.policy,
        value,
        makespan_ms: r.makespan_ms,
        mean_completion_ms: r.mean_completion_ms,
        mean_turnaround_ms: r.mean_turnaround_ms,
        ratio_to_bound: bound > 0 ? value / bound : null,
      };
    }),
  };
}
