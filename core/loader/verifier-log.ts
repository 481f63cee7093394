/**
 * A failed load as the sandbox's results and the host's deploy answer report it: which program, which
 * source line, which instruction, what the verifier objected to, how many instructions it walked, and
 * how to fix it. The loader works all of that out from the verifier log (sched-rust/scx-loader/src/failure.rs);
 * core/loader/failure.ts maps its error line to this.
 */
import { z } from 'zod';

export const LoadFailure = z.object({
  stage: z.enum(['verifier', 'link', 'object', 'attach', 'unknown']),
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
