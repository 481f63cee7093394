import { z } from 'zod';
import { getBuild } from '../core/builds/build.js';
import { KERNEL_SPEC, verifyOnKernels } from '../core/builds/verify-kernels.js';
import { SandboxResult } from '../core/sandbox/results.js';
import { saveLog } from '../core/logs.js';
import { defineTool } from './define.js';
import { LoadFailureOut, ProgramOut, reads, SandboxOut } from './shapes.js';
import { BuildId } from '../core/model/names.js';

export const verifyBpfTool = defineTool({
  name: 'verify_bpf',
  title: 'Verify a build in the sandbox',
  description: [
    'Run a build through the real kernel in a throwaway sandbox VM: verifier (load), a stress run (stress-ng + hackbench) under the scheduler, the sched_ext state, unload.',
    "Verdict pass/fail with reasons: a verifier rejection points at file:line with a fix hint (the whole log is linked, scx://logs/...); a scheduler the kernel ejects (stall, scx_bpf_error) fails with the kernel's reason; a load still verifying after 60 s (20 s with KVM) is stopped as an unbounded loop.",
    'Only passing builds can be deployed. Takes tens of seconds per kernel under emulation.',
  ].join(' '),
  input: {
    buildId: BuildId.describe('from build_scheduler'),
    stressSeconds: z.number().int().min(1).max(120).default(5).describe('seconds of stress-ng under the scheduler'),
    kernels: z
      .array(z.string().regex(KERNEL_SPEC))
      .min(1)
      .max(6)
      .optional()
      .describe(
        'kernels to verify on, one VM each: "sandbox" (default), "host" (this machine\'s kernel: needed before deploy_scx to the host), or Debian releases (e.g. "7.2.12+deb13-amd64", fetched on first use); kfuncs and the verifier differ between releases',
      ),
  },
  output: {
    buildId: z.string(),
    verdict: z.enum(['pass', 'fail']),
    reasons: z.array(z.string()),
    programs: z.array(ProgramOut),
    stressSeconds: z.number(),
    sandbox: SandboxOut,
    kernels: z
      .array(
        reads({
          spec: z.string(),
          kernel: z.string(),
          verdict: z.enum(['pass', 'fail']),
          reasons: z.array(z.string()),
          loadFailure: LoadFailureOut.nullable(),
        }),
      )
      .describe('the verdict on each kernel (the fields above describe the first)'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(input, ctx) {
    const kernel = await ctx.engines.kernel();
    const matrix = await verifyOnKernels(input.buildId, input.kernels ?? ['sandbox'], kernel, {
      stressSeconds: input.stressSeconds,
      onProgress: (m, p, t) => void ctx.progress(m, p, t),
      log: (l) => void ctx.log('info', l),
    });
    const report = {
      ...matrix.reports[0]!,
      verdict: matrix.verdict,
      reasons: matrix.kernels.length > 1 ? matrix.kernels.map((k) => `${k.kernel}: ${k.verdict}: ${k.reasons.join('; ')}`) : matrix.reports[0]!.reasons,
    };
    // a library entry carries its test results: record this verification in the library
    const build = await getBuild(input.buildId);
    if (build.origin.entry && (build.origin.kind === 'library' || build.origin.kind === 'scx')) {
      const store = await ctx.engines.library();
      const insns = report.programs.reduce((a, p) => a + (p.verifiedInsns ?? 0), 0);
      await store
        .recordTest(build.origin.entry, {
          kind: 'stress',
          kernel: report.sandbox.kernel.release,
          at: new Date().toISOString(),
          pass: report.verdict === 'pass',
          details: { buildId: build.id, reasons: report.reasons, params: build.params },
          numbers: {
            stressSeconds: report.stressSeconds,
            verifiedInsns: insns,
            loadMs: report.sandbox.timings.loadMs ?? 0,
            bootMs: report.sandbox.timings.bootMs,
            ...(report.programs.some((p) => p.totalStates !== null) ? { verifierStates: report.programs.reduce((a, p) => a + (p.totalStates ?? 0), 0) } : {}),
          },
        })
        .catch((e) => ctx.log('warning', `could not record the test result in the library: ${(e as Error).message}`));
    }
    const lf = report.sandbox.loadFailure ?? matrix.kernels.find((k) => k.loadFailure)?.loadFailure ?? null;
    const summary =
      report.verdict === 'pass'
        ? `PASS: ${report.reasons.join('; ')}. ${report.programs.length} programs, ${report.programs.reduce((a, p) => a + (p.verifiedInsns ?? 0), 0)} verified instructions` +
          `${report.programs.some((p) => p.totalStates !== null) ? `, ${report.programs.reduce((a, p) => a + (p.totalStates ?? 0), 0)} verifier states` : ''}. Next: deploy_scx.`
        : `FAIL: ${report.reasons.join('; ')}${lf ? `. Hint: ${lf.hint}` : ''}`;
    const whole = lf?.wholeLog;
    const links = whole
      ? [
          {
            uri: whole.uri,
            name: `verifier log of ${input.buildId}`,
            description: `the whole verifier log (${whole.bytes} bytes); the result carries the part that explains the failure`,
          },
        ]
      : [];
    // scx-loader's once-a-second stats lines (and its verifier_stats lines, parsed into `programs`) were most of a
    // passing verify result (ljf: 18.4 KB, 7.6 KB without them; docs/improvement-loop.md): the result keeps the other
    // lines and the last stats line of each step; the whole sandbox result is a log of the build, linked
    const thin = thinLoaderLines(report.sandbox, report.programs.length > 0);
    if (thin.dropped) {
      const all = await saveLog(JSON.stringify(report.sandbox, null, 1), { buildId: input.buildId, name: 'sandbox-run' }).catch(() => undefined);
      if (all)
        links.push({
          uri: all.uri,
          name: `sandbox run of ${input.buildId}`,
          description: `the whole sandbox result (${all.bytes} bytes), with the ${thin.dropped} scx-loader stats/verifier_stats lines left out of this result`,
        });
    }
    return {
      structured: { ...report, sandbox: thin.sandbox, kernels: matrix.kernels },
      summary: whole ? `${summary}. The whole verifier log: ${whole.uri}` : summary,
      ...(links.length ? { links } : {}),
    };
  },
});

/** The sandbox result without scx-loader's periodic stats lines (the last one of each step stays) and, when `parsed`, its verifier_stats lines. */
function thinLoaderLines(sandbox: SandboxResult, parsed: boolean): { sandbox: SandboxResult; dropped: number } {
  let dropped = 0;
  const steps = sandbox.steps.map((step) => {
    if (!step.loader) return step;
    const lines = step.loader.lines;
    const lastStats = lines.map((l) => l.type).lastIndexOf('stats');
    const kept = lines.filter((l, i) => !((l.type === 'stats' && i !== lastStats) || (parsed && l.type === 'verifier_stats')));
    dropped += lines.length - kept.length;
    return { ...step, loader: { ...step.loader, lines: kept } };
  });
  return { sandbox: { ...sandbox, steps }, dropped };
}
