/**
 * Benchmark results as text (console tables), markdown (tables, chart links, failures, the
 * simulator's prediction next to the measurement, and target checks) and JSON.
 */
import { markdownTable, renderBarChart, formatNumber } from './chart.js';
import { DEFAULT_POLICY, type BenchmarkResult, type MetricStats, type PolicyResult } from './runner.js';
import { formatTable } from './table.js';
import type { MetricDef } from './workloads.js';

/** A value for a table, with precision suited to its unit. */
export function formatValue(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (unit === 's') return v.toFixed(2);
  if (Math.abs(v) >= 1000) return Math.round(v).toString();
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** "+12.3 %" / "-4.0 %" / "–". */
export function formatPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${v >= 0 ? '+' : ''}${v.toFixed(1)} %`;
}

function status(p: PolicyResult): string {
  const parts: string[] = [];
  if (p.status !== 'ok') {
    const kinds = [...new Set(p.failures.map((f) => f.kind))].join(', ');
    parts.push(p.status === 'failed' ? `FAILED (${kinds})` : `${p.failures.length} failed (${kinds})`);
  }
  if (p.contendedRuns) parts.push(`${p.contendedRuns} run(s) beside another VM`);
  return parts.join('; ');
}

export const TABLE_HEADER = ['policy', 'n', 'median', 'min', 'max', 'vs default', 'bound', 'gap to bound', 'notes'];

const boundsFromRunsText =
  "Bounds of each run from the CPU time its jobs took in that run (guest CPU clock of each job, from the start barrier to its end): makespan ≥ max(longest job, total / CPUs); mean completion ≥ the offline (SPT) optimum of the job list at that run's unit length (total CPU time / total units). \"bound\" is the median of a policy's runs' bounds, \"gap to bound\" the median of each run's distance from its own bound, so the emulated CPUs' speed changing between runs (TCG) moves value and bound together.";

/** One row per policy for one metric: policy, n, median, min, max, vs default %, bound, gap %, notes. */
export function metricRows(r: BenchmarkResult, metric: MetricDef): string[][] {
  return r.policies.map((p) => {
    const s: MetricStats | undefined = p.metrics[metric.key];
    return [
      p.name,
      String(s?.n ?? 0),
      formatValue(s?.median, metric.unit),
      formatValue(s?.min, metric.unit),
      formatValue(s?.max, metric.unit),
      p.isDefault ? '(baseline)' : formatPct(s?.vsDefaultPct),
      formatValue(s?.bound ?? r.bounds[metric.key], metric.unit),
      formatPct(s?.gapToBoundPct),
      status(p),
    ];
  });
}

/** Plain-text tables (one per metric) for the console. */
export function textReport(r: BenchmarkResult): string {
  const out: string[] = [`== ${r.workload.title} ==`, r.workload.description];
  if (r.workSummary) out.push(`work: ${r.workSummary}${r.sameWork ? ' (identical for every policy)' : ' — WARNING: the work differed between runs'}`);
  if (r.speed)
    out.push(
      `unit length timed (calibration, each round, end): ${r.speed.unitMs.map((u) => u.toFixed(1)).join(', ')} ms${r.boundsFrom === 'unit' ? `; bounds use ${r.speed.referenceUnitMs.toFixed(1)} ms` : ''}`,
    );
  if (r.boundsFrom === 'run') out.push(boundsFromRunsText);
  for (const m of r.workload.metrics) {
    out.push('', `${m.label} (${m.unit}, ${m.better} is better; vs default: positive = better)`);
    out.push(formatTable(TABLE_HEADER, metricRows(r, m)));
  }
  for (const p of r.predictions) {
    out.push(
      '',
      `simulator vs measured (${p.metric}): predicted ${p.predicted.map((e) => e.policy).join(' < ')}; measured ${p.measured.map((e) => e.policy).join(' < ')}; ` +
        `${p.comparablePairs ? `${p.concordantPairs}/${p.comparablePairs} pairs agree` : 'no comparable pairs'}`,
    );
  }
  const failures = r.policies.flatMap((p) => p.failures.map((f) => `${p.name} run ${f.repeat + 1}: ${f.kind}: ${f.message}`));
  if (failures.length) out.push('', 'failures:', ...failures.map((f) => `  ${f}`));
  if (r.error) out.push('', `STOPPED EARLY: ${r.error}`);
  return out.join('\n');
}

/** The SVG chart of one result: one panel per metric. */
export function chartForResult(r: BenchmarkResult, metrics?: string[]): string {
  const defs = r.workload.metrics.filter((m) => !metrics || metrics.includes(m.key));
  return renderBarChart({
    title: r.workload.title,
    subtitle: `median of ${r.repeats} interleaved run(s) per policy, whiskers min–max; ${r.environment.kernel ?? '?'} on ${r.environment.guestCpus ?? '?'} vCPUs (${r.environment.accelerator ?? '?'})`,
    panels: defs.map((m) => ({
      title: m.label,
      unit: m.unit,
      better: m.better,
      bound: r.bounds[m.key] ?? null,
      boundLabel: m.key === 'mean_completion_ms' ? 'optimum (SPT)' : 'lower bound',
      series: r.policies.map((p) => {
        const s = p.metrics[m.key];
        return { label: p.name, median: s?.median ?? NaN, min: s?.min ?? NaN, max: s?.max ?? NaN, n: s?.n ?? 0, baseline: p.isDefault };
      }),
    })),
  });
}

/** Markdown for one workload: what ran, a table per metric, the chart, prediction and failures. */
export function markdownSection(r: BenchmarkResult, chartPath?: string): string {
  const out: string[] = [`### ${r.workload.title}`, '', r.workload.description + '.'];
  if (r.workSummary)
    out.push(
      '',
      `Work per run: ${r.workSummary}. ${r.sameWork ? 'Identical for every policy (same jobs, iterations and checksums where the program prints them).' : '**The work differed between runs**: compare with care.'}`,
    );
  if (r.speed)
    out.push(
      '',
      `One unit of work timed single-threaded at calibration, before each default run and at the end: ${r.speed.unitMs.map((u) => u.toFixed(1)).join(', ')} ms${r.boundsFrom === 'unit' ? `; the bounds use the shortest, ${r.speed.referenceUnitMs.toFixed(1)} ms` : " (for reference; the bounds come from each run's own CPU times)"}.`,
    );
  if (r.boundsFrom === 'run') out.push('', boundsFromRunsText);
  for (const m of r.workload.metrics) {
    out.push('', `**${m.label}** (${m.unit}, ${m.better} is better; "vs default" positive = better than the kernel default)`, '');
    out.push(markdownTable(TABLE_HEADER, metricRows(r, m)));
  }
  if (chartPath) out.push('', `![${r.workload.title}](${chartPath})`);
  for (const p of r.predictions) {
    out.push(
      '',
      `Simulator (core/sim) vs measured, ${p.metric}: predicted ${p.predicted.map((e) => `${e.policy} [${e.model}] ${formatNumber(e.value)}`).join(' < ')}; ` +
        `measured ${p.measured.map((e) => `${e.policy} ${formatNumber(e.value)}`).join(' < ')}; ` +
        (p.comparablePairs
          ? `${p.concordantPairs} of ${p.comparablePairs} pairs the simulator separates are in the same order.`
          : 'the simulator separates no pair.'),
    );
  }
  const failures = r.policies.flatMap((p) => p.failures.map((f) => `- ${p.name}, run ${f.repeat + 1}: ${f.kind}: ${f.message}`));
  if (failures.length) out.push('', 'Failed runs (not counted):', '', ...failures);
  if (r.lostRuns.length)
    out.push(
      '',
      `Runs lost to the emulator and run again in a fresh VM (${r.lostRuns.length}):`,
      '',
      ...r.lostRuns.map((x) => `- ${x.policy}, run ${x.repeat + 1}: ${x.error}`),
    );
  if (r.error) out.push('', `**Stopped early:** ${r.error}`);
  if (r.crashConsole) {
    const panic = r.crashConsole
      .split('\n')
      .filter((l) => /panic|BUG|RIP|Oops|sched_ext|Call Trace|exception/i.test(l))
      .slice(0, 12);
    if (panic.length) out.push('', 'Guest console at the crash (excerpt):', '', '```', ...panic, '```');
  }
  out.push('', `Wall time of this workload: ${(r.durationMs / 1000).toFixed(0)} s.`);
  return out.join('\n');
}

export interface TargetCheck {
  target: string;
  workload: string;
  policy: string;
  /** The measured value, in words. */
  measured: string;
  /** null: could not be checked (policy missing or without data). */
  met: boolean | null;
}

/**
 * The project's targets, checked against the measurements:
 * - LJF makespan within 10 % of the lower bound (each batch workload);
 * - SJF mean completion within 10 % of the SPT optimum and at least 30 % below the default;
 * - wakeup p99 at least 1.5x better than the default (best of the candidates; interactive named first).
 */
export function checkTargets(results: BenchmarkResult[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const get = (r: BenchmarkResult, name: string, key: string) => {
    const p = r.policies.find((x) => x.name === name);
    const s = p?.metrics[key];
    return s && s.n > 0 ? s : null;
  };
  for (const r of results.filter((x) => x.workload.id.startsWith('batch'))) {
    for (const name of ['ljf', 'ljf+tuned']) {
      const ljf = get(r, name, 'makespan_ms');
      if (!ljf && name !== 'ljf') continue;
      out.push({
        target: 'LJF makespan within 10 % of the lower bound',
        workload: r.workload.title,
        policy: name,
        measured: ljf
          ? `${formatValue(ljf.median)} ms vs bound ${formatValue(ljf.bound ?? r.bounds.makespan_ms)} ms (${formatPct(ljf.gapToBoundPct)})`
          : 'no data',
        met: ljf && ljf.gapToBoundPct !== null ? ljf.gapToBoundPct <= 10 : null,
      });
      const def = get(r, DEFAULT_POLICY, 'makespan_ms');
      const closed =
        ljf && def && ljf.gapToBoundPct !== null && def.gapToBoundPct !== null && def.gapToBoundPct > 0
          ? ((def.gapToBoundPct - ljf.gapToBoundPct) / def.gapToBoundPct) * 100
          : null;
      out.push({
        target: "LJF closes at least 80 % of the default's gap to the bound",
        workload: r.workload.title,
        policy: name,
        measured:
          closed === null
            ? 'no data'
            : `default ${formatPct(def!.gapToBoundPct)} above the bound, ${name} ${formatPct(ljf!.gapToBoundPct)}: ${closed.toFixed(0)} % of the gap closed`,
        met: closed === null ? null : closed >= 80,
      });
    }
    const sjf = get(r, 'sjf', 'mean_completion_ms');
    out.push({
      target: 'SJF mean completion within 10 % of the optimum',
      workload: r.workload.title,
      policy: 'sjf',
      measured: sjf
        ? `${formatValue(sjf.median)} ms vs optimum ${formatValue(sjf.bound ?? r.bounds.mean_completion_ms)} ms (${formatPct(sjf.gapToBoundPct)})`
        : 'no data',
      met: sjf && sjf.gapToBoundPct !== null ? sjf.gapToBoundPct <= 10 : null,
    });
    out.push({
      target: 'SJF mean completion at least 30 % below the default',
      workload: r.workload.title,
      policy: 'sjf',
      measured: sjf ? `${formatPct(sjf.vsDefaultPct)} vs default` : 'no data',
      met: sjf && sjf.vsDefaultPct !== null ? sjf.vsDefaultPct >= 30 : null,
    });
  }
  for (const r of results.filter((x) => x.workload.id === 'wakeup')) {
    const def = get(r, DEFAULT_POLICY, 'wakeup_p99_us');
    const cands = r.policies.filter((p) => !p.isDefault && (p.metrics.wakeup_p99_us?.n ?? 0) > 0);
    const first =
      cands.find((p) => p.name === 'interactive') ?? [...cands].sort((a, b) => a.metrics.wakeup_p99_us!.median - b.metrics.wakeup_p99_us!.median)[0];
    for (const best of [first, cands.find((p) => p.name === 'interactive+tuned')]) {
      if (!best && first) continue;
      const bestS = best?.metrics.wakeup_p99_us;
      const factor = def && bestS ? def.median / bestS.median : null;
      const thr = best?.metrics.requests_per_s;
      const defThr = get(r, DEFAULT_POLICY, 'requests_per_s');
      out.push({
        target: 'wakeup p99 at least 1.5x better than the default',
        workload: r.workload.title,
        policy: best?.name ?? '–',
        measured: def && bestS ? `${formatValue(bestS.median)} µs vs default ${formatValue(def.median)} µs (${factor!.toFixed(2)}x)` : 'no data',
        met: factor === null ? null : factor >= 1.5,
      });
      if (best && thr && defThr) {
        out.push({
          target: 'throughput not worse than the default',
          workload: r.workload.title,
          policy: best.name,
          measured: `${formatValue(thr.median)} vs ${formatValue(defThr.median)} requests/s (${formatPct(thr.vsDefaultPct)})`,
          met: thr.median >= defThr.median * 0.98,
        });
      }
    }
  }
  return out;
}

export interface ReportMeta {
  title?: string;
  date: string;
  command: string;
  hostCpus: number;
  hostModel: string;
  kernel: string | null;
  accelerator: string | null;
  acceleratorReason?: string | null;
  guestCpus: number | null;
  durationMs: number;
  /** Other load seen on the host while the benchmark ran (another VM, a compile). */
  contention?: string;
  repeats: number;
  quick: boolean;
  notes?: string[];
}

export const ANALYSIS_START = '<!-- analysis:start';
export const ANALYSIS_END = '<!-- analysis:end -->';
const ANALYSIS_PLACEHOLDER = '_No analysis written for this run yet: edit between the analysis markers; regenerating keeps it._';

/**
 * The hand-written analysis kept between regenerations: the text between the analysis markers of an
 * earlier results.md, and the run date it was written for (null when there is none).
 */
export function extractAnalysis(markdown: string): { text: string; writtenFor: string | null } | null {
  const a = markdown.indexOf(ANALYSIS_START);
  const b = markdown.indexOf(ANALYSIS_END);
  if (a < 0 || b < a) return null;
  const open = markdown.slice(a, markdown.indexOf('-->', a) + 3);
  const text = markdown.slice(a + open.length, b).trim();
  const m = /run=(\S+)/.exec(open);
  return text && text !== ANALYSIS_PLACEHOLDER ? { text, writtenFor: m?.[1] ?? null } : null;
}

/** The whole results document. `charts` maps a workload id to the chart's path relative to the document. */
export function markdownReport(
  results: BenchmarkResult[],
  meta: ReportMeta,
  charts: Record<string, string> = {},
  analysis?: { text: string; writtenFor: string | null } | null,
): string {
  const out: string[] = [`# ${meta.title ?? 'Benchmark results'}`, ''];
  out.push(`Generated by \`${meta.command}\` on ${meta.date}. Numbers are measured, not edited; rerun the command to reproduce.`, '');
  out.push(
    markdownTable(
      ['', ''],
      [
        ['kernel (guest)', meta.kernel ?? 'unknown'],
        ['vCPUs', String(meta.guestCpus ?? '?')],
        ['accelerator', `${meta.accelerator ?? '?'}${meta.acceleratorReason ? ` (${meta.acceleratorReason})` : ''}`],
        ['host', `${meta.hostCpus} CPUs, ${meta.hostModel}`],
        ['repeats per policy', `${meta.repeats} (interleaved: default, A, B, …, default, A, B, …)${meta.quick ? ' — quick mode' : ''}`],
        ['total wall time', `${(meta.durationMs / 60000).toFixed(1)} min`],
        ...(meta.contention ? [['other load on the host', meta.contention]] : []),
      ],
      ['l', 'l'],
    ),
  );
  out.push(
    '',
    'How to read: medians of the counted runs; min and max show the spread. "vs default" is the improvement of the median over the kernel default\'s median, positive = better. "bound" is what no scheduler can beat on that work (batch: makespan ≥ max(longest job, total work / CPUs), mean completion ≥ the SPT optimum, both from the CPU time the jobs took in each run; build: max(critical path, total / -j)); "gap to bound" is how far the median is above it.',
  );

  const targets = checkTargets(results);
  if (targets.length) {
    out.push('', '## Targets', '');
    out.push(
      markdownTable(
        ['target', 'workload', 'policy', 'measured', 'met'],
        targets.map((t) => [t.target, t.workload, t.policy, t.measured, t.met === null ? 'not checked' : t.met ? 'yes' : '**no**']),
        ['l', 'l', 'l', 'l', 'l'],
      ),
    );
  }
  if (meta.notes?.length) out.push('', '## Notes', '', ...meta.notes.map((n) => `- ${n}`));
  // a hand-written analysis (kept across regenerations, flagged when it was written for another run)
  out.push('', '## Analysis', '', `${ANALYSIS_START} run=${analysis?.writtenFor ?? meta.date} -->`);
  if (analysis && analysis.writtenFor && analysis.writtenFor !== meta.date) {
    out.push(`> This analysis was written for the run of ${analysis.writtenFor}; the numbers in this file are from ${meta.date}. Check it against them.`, '');
  }
  out.push(analysis?.text ?? ANALYSIS_PLACEHOLDER, ANALYSIS_END);
  out.push('', '## Results');
  for (const r of results) out.push('', markdownSection(r, charts[r.workload.id]));
  out.push('');
  return out.join('\n');
}

/** The machine-readable form: everything the markdown is made from, plus every run record. */
export function jsonReport(results: BenchmarkResult[], meta: ReportMeta): string {
  return JSON.stringify({ meta, targets: checkTargets(results), results }, null, 2) + '\n';
}
