/** The loader's `error` line as a LoadFailure: what the sandbox's results and the host's deploy answer report. */
import type { LoaderError } from './protocol.js';
import type { LoadFailure } from './verifier-log.js';

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
