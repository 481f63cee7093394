/**
 * npm run bench:tune [-- --budget N] [--only ENTRY[,ENTRY]] [--no-write] [--no-seed]
 *
 * The tuning benchmark: tune_scheduler's engine on two fixtures where a parameter matters, each
 * in its own sandbox boot, against a scratch copy of the library (the user's library is not
 * touched): ljf's and sjf's starvation guard on the uneven batch (makespan, mean completion), and interactive's
 * slices and hog starvation bound and rr's slices on the wakeup benchmark (p99 wakeup latency). Prints a table and writes docs/tuning.md with the
 * charts in docs/results/ (kernel default, the entry's defaults and the tuned parameters, medians
 * with min–max, all measured in the same boot). A best configuration that beat the entry's defaults
 * beyond the run-to-run spread becomes a preset in library/<entry>/presets.json (replacing the preset of that name), so the seed
 * library ships it: build_scheduler {"entry", "preset": "tuned-<fixture>"} (--no-seed: do not).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { markdownTable } from '../core/bench/chart.js';
import { fixtureWorkload, type FixtureId } from '../core/bench/workloads.js';
import { ensureKernel } from '../core/kernel/fetch.js';
import type { Preset } from '../core/library/history.js';
import { LibraryStore } from '../core/library/store.js';
import { repoRoot } from '../core/paths.js';
import { tuneScheduler, type TuneResult } from '../core/tune/tune.js';

interface Case {
  entry: string;
  fixture: FixtureId;
  objective: string;
  only: string[];
  fixed?: Record<string, number>;
}

export const TUNE_CASES: Case[] = [
  { entry: 'ljf', fixture: 'batch-join', objective: 'makespan_ms', only: ['max_wait_ms'], fixed: { unit_us: 50_000 } },
  { entry: 'sjf', fixture: 'batch-join', objective: 'mean_completion_ms', only: ['max_wait_ms'], fixed: { unit_us: 50_000 } },
  { entry: 'interactive', fixture: 'wakeup', objective: 'wakeup_p99_us', only: ['slice_us', 'wake_slice_us', 'hog_delay_us'] },
  // the issue's own example: slice length on the wakeup benchmark (rr's defaults are batch-sized slices)
  { entry: 'rr', fixture: 'wakeup', objective: 'wakeup_p99_us', only: ['slice_us', 'min_slice_us', 'target_latency_us'] },
];

const fmtRange = (m?: { median: number; min: number; max: number; n: number }) =>
  m ? `${m.median.toFixed(0)} (${m.min.toFixed(0)}–${m.max.toFixed(0)}, n=${m.n})` : '–';
const fmtScore = (s?: { median: number; min: number; max: number } | null) => (s ? `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})` : '–');
const pct = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`);

export function tuningRows(results: TuneResult[]): string[][] {
  return results.map((r) => {
    const m = r.improvement.metric;
    return [
      `${r.workload.title}`,
      r.entry,
      m,
      `${fmtRange(r.kernelDefault.metrics[m])}; score ${fmtScore(r.kernelDefault.score)}`,
      `${fmtRange(r.defaults.metrics[m])}; score ${fmtScore(r.defaults.score)}; ${JSON.stringify(r.defaults.params)}`,
      r.best ? `${fmtRange(r.best.metrics[m])}; score ${fmtScore(r.best.score)}; ${JSON.stringify(r.best.params)}` : 'none',
      pct(r.improvement.vsDefaultsPct),
      pct(r.improvement.vsKernelPct),
      r.improvement.beyondSpread ? 'yes' : 'no',
      `${pct(r.improvement.pairedPct)} (median of ${r.improvement.pairs})`,
      `${r.trialsRun}${r.trials.some((t) => !t.ok) ? ` (${r.trials.filter((t) => !t.ok).length} failed)` : ''}`,
    ];
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      budget: { type: 'string', default: '20' },
      only: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'no-seed': { type: 'boolean', default: false },
    },
  });
  const budget = Number(values.budget);
  const kernel = await ensureKernel({});
  const scratch = mkdtempSync(join(tmpdir(), 'scx-tune-lib-'));
  const t0 = Date.now();
  const results: TuneResult[] = [];
  const presets: { entry: string; preset: Preset }[] = [];
  try {
    const store = await LibraryStore.open({ dir: scratch });
    for (const c of TUNE_CASES.filter((x) => !values.only || values.only.split(',').includes(x.entry))) {
      const workload = fixtureWorkload(c.fixture, { wakeupRuntimeS: 3 });
      const log = (l: string) => console.log(`[tune ${Math.round((Date.now() - t0) / 1000)} s] ${l}`);
      const r = await tuneScheduler({
        kernel,
        store,
        entry: c.entry,
        workload,
        objective: [{ metric: c.objective, weight: 1 }],
        budget,
        only: c.only,
        fixed: c.fixed,
        log,
      });
      results.push(r);
      // only a clear win ships with the library: every run of it better than every run of the defaults
      if (r.preset && r.improvement.beyondSpread) presets.push({ entry: c.entry, preset: store.preset(c.entry, r.preset.name) });
      const m = r.improvement.metric;
      console.log(
        `${c.entry} on ${c.fixture}: best ${JSON.stringify(r.best?.params)} ${m} ${fmtRange(r.best?.metrics[m])} vs defaults ${fmtRange(r.defaults.metrics[m])}: ${pct(r.improvement.vsDefaultsPct)} (beyond spread: ${r.improvement.beyondSpread}), vs kernel ${pct(r.improvement.vsKernelPct)}`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const header = [
    'workload',
    'scheduler',
    'metric',
    'kernel default',
    'library default',
    'tuned',
    'tuned vs library default (score)',
    'tuned vs kernel default (score)',
    'beyond spread',
    'raw metric, tuned vs library default in the same round',
    'trials',
  ];
  const rows = tuningRows(results);
  console.log(markdownTable(header, rows));
  if (values['no-write']) return;
  const docs = join(repoRoot, 'docs');
  await mkdir(join(docs, 'results'), { recursive: true });
  const parts = [
    '# Tuning results',
    '',
    `Generated by \`npm run bench:tune\` on ${new Date().toISOString()} (${((Date.now() - t0) / 60000).toFixed(1)} min). Numbers are measured, not edited.`,
    '',
    `Kernel ${results[0]?.environment.kernel ?? '?'}, ${results[0]?.environment.guestCpus ?? '?'} vCPUs, ${results[0]?.environment.accelerator ?? '?'}; budget ${budget} trials per case.`,
    "Each case is one sandbox boot: successive halving over Halton-sampled parameter sets (the entry's defaults always included), the kernel default run in every round as the reference.",
    "Values are medians with min–max and the number of runs. The score is what the tuner minimises: each run's metric relative to its own bound (batch: makespan / max(longest job, total CPU time / CPUs) of that run's jobs) or, without one, to the kernel default's median in the same round (so the emulated CPUs' speed drifting between rounds cancels out); 1.0 = at the bound / as good as the kernel default.",
    'The improvements are of the score medians; "beyond spread" = every run of the tuned parameters scored better than every run of the library defaults.',
    '',
    markdownTable(header, rows),
    '',
    ...results.map((r) => `![${r.entry} on ${r.workload.id}](results/tune-${r.entry}-${r.workload.id}.svg)`),
    '',
  ];
  for (const r of results) await writeFile(join(docs, 'results', `tune-${r.entry}-${r.workload.id}.svg`), r.chartSvg);
  await writeFile(join(docs, 'tuning.md'), parts.join('\n'));
  await writeFile(
    join(docs, 'results', 'tuning.json'),
    JSON.stringify(
      results.map(({ chartSvg: _chart, ...x }) => x),
      null,
      2,
    ) + '\n',
  );
  console.log('wrote docs/tuning.md');
  if (values['no-seed']) return;
  for (const { entry, preset } of presets) {
    const file = join(repoRoot, 'library', entry, 'presets.json');
    const old = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Preset[]) : [];
    await writeFile(file, JSON.stringify([...old.filter((p) => p.name !== preset.name), preset], null, 2) + '\n');
    console.log(`library/${entry}/presets.json: ${preset.name} ${JSON.stringify(preset.params)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
