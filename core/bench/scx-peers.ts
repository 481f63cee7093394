/**
 * The bar of issue 17: on each fixture's primary metric, the best sched-ext/scx scheduler beside our
 * best (library defaults, and tuned parameter sets), measured in the same boot, with the ratio and
 * whether the gap is larger than the run-to-run spread (min–max of the counted runs do not overlap).
 * A markdown section for the benchmark report (npm run bench).
 */
import type { BenchmarkResult, PolicyResult } from './runner.js';

export interface PeerRow {
  workload: string;
  metric: string;
  unit: string;
  better: 'lower' | 'higher';
  bestScx: { name: string; median: number; min: number; max: number; n: number } | null;
  bestOurs: { name: string; median: number; min: number; max: number; n: number } | null;
  bestOursDefaults: { name: string; median: number } | null;
  bestOursTuned: { name: string; median: number } | null;
  defaultMedian: number | null;
  /** how many times better ours is than the best scx scheduler (>1: ours ahead), in the metric's direction */
  ratio: number | null;
  verdict: 'ours ahead beyond the spread' | 'scx ahead beyond the spread' | 'within the spread' | 'one run: no spread to judge by' | 'not comparable';
}

const stat = (p: PolicyResult, key: string) => {
  const m = p.metrics[key];
  return m && m.n > 0 ? { name: p.name, median: m.median, min: m.min, max: m.max, n: m.n } : null;
};

/** `isScx`: which policies are sched-ext/scx binaries (by default: names starting with scx_, the entries' names). */
export function peerRows(results: BenchmarkResult[], isScx: (policy: string) => boolean = (n) => n.startsWith('scx_')): PeerRow[] {
  return results.map((r) => {
    const key = r.workload.primary;
    const def = r.workload.metrics.find((m) => m.key === key);
    const better = def?.better === 'higher' ? 'higher' : 'lower';
    const pick = <T extends { median: number }>(xs: (T | null)[]): T | null => {
      const ok = xs.filter((x): x is T => x !== null);
      return ok.length ? ok.reduce((a, b) => ((better === 'lower' ? b.median < a.median : b.median > a.median) ? b : a)) : null;
    };
    const scx = r.policies.filter((p) => !p.isDefault && isScx(p.name)).map((p) => stat(p, key));
    const oursP = r.policies.filter((p) => !p.isDefault && !isScx(p.name));
    const ours = oursP.map((p) => stat(p, key));
    const bestScx = pick(scx);
    const bestOurs = pick(ours);
    const bestOursDefaults = pick(oursP.filter((p) => !p.name.endsWith('+tuned')).map((p) => stat(p, key)));
    const bestOursTuned = pick(oursP.filter((p) => p.name.endsWith('+tuned')).map((p) => stat(p, key)));
    const d = r.policies.find((p) => p.isDefault);
    const defaultMedian = d ? (stat(d, key)?.median ?? null) : null;
    let ratio: number | null = null;
    let verdict: PeerRow['verdict'] = 'not comparable';
    if (bestScx && bestOurs && bestScx.median > 0 && bestOurs.median > 0) {
      ratio = better === 'lower' ? bestScx.median / bestOurs.median : bestOurs.median / bestScx.median;
      const oursAhead = better === 'lower' ? bestOurs.max < bestScx.min : bestOurs.min > bestScx.max;
      const scxAhead = better === 'lower' ? bestScx.max < bestOurs.min : bestScx.min > bestOurs.max;
      verdict =
        bestScx.n < 2 || bestOurs.n < 2
          ? 'one run: no spread to judge by'
          : oursAhead
            ? 'ours ahead beyond the spread'
            : scxAhead
              ? 'scx ahead beyond the spread'
              : 'within the spread';
    }
    return {
      workload: r.workload.id,
      metric: key,
      unit: def?.unit ?? '',
      better,
      bestScx,
      bestOurs,
      bestOursDefaults: bestOursDefaults && { name: bestOursDefaults.name, median: bestOursDefaults.median },
      bestOursTuned: bestOursTuned && { name: bestOursTuned.name, median: bestOursTuned.median },
      defaultMedian,
      ratio,
      verdict,
    };
  });
}

const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));

export function peerSection(results: BenchmarkResult[], isScx?: (policy: string) => boolean): string {
  const rows = peerRows(results, isScx);
  if (!rows.some((r) => r.bestScx)) return '';
  const lines = [
    "## Against sched-ext/scx's production schedulers",
    '',
    "The best scx scheduler (binaries installed by set-up, their own defaults) beside our best on each fixture's primary metric, same boot.",
    '"ratio" is how many times better ours is (above 1: ours ahead) in the metric\'s direction; "beyond the spread" means the min–max of the counted runs do not overlap.',
    '',
    '| fixture | metric | kernel default | best scx | best of ours (defaults) | best of ours (tuned) | ratio (ours vs scx) | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.metric} (${r.unit}, ${r.better} is better) | ${r.defaultMedian === null ? '–' : f(r.defaultMedian)} | ` +
        `${r.bestScx ? `\`${r.bestScx.name}\` ${f(r.bestScx.median)} (${f(r.bestScx.min)}–${f(r.bestScx.max)}, n=${r.bestScx.n})` : '–'} | ` +
        `${r.bestOursDefaults ? `\`${r.bestOursDefaults.name}\` ${f(r.bestOursDefaults.median)}` : '–'} | ${r.bestOursTuned ? `\`${r.bestOursTuned.name}\` ${f(r.bestOursTuned.median)}` : '–'} | ` +
        `${r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`} | ${r.verdict} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
