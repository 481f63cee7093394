/** The loader's `error` line as a LoadFailure: what the sandbox's results and the host's deploy answer report. */
import type { LoaderError } from './protocol.js';
import { excerptLog, hintFor, parseLoadFailure, type LoadFailure } from './verifier-log.js';

/** A loader `error` line as a LoadFailure: where the verifier stopped, why, and what to do. */
export function loaderFailure(e: LoaderError): LoadFailure {
  const v: Partial<NonNullable<LoaderError['verifier']>> = e.verifier ?? {};
  const log = typeof e.verifier_log === 'string' ? e.verifier_log : '';
  // no verifier walk, only libbpf's errors (the loader then passes those as the log): a failure before verification,
  // a kfunc (an extern) or relocation the kernel lacks: a link failure (a struct_ops type the kernel lacks is not one)
  const libbpfOnly = log.split('\n').every((l) => !l.trim() || l.startsWith('libbpf: '));
  const errors = (e.libbpf_errors ?? []).join('\n');
  const linkFailure = libbpfOnly && /\bextern \(|\brelo/i.test(errors) ? parseLoadFailure(errors) : null;
  const link = linkFailure?.stage === 'link' ? linkFailure : null;
  const parsed =
    log && !link
      ? parseLoadFailure(
          log.includes('BEGIN PROG LOAD LOG') ? log : `libbpf: prog '${v.prog ?? '?'}': -- BEGIN PROG LOAD LOG --\n${log}\n-- END PROG LOAD LOG --`,
        )
      : null;
  const stage = stageOf(e, Boolean(v.reason || log), link !== null);
  // our parser picks the verifier's own reason line (e.g. "R0 invalid mem access ..."); the loader's is a fallback
  const reason = parsed?.reason ?? link?.reason ?? v.reason ?? String(e.message ?? 'load failed');
  return {
    stage,
    program: v.prog ?? parsed?.program ?? null,
    file: v.location?.file ?? parsed?.file ?? null,
    line: v.location?.line ?? parsed?.line ?? null,
    column: parsed?.column ?? null,
    sourceLine: v.location?.code ?? parsed?.sourceLine ?? null,
    instruction: parsed?.instruction ?? null,
    reason,
    explanation: parsed?.explanation ?? null,
    insnsProcessed: v.insns_processed ?? parsed?.insnsProcessed ?? null,
    insnLimitHit: parsed?.insnLimitHit ?? false,
    errno: parsed?.errno ?? link?.errno ?? null,
    hint: String(e.hint ?? '') || link?.hint || hintFor(`${reason}\n${log}`),
    log: excerptLog(log || String(e.message ?? '')),
    ...(e.code === 'verify_timeout' ? { timedOutS: typeof e.verify_timeout_s === 'number' ? e.verify_timeout_s : null } : {}),
  };
}

/** The loader's stage as a LoadFailure stage: a link failure libbpf reported, the verifier, attaching, or opening the object. */
function stageOf(e: LoaderError, verifierSaid: boolean, link: boolean): LoadFailure['stage'] {
  if (link) return 'link';
  if (e.stage === 'load') return verifierSaid ? 'verifier' : 'unknown';
  return e.stage === 'attach' ? 'attach' : e.stage === 'open' ? 'object' : 'unknown';
}
