/**
 * The schedulers, as event-driven simulations over columnar jobs (see types.ts for NormJobs).
 * Each returns per-job first-run and completion times, indexed like the input.
 */
import { ScxError } from '../errors.js';
import { Heap } from './heap.js';
import type { NormJobs } from './types.js';

export interface Schedule {
  start: Float64Array;
  end: Float64Array;
  events: number;
}

/** Relative tolerance for "the same instant" and "no work left". */
const REL_EPS = 1e-9;

/**
 * Non-preemptive list scheduling: whenever a CPU is free, it takes the best arrived job by `before`
 * (or idles until the next arrival). Work-conserving; O(n log n).
 */
export function listSchedule(jobs: NormJobs, cpus: number, before: (a: number, b: number) => boolean): Schedule {
  const { n, work, arrival, byArrival } = jobs;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const ready = new Heap<number>(before);
  // Free times of CPUs; more CPUs than jobs can never matter.
  const free = new Heap<number>((a, b) => a < b);
  for (let c = 0; c < Math.min(cpus, n); c++) free.push(0);
  let ai = 0;
  for (let k = 0; k < n; k++) {
    let f = free.pop()!;
    while (ai < n && arrival[byArrival[ai]!]! <= f) ready.push(byArrival[ai++]!);
    if (ready.size === 0) {
      // idle until the next arrival (there is one: k < n jobs are placed, the rest not yet admitted)
      f = arrival[byArrival[ai]!]!;
      while (ai < n && arrival[byArrival[ai]!]! <= f) ready.push(byArrival[ai++]!);
    }
    const j = ready.pop()!;
    // A job admitted while another CPU skipped ahead to its arrival cannot start before it arrives.
    const s = Math.max(f, arrival[j]!);
    start[j] = s;
    end[j] = s + work[j]!;
    free.push(end[j]!);
  }
  return { start, end, events: n };
}

/** Orderings for the non-preemptive families; ties go to the earlier arrival, then input order. */
export function fifoOrder(jobs: NormJobs): (a: number, b: number) => boolean {
  const { arrival } = jobs;
  return (a, b) => arrival[a]! < arrival[b]! || (arrival[a] === arrival[b] && a < b);
}

export function keyOrder(jobs: NormJobs, key: Float64Array, sign: 1 | -1): (a: number, b: number) => boolean {
  const fifo = fifoOrder(jobs);
  return (a, b) => {
    const ka = sign * key[a]!;
    const kb = sign * key[b]!;
    return ka < kb || (ka === kb && fifo(a, b));
  };
}

/**
 * Ideal processor sharing: with n active jobs on c CPUs every job runs at rate min(1, c/n).
 * All active jobs get the same rate, so a job finishes when the common "virtual service" V reaches
 * V(at its arrival) + work: a heap of those tags gives the next finish. O(n log n).
 */
export function processorSharing(jobs: NormJobs, cpus: number): Schedule {
  const { n, work, arrival, byArrival } = jobs;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const tag = new Float64Array(n);
  const active = new Heap<number>((a, b) => tag[a]! < tag[b]! || (tag[a] === tag[b] && a < b));
  let t = 0;
  let v = 0;
  let ai = 0;
  let events = 0;
  const admitUpTo = (time: number) => {
    while (ai < n && arrival[byArrival[ai]!]! <= time) {
      const j = byArrival[ai++]!;
      tag[j] = v + work[j]!;
      start[j] = arrival[j]!;
      active.push(j);
      events++;
    }
  };
  while (ai < n || active.size > 0) {
    if (active.size === 0) {
      t = arrival[byArrival[ai]!]!;
      admitUpTo(t);
    }
    // finish everything whose tag has been reached (zero-work jobs finish on arrival)
    const tol = REL_EPS * Math.max(1, Math.abs(v));
    while (active.size > 0 && tag[active.peek()!]! <= v + tol) {
      const j = active.pop()!;
      end[j] = t;
      events++;
    }
    if (active.size === 0) continue;
    const rate = Math.min(1, cpus / active.size);
    const nextArr = ai < n ? arrival[byArrival[ai]!]! : Infinity;
    const top = active.peek()!;
    const tFinish = t + (tag[top]! - v) / rate;
    if (tFinish <= nextArr) {
      t = tFinish;
      v = tag[top]!;
    } else {
      v += (nextArr - t) * rate;
      t = nextArr;
      admitUpTo(t);
    }
  }
  return { start, end, events };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Round robin with quantum q on `cpus` CPUs and one global FIFO run queue. At a slice end the job
 * goes to the queue's tail (or finishes); idle CPUs take the head. Jobs arriving at the same instant
 * as a slice end are queued first.
 *
 * One event per slice, with a fast-forward: once every active job has started and no arrival or
 * completion can happen within the next k "periods", the state after a period repeats with every
 * job q*(slices per period) shorter, so k periods are skipped at once. A period is q when the queue
 * is empty (each running job gets one slice), else (n/g)*q with g = gcd(n, cpus), in which each of
 * the n jobs gets cpus/g slices (the sequence of queue pops is periodic with period n).
 */
export function roundRobin(jobs: NormJobs, cpus: number, q: number, opts: { fastForward: boolean; maxEvents: number }): Schedule {
  const { n, work, arrival, byArrival } = jobs;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const rem = Float64Array.from(work);
  const started = new Uint8Array(n);
  const C = Math.max(1, Math.min(cpus, n));
  const cpuJob = new Int32Array(C).fill(-1);
  const sliceEnd = new Float64Array(C);
  const sliceLen = new Float64Array(C);
  const finalSlice = new Uint8Array(C);
  const busy = new Heap<number>((a, b) => sliceEnd[a]! < sliceEnd[b]! || (sliceEnd[a] === sliceEnd[b] && a < b));
  // Idle CPUs are taken lowest id first, and simultaneous slice ends are handled in CPU id order:
  // so jobs re-enter the queue in the order they left it, and the cyclic order of jobs is invariant.
  const idle = new Heap<number>((a, b) => a < b);
  for (let c = 0; c < C; c++) idle.push(c);
  // circular FIFO: a job is in it at most once
  const cap = n + 1;
  const queue = new Int32Array(cap);
  let qHead = 0;
  let qLen = 0;
  const qPush = (j: number) => {
    queue[(qHead + qLen) % cap] = j;
    qLen++;
  };
  const qShift = (): number => {
    const j = queue[qHead]!;
    qHead = (qHead + 1) % cap;
    qLen--;
    return j;
  };

  let ai = 0;
  let active = 0;
  let unstarted = 0;
  let events = 0;
  let sinceFF = 0;
  const finalLimit = q * (1 + REL_EPS);

  const dispatch = (t: number) => {
    while (idle.size > 0 && qLen > 0) {
      const c = idle.pop()!;
      const j = qShift();
      if (!started[j]) {
        started[j] = 1;
        start[j] = t;
        unstarted--;
      }
      const fin = rem[j]! <= finalLimit;
      cpuJob[c] = j;
      sliceLen[c] = fin ? rem[j]! : q;
      finalSlice[c] = fin ? 1 : 0;
      sliceEnd[c] = t + sliceLen[c]!;
      busy.push(c);
    }
  };

  const fastForward = (t: number, nextArr: number) => {
    if (unstarted > 0 || active === 0) return;
    let minRem = Infinity;
    for (let c = 0; c < C; c++) {
      const j = cpuJob[c]!;
      if (j < 0) continue;
      if (finalSlice[c]) return;
      minRem = Math.min(minRem, rem[j]! - sliceLen[c]!);
    }
    for (let k = 0, p = qHead; k < qLen; k++, p = (p + 1) % cap) minRem = Math.min(minRem, rem[queue[p]!]!);
    let period: number;
    let slicesPer: number;
    if (qLen === 0) {
      period = q;
      slicesPer = 1;
    } else {
      const g = gcd(active, C);
      period = (active / g) * q;
      slicesPer = C / g;
    }
    const perPeriod = slicesPer * q;
    // keep one period of margin on both limits against rounding
    let k = Math.floor((minRem / perPeriod) * (1 - 1e-9)) - 1;
    if (nextArr !== Infinity) k = Math.min(k, Math.floor((nextArr - t) / period) - 1);
    if (k < 1) return;
    const dt = k * period;
    const dw = k * perPeriod;
    for (let c = 0; c < C; c++) {
      const j = cpuJob[c]!;
      if (j < 0) continue;
      sliceEnd[c] = sliceEnd[c]! + dt; // a uniform shift keeps the heap ordered
      rem[j] = rem[j]! - dw;
    }
    for (let i = 0, p = qHead; i < qLen; i++, p = (p + 1) % cap) rem[queue[p]!] = rem[queue[p]!]! - dw;
  };

  for (;;) {
    const nextArr = ai < n ? arrival[byArrival[ai]!]! : Infinity;
    const nextEv = busy.size > 0 ? sliceEnd[busy.peek()!]! : Infinity;
    if (nextArr === Infinity && nextEv === Infinity) break;
    // One instant: arrivals queue first, then expired slices (in CPU id order), then idle CPUs dispatch.
    const t = Math.min(nextArr, nextEv);
    const tol = REL_EPS * Math.max(1, Math.abs(t));
    while (ai < n && arrival[byArrival[ai]!]! <= t + tol) {
      qPush(byArrival[ai++]!);
      active++;
      unstarted++;
    }
    while (busy.size > 0 && sliceEnd[busy.peek()!]! <= t + tol) {
      const c = busy.pop()!;
      const j = cpuJob[c]!;
      events++;
      sinceFF++;
      if (finalSlice[c]) {
        rem[j] = 0;
        end[j] = sliceEnd[c]!;
        active--;
      } else {
        rem[j] = rem[j]! - sliceLen[c]!;
        qPush(j);
      }
      cpuJob[c] = -1;
      idle.push(c);
    }
    if (events > opts.maxEvents) {
      throw new ScxError(
        'BAD_INPUT',
        `rr with quantum_ms=${q} needs more than ${opts.maxEvents} slice events for these jobs`,
        'raise quantum_ms, or use the fair policy (the quantum -> 0 limit of rr)',
      );
    }
    dispatch(t);
    if (opts.fastForward && sinceFF >= Math.max(active, 8)) {
      sinceFF = 0;
      fastForward(t, ai < n ? arrival[byArrival[ai]!]! : Infinity);
    }
  }
  return { start, end, events };
}
