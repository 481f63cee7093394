import { describe, expect, it } from 'vitest';
import { ScxError } from '../../core/errors.js';
import {
  computeBounds,
  defaultPolicies,
  jobsFromSpec,
  parseJobSpec,
  rankPolicies,
  simInputSchema,
  simulate,
  simulateAll,
  type PolicyName,
  type SimInput,
  type SimJob,
  type SimResult,
} from '../../core/sim/index.js';

/** The seed's canonical uneven batch: one 39-unit job and 39 one-unit jobs (spec 1x39,39x1). */
const uneven: SimJob[] = [{ id: 'big', work_ms: 39 }, ...Array.from({ length: 39 }, (_, i) => ({ id: i + 1, work_ms: 1 }))];

function completions(r: SimResult): Record<string, number> {
  return Object.fromEntries(r.jobs.map((j) => [String(j.id), j.completion_ms]));
}

/** Deterministic PRNG (mulberry32) for property tests. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomJobs(seed: number, n: number, opts: { integer?: boolean; arrivals?: boolean; priorities?: boolean }): SimJob[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const heavy = r() < 0.15;
    const w = heavy ? 20 + r() * 80 : r() * 10;
    const job: SimJob = { id: `j${i}`, work_ms: opts.integer ? Math.floor(w) : w };
    if (opts.arrivals) job.arrival_ms = opts.integer ? Math.floor(r() * 60) : r() * 60;
    if (opts.priorities) job.priority = Math.floor(r() * 3);
    return job;
  });
}

/**
 * Reference non-preemptive list scheduler, written independently (O(n^2), no heaps): the earliest-free
 * CPU takes the best job available at max(its free time, the earliest remaining arrival).
 */
function referenceList(input: SimInput, better: (a: SimJob, b: SimJob, ia: number, ib: number) => boolean): number[] {
  const free = new Array<number>(input.cpus).fill(0);
  const left = new Set(input.jobs.map((_, i) => i));
  const done = new Array<number>(input.jobs.length).fill(NaN);
  while (left.size > 0) {
    let c = 0;
    for (let k = 1; k < free.length; k++) if (free[k]! < free[c]!) c = k;
    const earliest = Math.min(...[...left].map((i) => input.jobs[i]!.arrival_ms ?? 0));
    const t = Math.max(free[c]!, earliest);
    let best = -1;
    for (const i of left) {
      if ((input.jobs[i]!.arrival_ms ?? 0) > t) continue;
      if (best < 0 || better(input.jobs[i]!, input.jobs[best]!, i, best)) best = i;
    }
    left.delete(best);
    free[c] = t + input.jobs[best]!.work_ms;
    done[best] = free[c]!;
  }
  return done;
}

const arr = (j: SimJob) => j.arrival_ms ?? 0;
const fifoBetter = (a: SimJob, b: SimJob, ia: number, ib: number) => arr(a) < arr(b) || (arr(a) === arr(b) && ia < ib);
const keyBetter =
  (key: (j: SimJob) => number) =>
  (a: SimJob, b: SimJob, ia: number, ib: number): boolean =>
    key(a) < key(b) || (key(a) === key(b) && fifoBetter(a, b, ia, ib));

/**
 * Reference round robin for integer work, arrivals and quantum, stepping one time unit at a time:
 * at each instant arrivals queue first, then expired slices requeue (CPU id order), then idle CPUs
 * (lowest id first) take the queue head.
 */
function referenceRR(input: SimInput, q: number): number[] {
  const n = input.jobs.length;
  const rem = input.jobs.map((j) => j.work_ms);
  const done = new Array<number>(n).fill(NaN);
  const cpuJob = new Array<number>(input.cpus).fill(-1);
  const used = new Array<number>(input.cpus).fill(0);
  const queue: number[] = [];
  const order = input.jobs.map((_, i) => i).sort((a, b) => arr(input.jobs[a]!) - arr(input.jobs[b]!) || a - b);
  let finished = 0;
  for (let t = 0; finished < n; t++) {
    for (const i of order) if (arr(input.jobs[i]!) === t) queue.push(i);
    for (let c = 0; c < input.cpus; c++) {
      const j = cpuJob[c]!;
      if (j < 0) continue;
      if (rem[j] === 0) {
        done[j] = t;
        finished++;
        cpuJob[c] = -1;
      } else if (used[c] === q) {
        queue.push(j);
        cpuJob[c] = -1;
      }
    }
    for (let c = 0; c < input.cpus; c++) {
      if (cpuJob[c]! >= 0 || queue.length === 0) continue;
      const j = queue.shift()!;
      if (rem[j] === 0) {
        done[j] = t; // zero-work job: finishes when dispatched
        finished++;
        c--; // this CPU is still idle
        continue;
      }
      cpuJob[c] = j;
      used[c] = 0;
    }
    for (let c = 0; c < input.cpus; c++) {
      const j = cpuJob[c]!;
      if (j < 0) continue;
      rem[j] = rem[j]! - 1;
      used[c] = used[c]! + 1;
    }
  }
  return done;
}

describe('hand-computed schedules: 2 CPUs, one 39 ms job and 39 jobs of 1 ms', () => {
  const input: SimInput = { cpus: 2, jobs: uneven, quantum_ms: 1 };

  it('ljf: the long job gets a CPU at once, the short ones fill the other: makespan 39', () => {
    const r = simulate(input, 'ljf');
    expect(r.makespan_ms).toBe(39);
    // completions 39 (big) and 1..39 (small ones, back to back on the other CPU)
    expect(r.mean_completion_ms).toBeCloseTo((39 + (39 * 40) / 2) / 40, 12); // 20.475
    expect(completions(r).big).toBe(39);
  });

  it('fifo in spawn order matches ljf here (the big job is first)', () => {
    const r = simulate(input, 'fifo');
    expect(r.makespan_ms).toBe(39);
    expect(r.mean_completion_ms).toBeCloseTo(20.475, 12);
  });

  it('sjf: the short jobs finish in pairs at 1..19 (and one at 20), the big one starts at 19: 58', () => {
    const r = simulate(input, 'sjf');
    expect(r.makespan_ms).toBe(58);
    // 2*(1+..+19) + 20 + 58 = 458
    expect(r.mean_completion_ms).toBeCloseTo(458 / 40, 12); // 11.45
    expect(r.jobs[0]!.start_ms).toBe(19);
  });

  it('fair (processor sharing): 40 jobs at rate 2/40 until the short ones end at 20, then 38 ms alone', () => {
    const r = simulate(input, 'fair');
    const c = completions(r);
    for (let i = 1; i <= 39; i++) expect(c[String(i)]).toBeCloseTo(20, 9);
    expect(c.big).toBeCloseTo(58, 9);
    expect(r.makespan_ms).toBeCloseTo(58, 9);
    expect(r.mean_completion_ms).toBeCloseTo((39 * 20 + 58) / 40, 9); // 20.95
  });

  it('rr with a 1 ms quantum: short jobs finish 1, 2, 2, 3, 3, ..., 20, 20; the big one at 58', () => {
    const r = simulate(input, 'rr');
    expect(r.quantum_ms).toBe(1);
    expect(r.makespan_ms).toBe(58);
    expect(r.mean_completion_ms).toBeCloseTo((1 + 2 * 209 + 58) / 40, 12); // 11.925
  });

  it('bounds: makespan >= max(39, 78/2); SPT is the optimal mean completion', () => {
    const b = computeBounds(input);
    expect(b.makespan_lower).toBe(39);
    expect(b.mean_completion_optimal).toBeCloseTo(11.45, 12);
    expect(b.mean_completion_lower).toBeCloseTo(11.45, 12);
  });

  it('rankPolicies orders by the objective and breaks ties by the other one', () => {
    const byMakespan = rankPolicies(input, 'makespan');
    expect(byMakespan.bound).toBe(39);
    expect(byMakespan.ranking.map((r) => r.policy).slice(0, 2)).toEqual(['fifo', 'ljf']);
    expect(byMakespan.ranking[0]!.ratio_to_bound).toBe(1);
    const byMean = rankPolicies(input, 'mean_completion');
    expect(byMean.ranking.map((r) => r.policy)).toEqual(['sjf', 'rr', 'fifo', 'ljf', 'fair']);
    expect(byMean.ranking[0]!.ratio_to_bound).toBeCloseTo(1, 12);
    expect(byMean.ranking.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    // no priorities given: priority (== fifo) is left out
    expect(byMean.ranking.some((r) => r.policy === 'priority')).toBe(false);
  });
});

describe('edge cases', () => {
  it('0 jobs: everything is 0 for every policy', () => {
    for (const p of ['fifo', 'sjf', 'ljf', 'priority', 'fair', 'rr'] as PolicyName[]) {
      const r = simulate({ cpus: 4, jobs: [] }, p);
      expect(r).toMatchObject({ makespan_ms: 0, mean_completion_ms: 0, mean_turnaround_ms: 0, jobs: [] });
      expect(r.bounds).toEqual({ makespan_lower: 0, mean_completion_optimal: 0, mean_completion_lower: 0 });
    }
    expect(rankPolicies({ cpus: 1, jobs: [] }, 'makespan').ranking[0]!.ratio_to_bound).toBeNull();
  });

  it('1 CPU, jobs 3, 1, 2 (all at 0)', () => {
    const input: SimInput = { cpus: 1, jobs: [3, 1, 2].map((w, i) => ({ id: i, work_ms: w })), quantum_ms: 1 };
    const c = (p: PolicyName) => simulate(input, p).jobs.map((j) => j.completion_ms);
    expect(c('fifo')).toEqual([3, 4, 6]);
    expect(c('sjf')).toEqual([6, 1, 3]);
    expect(c('ljf')).toEqual([3, 6, 5]);
    // PS: rate 1/3 until job 1 is done at 3; rate 1/2 until job 2 is done at 5; job 0 alone to 6
    c('fair').forEach((v, i) => expect(v).toBeCloseTo([6, 3, 5][i]!, 9));
    // rr q=1: 0 1 2 0 2 0 -> job 1 at 2, job 2 at 5, job 0 at 6
    expect(c('rr')).toEqual([6, 2, 5]);
    expect(simulate(input, 'sjf').mean_completion_ms).toBeCloseTo(10 / 3, 12);
  });

  it('more CPUs than jobs: every job runs alone from its arrival', () => {
    const input: SimInput = {
      cpus: 8,
      jobs: [
        { id: 'a', work_ms: 5 },
        { id: 'b', work_ms: 3, arrival_ms: 1 },
      ],
    };
    for (const r of simulateAll(input)) {
      expect(completions(r)).toEqual({ a: 5, b: 4 });
      expect(r.makespan_ms).toBe(5);
      expect(r.jobs.every((j) => j.wait_ms === 0)).toBe(true);
    }
    expect(computeBounds(input).makespan_lower).toBe(5);
  });

  it('arrivals: 1 CPU, A (10 ms) at 0 and B (1 ms) at 2', () => {
    const input: SimInput = {
      cpus: 1,
      jobs: [
        { id: 'A', work_ms: 10 },
        { id: 'B', work_ms: 1, arrival_ms: 2 },
      ],
      quantum_ms: 1,
    };
    // non-preemptive: B was not there when A started
    for (const p of ['fifo', 'sjf', 'ljf'] as PolicyName[]) expect(completions(simulate(input, p))).toEqual({ A: 10, B: 11 });
    // PS: A alone until 2 (8 left), then both at rate 1/2: B done at 4, A has 7 left: done at 11
    const fair = completions(simulate(input, 'fair'));
    expect(fair.A).toBeCloseTo(11, 9);
    expect(fair.B).toBeCloseTo(4, 9);
    // rr: B arrives as A's slice ends at 2, queues ahead of A, runs 2..3
    const rr = simulate(input, 'rr');
    expect(completions(rr)).toEqual({ A: 11, B: 3 });
    expect(rr.jobs[1]!.turnaround_ms).toBe(1);
    const b = rr.bounds;
    expect(b.makespan_lower).toBe(11);
    expect(b.mean_completion_optimal).toBeNull();
    // SRPT on one CPU: B done at 3, A at 11 -> 7; the best real schedule (idle to 2, B, A) gets 8
    expect(b.mean_completion_lower).toBeCloseTo(7, 12);
  });

  it('arrivals: CPUs idle until work arrives', () => {
    const input: SimInput = {
      cpus: 2,
      jobs: [
        { id: 'x', work_ms: 4, arrival_ms: 5 },
        { id: 'y', work_ms: 2, arrival_ms: 5 },
      ],
    };
    for (const r of simulateAll(input)) {
      expect(completions(r)).toEqual({ x: 9, y: 7 });
      expect(r.jobs[0]!.start_ms).toBe(5);
    }
    // simultaneous (at 5): SPT on 2 CPUs is the optimum
    expect(computeBounds(input).mean_completion_optimal).toBe(8);
  });

  it('priority: lower class first, FIFO inside a class; non-preemptive', () => {
    const input: SimInput = {
      cpus: 1,
      jobs: [
        { id: 'a', work_ms: 2, priority: 1 },
        { id: 'b', work_ms: 2, priority: 0 },
        { id: 'c', work_ms: 2, priority: 0 },
        { id: 'd', work_ms: 1, priority: -1, arrival_ms: 1 },
      ],
    };
    expect(completions(simulate(input, 'priority'))).toEqual({ b: 2, d: 3, c: 5, a: 7 });
    expect(defaultPolicies(input)).toContain('priority');
  });

  it('zero-work jobs finish when they arrive (or are dispatched)', () => {
    const input: SimInput = {
      cpus: 1,
      jobs: [
        { id: 'z', work_ms: 0 },
        { id: 'w', work_ms: 2 },
        { id: 'z2', work_ms: 0, arrival_ms: 1 },
      ],
    };
    expect(completions(simulate(input, 'fair'))).toEqual({ z: 0, w: 2, z2: 1 });
    expect(completions(simulate(input, 'fifo'))).toEqual({ z: 0, w: 2, z2: 2 });
    expect(completions(simulate({ ...input, quantum_ms: 1 }, 'rr'))).toEqual({ z: 0, w: 2, z2: 1 });
  });

  it('rr with a quantum longer than every job is fifo', () => {
    const jobs = randomJobs(7, 50, {});
    const rr = simulate({ cpus: 3, jobs, quantum_ms: 1000 }, 'rr');
    const fifo = simulate({ cpus: 3, jobs }, 'fifo');
    rr.jobs.forEach((j, i) => expect(j.completion_ms).toBeCloseTo(fifo.jobs[i]!.completion_ms, 9));
  });

  it('rr defaults to a 20 ms slice; priority defaults to class 0', () => {
    expect(simulate({ cpus: 1, jobs: [{ id: 1, work_ms: 1 }] }, 'rr').quantum_ms).toBe(20);
    expect(simulate({ cpus: 1, jobs: [{ id: 1, work_ms: 1 }] }, 'fifo').jobs[0]!.priority).toBe(0);
  });

  it('rejects bad input with BAD_INPUT and a message naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ cpus: 0, jobs: [] }, /cpus/],
      [{ cpus: 1.5, jobs: [] }, /cpus/],
      [{ cpus: 1, jobs: 'x' }, /jobs must be an array/],
      [{ cpus: 1, jobs: [{ id: 1, work_ms: -1 }] }, /jobs\[0\]\.work_ms/],
      [{ cpus: 1, jobs: [{ id: 1, work_ms: NaN }] }, /work_ms/],
      [{ cpus: 1, jobs: [{ id: 1, work_ms: 1, arrival_ms: -2 }] }, /arrival_ms/],
      [
        {
          cpus: 1,
          jobs: [
            { id: 1, work_ms: 1 },
            { id: 1, work_ms: 2 },
          ],
        },
        /jobs\[1\]\.id/,
      ],
      [{ cpus: 1, jobs: [{ work_ms: 1 }] }, /id must be/],
      [{ cpus: 1, jobs: [], quantum_ms: 0 }, /quantum_ms/],
    ];
    for (const [input, msg] of bad) {
      let err: unknown;
      try {
        simulate(input as SimInput, 'fifo');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScxError);
      expect((err as ScxError).code).toBe('BAD_INPUT');
      expect((err as ScxError).message).toMatch(msg);
      // the zod schema for tool inputs agrees (it cannot see duplicate ids, simulate() does)
      if (!msg.source.includes('jobs\\[1\\]\\.id')) expect(simInputSchema.safeParse(input).success).toBe(false);
    }
    expect(() => simulate({ cpus: 1, jobs: [] }, 'bogus' as PolicyName)).toThrow(/unknown policy/);
    expect(() => rankPolicies({ cpus: 1, jobs: [] }, 'bogus' as 'makespan')).toThrow(/unknown objective/);
  });

  it('rr refuses inputs that would need too many slice events', () => {
    const input: SimInput = {
      cpus: 1,
      jobs: [
        { id: 1, work_ms: 1000 },
        { id: 2, work_ms: 1000 },
      ],
      quantum_ms: 0.001,
    };
    expect(() => simulate(input, 'rr', { maxEvents: 10_000, fastForward: false })).toThrow(/raise quantum_ms|slice events/);
  });
});

describe('properties on random inputs', () => {
  it('non-preemptive families match an independent reference scheduler', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const input: SimInput = { cpus: 1 + (seed % 4), jobs: randomJobs(seed, 5 + seed, { arrivals: seed % 2 === 0, priorities: true }) };
      const refs: [PolicyName, number[]][] = [
        ['fifo', referenceList(input, fifoBetter)],
        [
          'sjf',
          referenceList(
            input,
            keyBetter((j) => j.work_ms),
          ),
        ],
        [
          'ljf',
          referenceList(
            input,
            keyBetter((j) => -j.work_ms),
          ),
        ],
        [
          'priority',
          referenceList(
            input,
            keyBetter((j) => j.priority ?? 0),
          ),
        ],
      ];
      for (const [p, ref] of refs) {
        const got = simulate(input, p).jobs.map((j) => j.completion_ms);
        got.forEach((v, i) => expect(v, `${p} seed ${seed} job ${i}`).toBeCloseTo(ref[i]!, 9));
      }
    }
  });

  it('rr matches a unit-step reference (integer work, arrivals, quantum)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const q = 1 + (seed % 3);
      const input: SimInput = {
        cpus: 1 + (seed % 3),
        jobs: randomJobs(100 + seed, 4 + (seed % 12), { integer: true, arrivals: seed % 3 !== 0 }),
        quantum_ms: q,
      };
      const ref = referenceRR(input, q);
      const got = simulate(input, 'rr').jobs.map((j) => j.completion_ms);
      expect(got, `seed ${seed}`).toEqual(ref);
    }
  });

  it('rr fast-forward gives the same schedule as slice-by-slice simulation, with far fewer events', () => {
    let fewer = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const input: SimInput = {
        cpus: 1 + (seed % 5),
        jobs: randomJobs(200 + seed, 3 + (seed % 20), { arrivals: seed % 2 === 0, integer: seed % 3 === 0 }),
        quantum_ms: [0.05, 0.3, 1][seed % 3],
      };
      const ff = simulate(input, 'rr');
      const slow = simulate(input, 'rr', { fastForward: false });
      ff.jobs.forEach((j, i) => {
        expect(j.completion_ms, `seed ${seed} job ${i}`).toBeCloseTo(slow.jobs[i]!.completion_ms, 6);
        expect(j.start_ms).toBeCloseTo(slow.jobs[i]!.start_ms, 6);
      });
      if (ff.events < slow.events / 2) fewer++;
    }
    expect(fewer).toBeGreaterThan(10);
    // a long-running pair on one CPU: millions of 1 ms slices, skipped in a handful of events
    const long = simulate(
      {
        cpus: 1,
        jobs: [
          { id: 'a', work_ms: 2e6 },
          { id: 'b', work_ms: 3e6 },
        ],
        quantum_ms: 1,
      },
      'rr',
    );
    expect(long.events).toBeLessThan(100);
    expect(completions(long)).toEqual({ a: 4e6 - 1, b: 5e6 });
  });

  it('rr converges to fair as the quantum shrinks', () => {
    const input: SimInput = { cpus: 2, jobs: randomJobs(9, 12, { arrivals: true }) };
    const fair = simulate(input, 'fair');
    const rr = simulate({ ...input, quantum_ms: 0.001 }, 'rr');
    rr.jobs.forEach((j, i) => expect(Math.abs(j.completion_ms - fair.jobs[i]!.completion_ms)).toBeLessThan(0.05));
  });

  it('every policy respects the bounds, arrivals, work and CPU capacity; sjf attains the optimum', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const input: SimInput = { cpus: 1 + (seed % 4), jobs: randomJobs(300 + seed, 1 + seed * 2, { arrivals: seed % 2 === 1 }), quantum_ms: 0.7 };
      const total = input.jobs.reduce((s, j) => s + j.work_ms, 0);
      for (const r of simulateAll(input, ['fifo', 'sjf', 'ljf', 'priority', 'fair', 'rr'])) {
        const eps = 1e-6;
        expect(r.makespan_ms).toBeGreaterThanOrEqual(r.bounds.makespan_lower - eps);
        expect(r.mean_completion_ms).toBeGreaterThanOrEqual(r.bounds.mean_completion_lower - eps);
        expect(r.makespan_ms * input.cpus).toBeGreaterThanOrEqual(total - eps);
        for (const j of r.jobs) {
          expect(j.start_ms).toBeGreaterThanOrEqual(j.arrival_ms - eps);
          expect(j.completion_ms).toBeGreaterThanOrEqual(j.arrival_ms + j.work_ms - eps);
        }
        if (r.policy !== 'fair' && r.policy !== 'rr') {
          // non-preemptive: a job runs from start to completion, and at most `cpus` run at once
          for (const j of r.jobs) expect(j.completion_ms - j.start_ms).toBeCloseTo(j.work_ms, 9);
          for (const j of r.jobs) {
            const running = r.jobs.filter((k) => k.start_ms <= j.start_ms && k.completion_ms > j.start_ms).length;
            expect(running).toBeLessThanOrEqual(input.cpus);
          }
        }
        if (r.policy === 'sjf' && r.bounds.mean_completion_optimal !== null) {
          expect(r.mean_completion_ms).toBeCloseTo(r.bounds.mean_completion_optimal, 9);
        }
      }
    }
  });
});

describe('scale', () => {
  it('is event-driven: 10k jobs take one event per job (non-preemptive) and finish quickly', () => {
    const r = rng(42);
    const jobs: SimJob[] = Array.from({ length: 10_000 }, (_, i) => ({
      id: i,
      work_ms: 1 + Math.floor(r() * 100),
      arrival_ms: Math.floor(r() * 5000),
    }));
    const input: SimInput = { cpus: 4, jobs, quantum_ms: 20 };
    simulateAll(input); // warm up the JIT
    const t0 = performance.now();
    const results = simulateAll(input);
    const ms = performance.now() - t0;
    for (const res of results) {
      expect(res.jobs).toHaveLength(10_000);
      if (res.policy !== 'fair' && res.policy !== 'rr') expect(res.events).toBe(10_000);
    }
    // fair: one event per arrival and per completion; rr: one per slice
    expect(results.find((x) => x.policy === 'fair')!.events).toBe(20_000);
    const rrEvents = results.find((x) => x.policy === 'rr')!.events;
    expect(rrEvents).toBeLessThanOrEqual(jobs.reduce((s, j) => s + Math.ceil(j.work_ms / 20), 0));
    // typically ~50 ms for all five on a loaded 2-core machine; generous against CI noise
    expect(ms).toBeLessThan(3000);
  });
});

describe('job specs (shared with fixtures/workloads/batch)', () => {
  it('parses COUNTxUNITS items into batch task names and work', () => {
    expect(parseJobSpec('1x39,39x1')).toHaveLength(40);
    expect(parseJobSpec('3,2x5')).toEqual([3, 5, 5]);
    const jobs = jobsFromSpec('1x39,39x1', 10);
    expect(jobs[0]).toEqual({ id: 'job_L039_00', work_ms: 390 });
    expect(jobs[1]).toEqual({ id: 'job_S001_01', work_ms: 10 });
    expect(jobs[39]!.id).toBe('job_S001_39');
    // uniform batches have no long jobs; >100 jobs widen the index
    expect(jobsFromSpec('101x2', 1)[100]!.id).toBe('job_S002_100');
    const r = simulate({ cpus: 2, jobs }, 'ljf');
    expect(r.makespan_ms).toBe(390);
  });

  it('rejects malformed specs', () => {
    for (const s of ['', '3y4', '0x4', '1x0', 'x3', '1x100000', '10000x1']) expect(() => parseJobSpec(s), s).toThrow(ScxError);
    expect(() => jobsFromSpec('1x1', 0)).toThrow(/unitMs/);
  });
});
