import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { chartPng } from '../core/bench/chart.js';
import { FIXTURE_IDS, workloadFor } from '../core/bench/workloads.js';
import { ScxError } from '../core/errors.js';
import { WorkloadProfile } from '../core/profile/profile.js';
import { runsDir } from '../core/paths.js';
import { CommandFields } from '../core/command.js';
import { tuneScheduler } from '../core/tune/tune.js';
import { JobHints } from '../core/job-hints.js';
import { defineTool } from './define.js';
import { EntryName, PresetName } from '../core/model/names.js';

const Params = z.record(z.string(), z.union([z.number(), z.boolean()]));
const Summary = z.object({
  params: Params,
  trials: z.number(),
  score: z.object({ median: z.number(), min: z.number(), max: z.number() }).nullable(),
  metrics: z.record(z.string(), z.object({ median: z.number(), min: z.number(), max: z.number(), n: z.number() })),
});

export const tuneSchedulerTool = defineTool({
  name: 'tune_scheduler',
  title: "Tune a scheduler's parameters in the sandbox",
  description: [
    "Search a library scheduler's typed parameters for the values that do best on a workload fixture, measured in the sandbox:",
    'successive halving over quasi-random parameter sets (every candidate runs once, the better half again, and so on), each trial a real run',
    'through the loader with --param, with the kernel default run in the same boot as the reference. Failed trials (load, stall, error exit,',
    'a regression beyond maxRegressionPct) eliminate their candidate and are never proposed. Returns the best parameters, their improvement over',
    "the entry's defaults and over the kernel default with min–max spread (beyondSpread: the runs did not overlap), every trial, and a chart.",
    'Every trial is recorded in the library history; the best becomes a named preset of the entry (build_scheduler {"entry", "preset"}).',
    `Fixtures: ${FIXTURE_IDS.join(', ')}, or any command (objective "wall_ms", or "value" for the number it prints). Objective: a metric name (e.g. "makespan_ms", "mean_completion_ms", "wakeup_p99_us", "requests_per_s") or weighted metrics.`,
    'Takes minutes (about 20 trials of a few seconds each under emulation, plus boot); progress is reported; cancellable.',
  ].join(' '),
  input: {
    entry: EntryName.describe('library scheduler, e.g. "ljf"'),
    workload: z.enum(FIXTURE_IDS).optional().describe('benchmark fixture to tune on (or give command)'),
    command: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        'or tune on your own workload: a shell command run in the sandbox guest (any program installed on this machine: the guest sees its filesystem), measured by its wall time (objective "wall_ms") or, with printed, the last number it prints ("value")',
      ),
    ...CommandFields,
    printed: z
      .object({ better: z.enum(['lower', 'higher']), unit: z.string().max(20).optional() })
      .optional()
      .describe('with command: it prints a number to optimise (e.g. a p99 latency: better "lower")'),
    objective: z
      .union([
        z.string(),
        z
          .array(z.object({ metric: z.string(), weight: z.number().positive().default(1) }))
          .min(1)
          .max(5),
      ])
      .describe('metric to optimise in its natural direction, or [{metric, weight}] for a weighted mix'),
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
    quick: z.boolean().default(false).describe('small fixture sizes (a smoke run)'),
    seed: z.number().int().min(0).max(1e6).default(0),
    hints: JobHints.optional().describe(
      'for sjf, ljf, hybrid, given to every trial: job hints fed through scx-job-hints. Rules [{"argv": "xz * /data/big/*", "expect_ms": 30000}, {"cgroup": "/batch.slice", "expect_ms": 500}, {"pgid": 4242, "expect_ms": 80}, {"comm": "job_", "expect_ms": 40}] (argv: a glob over the command line, matched at exec; precedence argv > cgroup > pgid > sid > comm, first rule of a kind wins; optional "source") or the old {"task-name prefix": ms}; needs sched-rust built (npm run setup)',
    ),
  },
  output: {
    entry: z.string(),
    workload: z.object({ id: z.string(), title: z.string() }),
    objective: z.array(z.object({ metric: z.string(), weight: z.number() })),
    searched: z.array(z.object({ name: z.string(), min: z.number(), max: z.number(), log: z.boolean(), kind: z.string() })),
    fixed: Params,
    budget: z.number(),
    plannedCandidates: z.number(),
    trialsRun: z.number(),
    kernelDefault: Summary,
    defaults: Summary,
    best: Summary.nullable(),
    improvement: z.object({
      vsDefaultsPct: z.number().nullable(),
      vsKernelPct: z.number().nullable(),
      metric: z.string(),
      beyondSpread: z.boolean(),
      pairedPct: z.number().nullable(),
      pairs: z.number(),
    }),
    trials: z.array(
      z.object({
        index: z.number(),
        rung: z.number(),
        candidate: z.number(),
        params: Params,
        ok: z.boolean(),
        score: z.number().nullable(),
        failure: z.string().nullable(),
        metrics: z.record(z.string(), z.number()),
        kernelDefault: z.record(z.string(), z.number()),
        recordId: z.string().nullable(),
      }),
    ),
    preset: z.object({ name: z.string(), params: Params }).nullable(),
    stopped: z.string().nullable(),
    environment: z.object({ kernel: z.string().nullable(), accelerator: z.string().nullable(), guestCpus: z.number().nullable() }),
    profile: WorkloadProfile.nullable().describe("the fixture profiled under the kernel default: its fingerprint is in every trial's history record"),
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
        (r.preset
          ? ` Saved as preset "${r.preset.name}": build_scheduler {"entry": "${r.entry}", "preset": "${r.preset.name}"}.`
          : ' No preset saved (the defaults were not beaten).') +
        ` Chart: ${chartPath}.`,
      images: [{ data: chartPng(chartSvg).png.toString('base64'), mimeType: 'image/png' }],
    };
  },
});
