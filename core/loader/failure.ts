/** The loader's `error` line as a LoadFailure: what the sandbox's results and the host's deploy answer report. */
import { z } from 'zod';
import { LoaderFailure, type LoaderError } from './protocol.js';

/**
 * A failed load as the sandbox's results and the host's deploy answer report it: which program, which
 * source line, which instruction, what the verifier objected to, how many instructions it walked, and
 * how to fix it. The loader works all of that out from the verifier log (sched-rust/scx-loader/src/failure.rs).
 */
export const LoadFailure = z.object({
  stage: LoaderFailure.shape.stage, // the loader's stages, as it names them
  program: z.string().nullable(),
  file: z.string().nullable(),
  line: z.number().nullable(),
  column: z.number().nullable(),
  sourceLine: z.string().nullable().describe('the C source text the verifier quoted for the failing line'),
  instruction: z.object({ index: z.number(), text: z.string() }).nullable(),
  reason: z.string(),
  explanation: z.string().nullable().describe("the kernel's own explanation (newer verifiers): summary, reason and suggestion"),
  insnsProcessed: z.number().nullable(),
  insnLimitHit: z.boolean(),
  errno: z.string().nullable(),
  hint: z.string(),
  log: z.string().describe('what of the verifier log explains the failure: the failing instruction, a few hundred lines before it, the reason and the counts'),
  wholeLog: z.object({ uri: z.string(), bytes: z.number() }).nullable().optional().describe('the whole log, as a resource (scx://logs/<id>)'),
  timedOutS: z.number().nullable().optional().describe('the load was stopped after this many seconds of verification (the verification budget)'),
});
export type LoadFailure = z.infer<typeof LoadFailure>;

/** A loader `error` line as a LoadFailure: the loader's own `failure` (where the verifier stopped, why, what to do), renamed. */
export function loaderFailure(e: LoaderError): LoadFailure {
  const f = e.failure;
  // argument errors (and scx-job-hints' hint errors) come before the runner: their message is all there is
  if (!f) return { ...NOTHING, reason: e.message, hint: e.hint ?? NO_HINT, log: e.message };
  return {
    stage: f.stage,
    program: f.program,
    file: f.file,
    line: f.line,
    column: f.column,
    sourceLine: f.source_line,
    instruction: f.instruction,
    reason: f.reason,
    explanation: f.explanation,
    insnsProcessed: f.insns_processed,
    insnLimitHit: f.insn_limit_hit,
    errno: f.errno,
    hint: f.hint,
    log: f.log,
    ...(f.timed_out_s !== undefined && f.timed_out_s !== null ? { timedOutS: f.timed_out_s } : {}),
  };
}

const NO_HINT = 'Read the reason and the quoted source line; fix the code there and build again.';
const NOTHING = {
  stage: 'unknown',
  program: null,
  file: null,
  line: null,
  column: null,
  sourceLine: null,
  instruction: null,
  explanation: null,
  insnsProcessed: null,
  insnLimitHit: false,
  errno: null,
} as const;
