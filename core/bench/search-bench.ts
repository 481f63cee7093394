/**
 * npm run bench:search — search_library latency on synthetic libraries of 100 and
 * 1,000 entries with history (the ranking code the tool runs, without disk or git).
 * Target: p50 < 20 ms at 1,000 entries.
 */
import { FINGERPRINT_DIMENSIONS, type Fingerprint } from '../profile/fingerprint.js';
import { DEFAULT_WEIGHTS, type HistoryRecord } from '../library/history.js';
import { rankEntries } from '../library/search.js';
import type { EntrySummary } from '../library/store.js';
import { formatTable, summarize } from './stats.js';

const WORDS = 'batch latency fair queue slice job long short uneven cache locality deadline priority build compile server request throughput wakeup interactive desktop backup database render video test suite log parse join hash compress frame audio tenant weight nice steal central dispatch idle migrate warm core'.split(' ');
const FAMILIES = ['fifo', 'fair', 'rr', 'sjf', 'ljf', 'interactive', 'percpu', 'central', 'deadline', 'priority', 'locality', 'hybrid'];
const TAGS = ['cpu-bound', 'io-heavy', 'latency-sensitive', 'interactive', 'batch', 'uneven-jobs', 'throughput', 'fairness', 'priority', 'locality'];

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
const sentence = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const fingerprint = (): Fingerprint => Object.fromEntries(FINGERPRINT_DIMENSIONS.map((d) => [d, rnd()])) as Fingerprint;

function library(n: number): { entries: EntrySummary[]; history: HistoryRecord[] } {
  const entries: EntrySummary[] = Array.from({ length: n }, (_, i) => ({
    name: `sched_${i}`, title: sentence(4), family: pick(FAMILIES), tags: [pick(TAGS), pick(TAGS)], description: sentence(40),
    algorithm: sentence(25), useCases: [sentence(10), sentence(10)], version: 1,
  }));
  const history: HistoryRecord[] = Array.from({ length: n * 3 }, (_, i) => ({
    id: String(i), entry: `sched_${Math.floor(rnd() * n)}`, params: {}, target: 'sandbox', workload: { name: `w${i}`, fingerprint: fingerprint() },
    metrics: { makespan_ms: 500 + rnd() * 1000 }, baseline: { makespan_ms: 1000 }, outcome: pick(['improved', 'regressed', 'neutral'] as const), at: new Date().toISOString(),
  }));
  return { entries, history };
}

const rows: (string | number)[][] = [];
for (const n of [100, 1000]) {
  const { entries, history } = library(n);
  rankEntries(entries, history, DEFAULT_WEIGHTS, { query: 'warm up the index' }); // builds the index once, as the server does
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    rankEntries(entries, history, DEFAULT_WEIGHTS, { query: sentence(8), tags: [pick(TAGS)], fingerprint: fingerprint(), limit: 5 });
    times.push(performance.now() - t0);
  }
  const s = summarize(times);
  const sorted = [...times].sort((a, b) => a - b);
  rows.push([`${n} entries, ${n * 3} results`, s.n, s.median.toFixed(2), sorted[Math.floor(0.95 * sorted.length)]!.toFixed(2), s.max.toFixed(2)]);
}
console.log('\nsearch_library latency (ms), query + tag + fingerprint, 200 queries each\n');
console.log(formatTable(['library', 'queries', 'p50', 'p95', 'max'], rows));
