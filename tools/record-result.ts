import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { Fingerprint } from '../core/model/fingerprint.js';
import { direction, improvementPct, inferOutcome } from '../core/library/history.js';
import { LibraryEntry, Objective, Tag } from '../core/model/entry.js';
import { declaredParams } from '../core/toolchain/params.js';
import { buildSource, getBuild, type BuildRecord } from '../core/builds/build.js';
import { TargetKind } from '../core/model/target.js';
import { defineTool } from './define.js';
import { LEARNED_SET } from '../core/library/questions.js';
import { BuildId, EntryName } from '../core/model/names.js';

const NewEntry = z.object({
  name: EntryName,
  title: z.string().min(3).max(120),
  description: z.string().min(20).max(4000),
  algorithm: z.string().min(10).max(4000),
  family: LibraryEntry.shape.family,
  tags: z.array(Tag).min(1),
  useCases: z.array(z.string()).min(1),
  limitations: z.array(z.string()).min(1),
});

export const recordResultTool = defineTool({
  name: 'record_result',
  title: 'Record a measured result',
  description: [
    'Store what a scheduler achieved on a workload (metrics, and the same metrics under the kernel default), so search ranks better next time and scx://memory learns. Record failures and regressions too.',
    'To keep a scheduler you wrote or patched: `saveAs: "new-entry"` (with `entry` metadata) makes a library entry of the build; `"new-version"` stores a patched entry as its next version.',
  ].join(' '),
  input: {
    buildId: BuildId.optional(),
    entryName: EntryName.optional().describe('when there is no build (e.g. measured elsewhere)'),
    target: TargetKind.default('sandbox'),
    workload: z.object({
      name: z.string().min(1).max(200),
      description: z
        .string()
        .max(2000)
        .optional()
        .describe(
          "the workload and its goal in words (what you searched search_library for): an improved result makes it a past question that search asks, served by this entry's family",
        ),
      objective: Objective.optional().describe('what the workload needed optimised (the objective you searched for); default: from the headline metric'),
      command: z.string().max(4096).optional(),
      fingerprint: Fingerprint.optional().describe('from profile_workload'),
    }),
    params: z.record(z.string(), z.union([z.number(), z.boolean()])).optional(),
    metrics: z
      .record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.number())
      .refine((m) => Object.keys(m).length > 0, 'at least one metric')
      .describe('e.g. {"makespan_ms": 6400, "mean_completion_ms": 2100} or {"p99_latency_us": 410, "throughput_rps": 9000}'),
    baseline: z.record(z.string(), z.number()).optional().describe('the same metrics under the kernel default'),
    better: z
      .record(z.string(), z.enum(['lower', 'higher']))
      .optional()
      .describe('direction per metric; default: *_ms/*_us/latency lower, throughput/rps higher'),
    outcome: z.enum(['improved', 'regressed', 'neutral', 'failed']).optional().describe('default: computed from metrics vs baseline'),
    note: z.string().max(2000).optional(),
    saveAs: z.enum(['new-entry', 'new-version']).optional(),
    entry: NewEntry.optional().describe('metadata for saveAs "new-entry"'),
  },
  output: {
    recordId: z.string(),
    entry: z.string(),
    outcome: z.enum(['improved', 'regressed', 'neutral', 'failed']),
    improvements: z.record(z.string(), z.number()).describe('per metric, % better than baseline (negative = worse)'),
    saved: z.object({ name: z.string(), version: z.number(), commit: z.string() }).nullable(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(input, ctx) {
    const store = await ctx.engines.library();
    let build: BuildRecord | undefined;
    if (input.buildId) build = await getBuild(input.buildId);
    let entryName = input.entryName ?? build?.origin.entry;
    let saved: { name: string; version: number; commit: string } | null = null;

    if (input.saveAs) {
      if (!build) throw new ScxError('BAD_INPUT', 'saveAs needs a buildId: the build is what gets saved');
      if (build.verification?.verdict !== 'pass')
        throw new ScxError('BAD_INPUT', `build ${build.id} has not passed verify_bpf; only verified schedulers enter the library`, 'run verify_bpf first');
      const source = await buildSource(build.id, build);
      const test = {
        kind: 'stress' as const,
        kernel: build.verification.kernel,
        at: build.verification.at,
        pass: true,
        details: { reasons: build.verification.reasons, buildId: build.id },
      };
      if (input.saveAs === 'new-entry') {
        if (!input.entry)
          throw new ScxError('BAD_INPUT', 'saveAs "new-entry" needs `entry` (name, title, description, algorithm, family, tags, useCases, limitations)');
        const e = input.entry;
        const params = declaredParams(source).map((p) => ({
          name: p.name,
          type: (['u64', 'u32', 's64', 's32', 'bool'].includes(p.type) ? p.type : 'u64') as 'u64',
          default: p.type === 'bool' ? /true|1/.test(p.default) : Number.parseInt(p.default, 10) || 0,
          description: `${p.name} (declared in the source)`,
        }));
        const entry = LibraryEntry.parse({
          ...e,
          params,
          source: `${e.name}.bpf.c`,
          version: 1,
          parent: build.origin.entry ? `${build.origin.entry}@${build.origin.version}` : null,
          createdBy: 'agent',
          kernelApi: {
            minKernel: '6.12',
            kfuncs: [...new Set(source.match(/\bscx_(?:bpf_)?\w+(?=\s*\()/g) ?? [])],
            ops: [...new Set([...source.matchAll(/\.(\w+)\s*=\s*\(void \*\)/g)].map((m) => m[1]!))],
          },
        });
        saved = await store.create({ entry, source, tests: [test], author: 'agent', message: `create ${e.name} from build ${build.id}` });
        entryName = e.name;
      } else {
        if (build.origin.kind !== 'patch' || !build.origin.entry)
          throw new ScxError('BAD_INPUT', 'saveAs "new-version" is for builds made from an entry with a patch');
        const r = await store.modify(build.origin.entry, {
          source,
          tests: [test],
          author: 'agent',
          message: `new version of ${build.origin.entry} from build ${build.id}`,
        });
        saved = { name: r.name, version: r.version, commit: r.commit };
      }
    }
    if (!entryName) {
      throw new ScxError(
        'BAD_INPUT',
        'this result belongs to no library entry: the build was made from your own source',
        'pass entryName, or save the scheduler first with saveAs "new-entry" and entry metadata',
      );
    }
    await store.get(entryName); // must exist

    const better = Object.fromEntries(Object.keys(input.metrics).map((m) => [m, direction(m, input.better)]));
    const raw = improvementPct({ metrics: input.metrics, baseline: input.baseline, better });
    const improvements = Object.fromEntries(Object.entries(raw).map(([m, x]) => [m, Math.round(x * 10) / 10]));
    const outcome = input.outcome ?? inferOutcome({ metrics: input.metrics, baseline: input.baseline, better });
    const rec = await store.recordResult({
      entry: entryName,
      version: saved?.version,
      buildId: build?.id,
      params: input.params ?? build?.params ?? {},
      target: input.target,
      workload: input.workload,
      metrics: input.metrics,
      baseline: input.baseline,
      better,
      outcome,
      note: input.note,
      at: new Date().toISOString(),
    });
    const words = input.workload.description?.trim();
    const asked = words ? store.questions().find((q) => q.set === LEARNED_SET && q.description === words) : undefined;
    const imp = Object.entries(improvements)
      .map(([m, x]) => `${m} ${x >= 0 ? '+' : ''}${x} %`)
      .join(', ');
    return {
      structured: { recordId: rec.id, entry: entryName, outcome, improvements, saved },
      summary:
        `Recorded ${outcome} result for ${entryName} on "${input.workload.name}"${imp ? ` (${imp} vs baseline)` : ''}.` +
        (saved ? ` Saved as ${saved.name} v${saved.version} (commit ${saved.commit.slice(0, 8)}).` : '') +
        (asked ? ` Its description is a past question search_library asks, served by ${asked.expectedFamily} (${asked.source}).` : '') +
        ' The memory resource scx://memory is updated.',
    };
  },
});
