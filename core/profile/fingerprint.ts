/**
 * A workload fingerprint: a few numbers in [0, 1] that say what a workload needs
 * from a scheduler. profile_workload derives it from measurements; the library
 * matches it against the fingerprints of workloads where schedulers did well.
 */
import { z } from 'zod';

export const FINGERPRINT_DIMENSIONS = [
  'cpuBound', // share of wall time the tasks spent on CPU (user+sys) per available CPU
  'ioHeavy', // share of time blocked on IO (PSI io, IO bytes per second, voluntary switches)
  'latencySensitive', // many short sleeps and wakeups: voluntary switches per second, short bursts
  'unevenness', // spread of per-task runtimes (coefficient of variation, squashed)
  'manyShortTasks', // many tasks that each run briefly
  'parallelism', // runnable tasks per CPU (squashed): oversubscription
] as const;
export type FingerprintDimension = (typeof FINGERPRINT_DIMENSIONS)[number];

const unit = z.number().min(0).max(1);
export const Fingerprint = z.object({
  cpuBound: unit,
  ioHeavy: unit,
  latencySensitive: unit,
  unevenness: unit,
  manyShortTasks: unit,
  parallelism: unit,
});
export type Fingerprint = z.infer<typeof Fingerprint>;

export function toVector(f: Fingerprint): number[] {
  return FINGERPRINT_DIMENSIONS.map((d) => f[d]);
}

/** Cosine similarity in [0, 1] (all components are non-negative). */
export function similarity(a: Fingerprint, b: Fingerprint): number {
  const x = toVector(a);
  const y = toVector(b);
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i]! * y[i]!;
    nx += x[i]! * x[i]!;
    ny += y[i]! * y[i]!;
  }
  if (nx === 0 || ny === 0) return 0;
  return dot / Math.sqrt(nx * ny);
}
