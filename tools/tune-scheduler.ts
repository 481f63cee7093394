import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { chartPng } from '../core/bench/chart.js';
import { workloadFor } from '../core/bench/workloads.js';
import { ScxError } from '../core/errors.js';
import { runsDir } from '../core/paths.js';
import { CommandFields } from '../core/command.js';
import { tuneScheduler } from '../core/tune/tune.js';
import { defineTool } from './define.js';
import { hintsParam, Numbers, once, Params, printedParam, quickParam, reads, workloadParams, WorkloadProfileOut } from './shapes.js';
import { EntryName, PresetName } from '../core/model/names.js';

// the fields of a configuration's runs an agent compares (min–max: the spread; the rest of each object passes)
const Summary = once(
  'Summary',
  reads({
    params: Params,
    trials: z.number(),
    score: reads({ median: z.number() }).nullable(),
    metrics: z.record(z.string(), reads({ median: z.number(), min: z.number(), max: z.number() })),
  }),
);

export const tuneSchedulerTool = defineTool({
  name: 'tune_scheduler',
  title: "Tune a scheduler's parameters in the sandbox",
  description: [
    "Search a library scheduler's parameters for the values that do best on a fixture or your command, in the sandbox: successive halving over quasi-random parameter sets,",
    'each trial a real run, with the kernel default run in the same boot as the reference. Failed trials (load, stall, error exit, beyond maxRegressionPct) eliminate their candidate.',
    "Returns the best parameters and their improvement over the entry's defaults and the kernel default (beyondSpread: the runs did not overlap), every trial, and a chart.",
    'Every trial goes into the library history; the best becomes a preset (build_scheduler {"entry", "preset"}). Takes minutes; cancellable.',
  ].join(' '),
  input: {
    entry: EntryName.describe('library scheduler, e.g. "ljf"'),
    ...workloadParams('its wall time (objective "wall_ms") or, with printed, the number it prints ("value")'),
    ...CommandFields,
    printed: printedParam,
    objective: z
      .union([
        z.string(),
        z
          .array(z.object({ metric: z.string(), weight: z.number().positive().default(1) }))
          .min(1)
          .max(5),
      ])
      .describe(
        'metric to optimise in its natural direction (e.g. "makespan_ms", "mean_completion_ms", "wakeup_p99_us", "requests_per_s"), or [{metric, weight}]',
      ),
    budget: z.number().int().min(2).max(60).default(20).describe('trials (scheduler runs) at most'),
    minutes: z.number().min(1).max(240).default(30).describe('no new round starts after this'),
    only: z.array(z.string()).max(12).optional().describe('tune only these parameters (default: all with a declared range)'),
    ranges: z
      .record(z.string(), z.object({ min: z.number().optional(), max: z.number().optional() }))
      .optional()
      .describe(
        'narrower search ranges; an scx binary entry (scx_*) declares no range for its integer options (its --help has none): give one here to search them, its switches are searched as booleans',
      ),
    fixed: Params.optional().describe('values every trial uses (batch fixtures set unit_us for you)'),
    maxRegressionPct: z
      .number()
      .min(0)
      .max(10000)
      .default(100)
      .describe("a trial this much worse (%, primary metric) than the entry's defaults in the same round counts as failed"),
    preset: PresetName.optional().describe('name for the best configuration (default tuned-<workload>)'),
    quick: quickParam,
    seed: z.number().int().min(0).max(1e6).default(0),
    hints: hintsParam('sjf, ljf, hybrid, given to every trial'),
  },
  output: {
    entry: z.string(),
    workload: reads({ id: z.string(), title: z.string() }),
    objective: z.array(reads({ metric: z.string(), weight: z.number() })),
    searched: z.array(reads({ name: z.string(), min: z.number(), max: z.number() })),
    fixed: Params,
    budget: z.number(),
    plannedCandidates: z.number(),
    trialsRun: z.number(),
    kernelDefault: Summary,
    defaults: Summary,
    best: Summary.nullable(),
    improvement: reads({
      metric: z.string(),
      vsDefaultsPct: z.number().nullable(),
      vsKernelPct: z.number().nullable(),
      beyondSpread: z.boolean(),
      pairedPct: z.number().nullable(),
    }),
    trials: z.array(
      reads({ index: z.number(), params: Params, ok: z.boolean(), score: z.number().nullable(), failure: z.string().nullable(), metrics: Numbers }),
    ),
    preset: reads({ name: z.string(), params: Params }).nullable(),
    stopped: z.string().nullable(),
    environment: reads({ kernel: z.string().nullable(), accelerator: z.string().nullable() }),
    sandbox: reads({ restarts: z.number(), lostRuns: z.array(z.string()) }).describe(
      "fresh VMs booted after crashes; runs the emulator's own faults took down (run again, not counted against a trial)",
    ),
    profile: WorkloadProfileOut.describe('the workload profiled under the kernel default (its fingerprint goes into the history records)'),
    chartPath: z.string(),
    durationMs: z.number(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(input, ctx) {
    const store = await ctx.engines.library();
    const { entry } = await store.get(input.entry);
    // workloadFor takes the workload fields (fixture or command, cwd, env, writable) it needs from the input
    const workload = workloadFor(input);
    const objective =
      typeof input.objective === 'string'
        ? [{ metric: input.objective, weight: 1 }]
        : input.objective.map((o) => ({ metric: o.metric, weight: o.weight ?? 1 }));
    const fixed = { ...(input.fixed ?? {}) };
    const unit = workload.params.unitMs;
    if (input.workload?.startsWith('batch-') && typeof unit === 'number' && entry.params.some((p) => p.name === 'unit_us') && !('unit_us' in fixed))
      fixed.unit_us = unit * 1000;
    if (input.only?.some((n) => n in fixed))
      throw new ScxError('BAD_INPUT', `a parameter cannot be both fixed and tuned: ${input.only.filter((n) => n in fixed).join(', ')}`);
    const kernel = await ctx.engines.kernel();
    await ctx.progress(`tuning ${input.entry} on ${workload.title}: booting the sandbox`);
    const r = await tuneScheduler({
      kernel,
      store,
      entry: input.entry,
      workload,
      objective,
      budget: input.budget,
      minutes: input.minutes,
      fixed,
      only: input.only,
      ranges: input.ranges,
      maxRegressionPct: input.maxRegressionPct,
      preset: input.preset,
      seed: input.seed,
      ...(input.hints ? { hints: input.hints } : {}),
      signal: ctx.signal,
      onProgress: (m, d, t) => void ctx.progress(m, d, t),
      log: (l) => void ctx.log('info', l),
    });
    const dir = join(runsDir(), 'tune');
    await mkdir(dir, { recursive: true });
    const chartPath = join(dir, `${input.entry}-${workload.id}-${Date.now()}.svg`);
    await writeFile(chartPath, r.chartSvg);
    const { chartSvg, ...rest } = r;
    const m = r.improvement.metric;
    const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${x >= 0 ? '+' : ''}${x} %`);
    const bestLine = r.best
      ? `best ${JSON.stringify(r.best.params)}: ${m} median ${r.best.metrics[m]?.median.toFixed(1)} (${r.best.metrics[m]?.min.toFixed(1)}–${r.best.metrics[m]?.max.toFixed(1)}, n=${r.best.trials})` +
        ` vs defaults ${r.defaults.metrics[m]?.median.toFixed(1)} (${r.defaults.metrics[m]?.min.toFixed(1)}–${r.defaults.metrics[m]?.max.toFixed(1)}, n=${r.defaults.trials})` +
        `; objective score ${r.best.score?.median.toFixed(3)} vs ${r.defaults.score?.median.toFixed(3)} (each run relative to its own bound or its round's kernel default):` +
        ` ${fmt(r.improvement.vsDefaultsPct)} vs the entry's defaults${r.improvement.beyondSpread ? ' (beyond the run-to-run spread)' : ' (within the spread: not a clear win)'}, ${fmt(r.improvement.vsKernelPct)} vs the kernel default; raw ${m} ${fmt(r.improvement.pairedPct)} vs the defaults run in the same round (median of ${r.improvement.pairs} pair(s))`
      : 'no candidate completed a trial';
    const failed = r.trials.filter((t) => !t.ok);
    return {
      structured: { ...rest, chartPath },
      summary:
        `Tuned ${r.entry} on ${r.workload.title} in ${r.trialsRun} trials (${(r.durationMs / 60000).toFixed(1)} min${r.stopped ? `, stopped: ${r.stopped}` : ''}). ${bestLine}.` +
        (failed.length ? ` ${failed.length} trial(s) failed and were eliminated (e.g. ${failed[0]!.failure}).` : '') +
        (r.sandbox.restarts
          ? ` ${r.sandbox.restarts} fresh VM(s) after crashes${r.sandbox.lostRuns.length ? `, ${r.sandbox.lostRuns.length} run(s) lost to the emulator and run again` : ''}.`
          : '') +
        (r.preset
          ? ` Saved as preset "${r.preset.name}": build_scheduler {"entry": "${r.entry}", "preset": "${r.preset.name}"}.`
          : ' No preset saved (the defaults were not beaten).') +
        ` Chart: ${chartPath}.`,
      images: [{ data: chartPng(chartSvg).png.toString('base64'), mimeType: 'image/png' }],
    };
  },
});
