import { ScxError } from '../errors.js';
import type { SimJob } from './types.js';

/** Limits shared with fixtures/workloads/batch.c (they keep task names within 15 characters). */
export const BATCH_MAX_JOBS = 9999;
export const BATCH_MAX_UNITS = 99999;

/**
 * Parse a batch job spec like "1x39,39x1" (COUNTxUNITS items; a bare N is one job of N units) into
 * the units of each job in spawn order: the same rules as `batch --jobs`.
 */
export function parseJobSpec(spec: string): number[] {
  const units: number[] = [];
  if (spec.trim() === '') throw new ScxError('BAD_INPUT', 'job spec is empty', 'use COUNTxUNITS items like 1x39,39x1');
  for (const item of spec.split(',')) {
    if (item === '') continue;
    const m = /^(?:(\d+)x)?(\d+)$/.exec(item);
    if (!m) {
      throw new ScxError('BAD_INPUT', `job spec item '${item}' is not COUNTxUNITS or UNITS`, 'e.g. 1x39,39x1');
    }
    const count = m[1] === undefined ? 1 : Number(m[1]);
    const size = Number(m[2]);
    if (count < 1 || count > BATCH_MAX_JOBS || size < 1 || size > BATCH_MAX_UNITS) {
      throw new ScxError('BAD_INPUT', `job spec item '${item}': count must be 1..${BATCH_MAX_JOBS} and units 1..${BATCH_MAX_UNITS}`);
    }
    if (units.length + count > BATCH_MAX_JOBS) {
      throw new ScxError('BAD_INPUT', `job spec '${spec}' has more than ${BATCH_MAX_JOBS} jobs`);
    }
    for (let i = 0; i < count; i++) units.push(size);
  }
  if (units.length === 0) throw new ScxError('BAD_INPUT', `job spec '${spec}' has no jobs`, 'e.g. 1x39,39x1');
  return units;
}

/**
 * The task name (p->comm) batch gives job `index` of a batch: job_<C><UUU>_<NN>, with C = 'L' when
 * the job is longer than the batch's mean job, else 'S'; units zero-padded to 3 digits; the index to
 * 2 digits (3 above 100 jobs, 4 above 1000). See fixtures/workloads/README.md.
 */
export function batchJobName(units: number, index: number, allUnits: readonly number[]): string {
  const n = allUnits.length;
  const total = allUnits.reduce((a, b) => a + b, 0);
  const cls = units * n > total ? 'L' : 'S';
  const width = n > 1000 ? 4 : n > 100 ? 3 : 2;
  return `job_${cls}${String(units).padStart(3, '0')}_${String(index).padStart(width, '0')}`;
}

/**
 * Simulator jobs for a batch spec: ids are batch's task names, work is units * unitMs, all
 * arriving at 0 (batch releases every job at once).
 */
export function jobsFromSpec(spec: string, unitMs: number): SimJob[] {
  if (!(Number.isFinite(unitMs) && unitMs > 0)) {
    throw new ScxError('BAD_INPUT', `unitMs must be a positive number, got ${String(unitMs)}`);
  }
  const units = parseJobSpec(spec);
  return units.map((u, i) => ({ id: batchJobName(u, i, units), work_ms: u * unitMs }));
}
