import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { chartPng } from '../core/bench/chart.js';
import { compareBuilds } from '../core/bench/compare.js';
import { workloadFor } from '../core/bench/workloads.js';
import { runsDir } from '../core/paths.js';
import { CommandFields } from '../core/command.js';
import { defineTool } from './define.js';
import { hintsParam, printedParam, quickParam, reads, workloadParams, WorkloadProfileOut } from './shapes.js';
import { BuildId } from '../core/model/names.js';

const Stats = z.object({
  n: z.number(),
  median: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  vsDefaultPct: z.number().nullable(),
  bound: z.number().nullable(),
  gapToBoundPct: z.number().nullable(),
});
const num = (x: number) => (Number.isFinite(x) ? x : null);

export const benchmarkSchedulersTool = defineTool({
  name: 'benchmark_schedulers',
  title: 'Benchmark builds side by side in the sandbox',
  description: [
    'Measure builds against the kernel default on a fixture or your command, in one sandbox boot, repeats interleaved (default, A, B, default, …) so slow moments of the host spread over every policy.',
    'Returns per metric the median, min–max, the change vs the kernel default and the gap to the theoretical bound where one exists (batch makespan and mean completion),',
    "the simulator's predicted ranking beside the measured one, failed runs with the kernel's reason, a chart and a markdown table.",
    "Library builds' medians go into the library history. Takes minutes under emulation.",
  ].join(' '),
  input: {
    buildIds: z.array(BuildId).min(1).max(6).describe('builds to compare (a failed verify_bpf is refused)'),
    ...workloadParams('its wall time (and, with printed, the last number it prints)'),
    ...CommandFields,
    printed: printedParam,
    repeats: z.number().int().min(1).max(10).default(3),
    quick: quickParam,
    record: z.boolean().default(true).describe("record library builds' medians with record_result's store"),
    hints: hintsParam('the builds that read them (sjf, ljf, hybrid)'),
    learn: z
      .boolean()
      .default(true)
      .describe(
        "learned lengths for a recurring batch: builds with the job-length core (sjf, ljf, hybrid) record each program's CPU time under this command (or fixture), and a later call without hints gets them back as argv hints (the result's hints.from says so)",
      ),
  },
  output: {
    workload: reads({ id: z.string(), title: z.string(), primary: z.string() }),
    environment: reads({ kernel: z.string().nullable(), accelerator: z.string().nullable(), bootMs: z.number().nullable() }),
    policies: z.array(
      z.object({
        name: z.string(),
        source: z.string(),
        status: z.enum(['ok', 'partial', 'failed']),
        metrics: z.record(z.string(), Stats),
        failures: z.array(z.object({ repeat: z.number(), kind: z.string(), message: z.string() })),
      }),
    ),
    predictions: z.array(z.object({ metric: z.string(), predicted: z.array(z.string()), measured: z.array(z.string()), agreement: z.number().nullable() })),
    sameWork: z.boolean(),
    profile: WorkloadProfileOut.describe('the workload profiled under the kernel default (its fingerprint goes into the history records)'),
    recorded: z.array(z.object({ policy: z.string(), entry: z.string(), recordId: z.string(), outcome: z.string() })),
    hints: z
      .object({ from: z.enum(['given', 'learned', 'none']), rules: z.number(), learnedNow: z.number() })
      .describe(
        'where the job hints came from (given, learned from earlier runs of this batch, none), how many rules, and how many job runtimes this call recorded for next time',
      ),
    markdown: z.string(),
    chartPath: z.string(),
    durationMs: z.number(),
    error: z.string().nullable(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(input, ctx) {
    const kernel = await ctx.engines.kernel();
    const store = await ctx.engines.library();
    // workloadFor takes the workload fields (fixture or command, cwd, env, writable) it needs from the input
    const workload = workloadFor(input);
    await ctx.progress(`benchmarking ${input.buildIds.length} build(s) on ${workload.title}: booting the sandbox`);
    const c = await compareBuilds({
      kernel,
      store,
      workload,
      buildIds: input.buildIds,
      repeats: input.repeats,
      record: input.record,
      signal: ctx.signal,
      ...(input.hints ? { hints: input.hints } : {}),
      ...(input.learn ? { learnScope: input.command ? `command:${input.command}` : `fixture:${input.workload}${input.quick ? ':quick' : ''}` } : {}),
      onProgress: (m, d, t) => void ctx.progress(m, d, t),
      log: (l) => void ctx.log('info', l),
    });
    const r = c.result;
    const dir = join(runsDir(), 'bench');
    await mkdir(dir, { recursive: true });
    const chartPath = join(dir, `${workload.id}-${Date.now()}.svg`);
    await writeFile(chartPath, c.chartSvg);
    const primary = r.workload.metrics.find((m) => m.key === r.workload.primary)!;
    const lines = r.policies.map((p) => {
      const s = p.metrics[primary.key];
      return (
        `${p.name}: ${s && s.n ? `${s.median.toFixed(1)} ${primary.unit} (${s.min.toFixed(1)}–${s.max.toFixed(1)}, n=${s.n})` : 'no counted run'}` +
        `${!p.isDefault && s?.vsDefaultPct != null ? `, ${s.vsDefaultPct >= 0 ? '+' : ''}${s.vsDefaultPct.toFixed(1)} % vs default` : ''}` +
        `${s?.gapToBoundPct != null ? `, ${s.gapToBoundPct.toFixed(1)} % above the bound` : ''}${p.failures.length ? `, ${p.failures.length} failed (${p.failures[0]!.message})` : ''}`
      );
    });
    return {
      structured: {
        workload: { id: r.workload.id, title: r.workload.title, description: r.workload.description, primary: r.workload.primary },
        environment: { kernel: r.environment.kernel, accelerator: r.environment.accelerator, guestCpus: r.environment.guestCpus, bootMs: r.environment.bootMs },
        policies: r.policies.map((p) => ({
          name: p.name,
          source: p.source,
          status: p.status,
          failures: p.failures,
          metrics: Object.fromEntries(
            Object.values(p.metrics).map((m) => [
              m.key,
              {
                n: m.n,
                median: num(m.median),
                min: num(m.min),
                max: num(m.max),
                vsDefaultPct: m.vsDefaultPct,
                bound: m.bound,
                gapToBoundPct: m.gapToBoundPct,
              },
            ]),
          ),
        })),
        predictions: r.predictions.map((p) => ({
          metric: p.metric,
          predicted: p.predicted.map((e) => e.policy),
          measured: p.measured.map((e) => e.policy),
          agreement: p.agreement,
        })),
        sameWork: r.sameWork,
        profile: r.profile ?? null,
        recorded: c.recorded,
        hints: c.hints,
        markdown: c.markdown,
        chartPath,
        durationMs: r.durationMs,
        error: r.error,
      },
      summary:
        `${r.workload.title}, ${primary.label} (${primary.better} is better), ${r.repeats} interleaved run(s) each on ${r.environment.guestCpus} vCPUs (${r.environment.accelerator}):\n${lines.join('\n')}` +
        (r.error ? `\nStopped early: ${r.error}` : '') +
        (c.recorded.length ? `\nRecorded in the library history: ${c.recorded.map((x) => `${x.entry} (${x.outcome})`).join(', ')}.` : '') +
        (c.hints.from !== 'none'
          ? `\nJob hints: ${c.hints.rules} rule(s), ${c.hints.from === 'learned' ? 'learned from earlier runs of this batch (median CPU time per command line)' : 'as given'}.`
          : '') +
        (c.hints.learnedNow ? `\nRecorded ${c.hints.learnedNow} job runtime(s) for the next run of this batch.` : '') +
        `\nChart: ${chartPath}`,
      images: [{ data: chartPng(c.chartSvg).png.toString('base64'), mimeType: 'image/png' }],
    };
  },
});
