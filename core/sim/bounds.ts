import { Heap } from './heap.js';
import type { Bounds, NormJobs } from './types.js';

/**
 * Makespan lower bound: no job finishes before arrival + work, and the work arriving at or after any
 * arrival time a cannot finish before a + (that work) / cpus. With all arrivals at 0 this is
 * max(longest job, total work / cpus).
 */
export function makespanLower(jobs: NormJobs, cpus: number): number {
  const { n, work, arrival, byArrival } = jobs;
  let lb = 0;
  let suffix = 0;
  for (let k = n - 1; k >= 0; k--) {
    const j = byArrival[k]!;
    lb = Math.max(lb, arrival[j]! + work[j]!);
    suffix += work[j]!;
    // at the first job of a group of equal arrivals the suffix holds all work arriving from then on
    if (k === 0 || arrival[byArrival[k - 1]!] !== arrival[j]) lb = Math.max(lb, arrival[j]! + suffix / cpus);
  }
  return lb;
}

/** Sum of completion times of SPT list scheduling, optimal for simultaneous arrivals (P||ΣCj). */
function sptSum(jobs: NormJobs, cpus: number, t0: number): number {
  const sorted = Float64Array.from(jobs.work).sort();
  const m = Math.min(cpus, jobs.n);
  // SPT on identical machines: job k (in SPT order) goes to machine k mod m, after the jobs before it there
  let sum = 0;
  const load = new Float64Array(m);
  for (let k = 0; k < sorted.length; k++) {
    const c = k % m;
    load[c] = load[c]! + sorted[k]!;
    sum += t0 + load[c]!;
  }
  return sum;
}

/** SRPT on one machine `cpus` times faster: a lower bound for any schedule on `cpus` machines. */
function fastSrptSum(jobs: NormJobs, cpus: number): number {
  const { n, work, arrival, byArrival } = jobs;
  const rem = Float64Array.from(work);
  const heap = new Heap<number>((a, b) => rem[a]! < rem[b]! || (rem[a] === rem[b] && a < b));
  let t = 0;
  let ai = 0;
  let sum = 0;
  while (ai < n || heap.size > 0) {
    if (heap.size === 0) t = Math.max(t, arrival[byArrival[ai]!]!);
    while (ai < n && arrival[byArrival[ai]!]! <= t) heap.push(byArrival[ai++]!);
    const j = heap.peek()!;
    const nextArr = ai < n ? arrival[byArrival[ai]!]! : Infinity;
    const finish = t + rem[j]! / cpus;
    if (finish <= nextArr) {
      heap.pop();
      t = finish;
      sum += t;
    } else {
      rem[j] = rem[j]! - (nextArr - t) * cpus; // stays the smallest: the heap order holds
      t = nextArr;
    }
  }
  return sum;
}

export function computeBoundsNorm(jobs: NormJobs, cpus: number): Bounds {
  const { n, work, arrival } = jobs;
  if (n === 0) return { makespan_lower: 0, mean_completion_optimal: 0, mean_completion_lower: 0 };
  const a0 = arrival[0]!;
  let simultaneous = true;
  for (let i = 1; i < n; i++) if (arrival[i] !== a0) simultaneous = false;
  const makespan_lower = makespanLower(jobs, cpus);
  if (simultaneous) {
    const opt = sptSum(jobs, cpus, a0) / n;
    return { makespan_lower, mean_completion_optimal: opt, mean_completion_lower: opt };
  }
  let trivial = 0;
  for (let i = 0; i < n; i++) trivial += arrival[i]! + work[i]!;
  const lower = Math.max(trivial, fastSrptSum(jobs, cpus)) / n;
  return { makespan_lower, mean_completion_optimal: null, mean_completion_lower: lower };
}
