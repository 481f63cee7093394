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

/**
 * Similarity in [0, 1]: a Gaussian kernel on the Euclidean distance. Cosine similarity
 * is useless here: fingerprints are non-negative, so almost any two score above 0.85.
 * With SIGMA = 0.25 a distance of 0.14 (a small change in one or two dimensions) is
 * still 0.85; 0.3 (a different kind of workload) falls to 0.5; 0.55 to 0.1.
 */
const SIGMA = 0.25;
export function similarity(a: Fingerprint, b: Fingerprint): number {
  const x = toVector(a);
  const y = toVector(b);
  let d2 = 0;
  for (let i = 0; i < x.length; i++) d2 += (x[i]! - y[i]!) ** 2;
  return Math.exp(-d2 / (2 * SIGMA * SIGMA));
}
