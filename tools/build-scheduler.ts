import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { BuildRecord, buildScheduler } from '../core/builds/build.js';
import { buildScxEntry } from '../core/builds/scx-build.js';
import { applyPatch } from '../core/toolchain/patch.js';
import { resolveInWorkspace } from '../core/workspace.js';
import { defineTool } from './define.js';
import { Params, reads } from './shapes.js';
import { EntryName, PresetName } from '../core/model/names.js';

const MAX_SOURCE = 512 * 1024;

export const buildSchedulerTool = defineTool({
  name: 'build_scheduler',
  title: 'Build a scheduler',
  description: [
    'Compile a sched_ext scheduler for the sandbox kernel, static analysis first (NULL checks, unbounded loops, licence, kfuncs the kernel lacks, the ops table: file:line and a fix); only clean sources are compiled.',
    'Give exactly one of `entry` (a library scheduler, optionally with `patch`), `source` (your BPF C; include "scx_common.bpf.h", see bpf-templates/fifo/fifo.bpf.c) or `path`.',
    'Returns a buildId for verify_bpf; the same input gives the same buildId, and a build that already passed verify_bpf on its kernel (`verification`) can go straight to deploy_scx.',
  ].join(' '),
  input: {
    entry: EntryName.optional().describe('library entry name, e.g. "ljf"'),
    patch: z.string().max(MAX_SOURCE).optional().describe("unified diff against the entry's source (only with entry)"),
    source: z.string().max(MAX_SOURCE).optional().describe('full BPF C source of a scheduler'),
    path: z.string().max(4096).optional().describe('path of a .bpf.c file inside the workspace'),
    fileName: z
      .string()
      .regex(/^[A-Za-z0-9_-]+\.bpf\.c$/)
      .optional()
      .describe('file name for `source` (default agent.bpf.c), used in diagnostics'),
    params: z
      .record(z.string(), z.union([z.number(), z.boolean()]))
      .optional()
      .describe('the scheduler\'s SCX_PARAM tunables (typed, range-checked), e.g. {"slice_us": 2000}'),
    preset: PresetName.optional().describe('a named parameter set of the entry (from tune_scheduler; see scx://library/<name>); `params` override it'),
  },
  output: {
    buildId: z.string(),
    ok: z.boolean(),
    stage: BuildRecord.shape.stage,
    name: z.string(),
    kernel: z.string(),
    params: Params,
    origin: reads({ kind: z.string(), entry: z.string().optional() }).describe('kind: library, patch, source, path, or scx (a sched-ext/scx binary)'),
    findings: z.array(reads({ file: z.string(), line: z.number(), rule: z.string(), severity: z.string(), message: z.string(), fix: z.string() })),
    diagnostics: z.array(reads({ file: z.string(), line: z.number(), severity: z.string(), message: z.string() })).describe('from clang'),
    durations: reads({ staticMs: z.number(), compileMs: z.number().nullable() }),
    verification: reads({ verdict: z.enum(['pass', 'fail']), kernel: z.string(), reasons: z.array(z.string()) })
      .nullable()
      .describe("the latest verify_bpf verdict on the build's kernel"),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(input, ctx) {
    const given = [input.entry, input.source, input.path].filter((x) => x !== undefined).length;
    if (given !== 1)
      throw new ScxError('BAD_INPUT', 'give exactly one of entry, source or path', 'entry: a library scheduler; source: BPF C text; path: a workspace file');
    if (input.preset && !input.entry) throw new ScxError('BAD_INPUT', 'preset needs entry: presets belong to library schedulers');
    if (input.patch && !input.entry) throw new ScxError('BAD_INPUT', "patch needs entry: it is a diff against a library scheduler's source");
    const kernel = await ctx.engines.kernel();
    let source: string;
    let fileName: string;
    let origin: z.infer<typeof BuildRecord.shape.origin>;
    let paramSpecs;
    let params = input.params;
    if (input.entry) {
      const store = await ctx.engines.library();
      const e = await store.get(input.entry);
      if (input.preset) params = { ...store.preset(input.entry, input.preset).params, ...(input.params ?? {}) };
      if (e.entry.kind === 'scx') {
        // a sched-ext/scx binary: no compile, a build record of binary + arguments (core/builds/scx-build.ts)
        if (input.patch)
          throw new ScxError(
            'BAD_INPUT',
            `${input.entry} is a prebuilt sched-ext/scx binary: there is no source to patch`,
            'set its options with params, or patch one of the BPF library entries',
          );
        const rec = await buildScxEntry({ entry: e.entry, params, kernel });
        return {
          structured: buildStructured(rec),
          summary: `Recorded ${input.entry} ${rec.origin.binaryVersion} as ${rec.id}: ${[rec.origin.binary, ...(rec.origin.args ?? [])].join(' ')} (arguments checked against its --help). ${nextStep(rec)}`,
        };
      }
      fileName = basename(e.sourcePath);
      source = e.source;
      paramSpecs = e.entry.params;
      origin = { kind: input.patch ? 'patch' : 'library', entry: input.entry, version: e.entry.version };
      if (input.patch) source = await applyPatch(fileName, source, input.patch);
    } else if (input.path) {
      const p = resolveInWorkspace(input.path);
      if (!p.endsWith('.bpf.c')) throw new ScxError('BAD_INPUT', `${input.path} is not a .bpf.c file`);
      source = await readFile(p, 'utf8');
      fileName = basename(p);
      origin = { kind: 'path', path: p };
    } else {
      source = input.source!;
      fileName = input.fileName ?? 'agent.bpf.c';
      origin = { kind: 'source' };
    }
    await ctx.progress(`static analysis and clang for ${fileName}`);
    const rec = await buildScheduler({ source, fileName, origin, params, paramSpecs, kernel });
    const errors = rec.findings.filter((f) => f.severity === 'error').length + rec.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = rec.findings.length + rec.diagnostics.length - errors;
    const first = rec.findings.find((f) => f.severity === 'error') ?? rec.diagnostics.find((d) => d.severity === 'error');
    const summary = rec.ok
      ? `Built ${rec.name} as ${rec.id} for kernel ${rec.kernel}${warnings ? ` with ${warnings} warning(s)` : ''}. ${nextStep(rec)}`
      : `Build of ${rec.name} stopped at ${rec.stage === 'static' ? 'static analysis' : 'compile'} with ${errors} error(s)` +
        (first ? `; first: ${first.file}:${first.line}: ${first.message}${'fix' in first ? ` — fix: ${first.fix}` : ''}` : '') +
        '.';
    return {
      structured: buildStructured(rec),
      summary,
    };
  },
});

/** The tool's structured answer for a build record, the same for BPF and scx binary builds. */
export function buildStructured(rec: BuildRecord) {
  const { id, ok, stage, name, kernel, params, origin, findings, diagnostics, durations, verification } = rec;
  return { buildId: id, ok, stage, name, kernel, params, origin, findings, diagnostics, durations, verification };
}

/** What to call next: verify_bpf, unless this same build (same input, same id) was verified on its kernel already (a second verify_bpf would boot a VM to repeat it). */
function nextStep(rec: { id: string; kernel: string; verification: { verdict: string; kernel: string; at: string; reasons: string[] } | null }): string {
  const v = rec.verification;
  if (v?.kernel === rec.kernel && v.verdict === 'pass')
    return `Already verified: pass on ${v.kernel} (${v.at}), the same build as then. Next: deploy_scx {"buildId":"${rec.id}"} (verify_bpf again only for other kernels).`;
  if (v?.kernel === rec.kernel && v.verdict === 'fail')
    return `It failed verification on ${v.kernel} (${v.at}): ${v.reasons.join('; ')}. Change the scheduler or its params.`;
  return `Next: verify_bpf {"buildId":"${rec.id}"}.`;
}
