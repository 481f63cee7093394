/**
 * Starting the loader, the half that does not depend on where it runs: which binary, its command
 * line, when a start has an outcome, and what the outcome is. The two transports use it: the
 * sandbox session (core/sandbox/session.ts: a shell in the guest over the VM's agent channel
 * starts it and waits) and the host backend (core/targets/host.ts: a detached spawn it polls).
 */
import { JobHints, jobHintArgs } from '../job-hints.js';
import { firstMessage, hasLine, type LoaderError, type LoaderOutput } from './protocol.js';

export interface LoaderRun {
  /** the .bpf.o, as the loader's machine sees it */
  object: string;
  statsIntervalMs: number;
  params?: Record<string, number | boolean>;
  /** sched_ext watchdog timeout (--timeout-ms) */
  timeoutMs?: number;
  verifierStats?: boolean;
  /** stop a load still verifying after this many seconds (--verify-timeout-s) */
  verifyTimeoutS?: number;
  hints?: JobHints;
  /** scx-job-hints --learn: a job_done line for every program that execs and ends */
  learn?: boolean;
}

/** scx-job-hints when there are hints to feed or lengths to learn, else scx-loader. */
export function loaderBinary(run: Pick<LoaderRun, 'hints' | 'learn'>): 'scx-job-hints' | 'scx-loader' {
  return run.hints || run.learn ? 'scx-job-hints' : 'scx-loader';
}

/** The `run` command line (without the binary). */
export function loaderArgs(run: LoaderRun): string[] {
  return [
    'run',
    run.object,
    '--stats-interval-ms',
    String(run.statsIntervalMs),
    ...Object.entries(run.params ?? {}).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
    ...(run.timeoutMs ? ['--timeout-ms', String(run.timeoutMs)] : []),
    ...(run.verifierStats ? ['--verifier-stats'] : []),
    ...(run.verifyTimeoutS !== undefined ? ['--verify-timeout-s', String(run.verifyTimeoutS)] : []),
    ...jobHintArgs(run.hints),
    ...(run.learn ? ['--learn'] : []),
  ];
}

/** The lines after which a start has its outcome: attached, failed, or ejected at once. */
export const START_OUTCOME_TYPES = ['attached', 'error', 'exit'] as const;

/** Whether the output so far has a start's outcome. */
export function startDecided(out: LoaderOutput): boolean {
  return hasLine(out.lines, ...START_OUTCOME_TYPES);
}

/** A start succeeded when the loader said attached, printed no error, and sched_ext is enabled. */
export function startOutcome(out: LoaderOutput, sysfsState: string): { ok: boolean; attached: boolean; error: LoaderError | null } {
  const error = firstMessage(out.lines, 'error');
  const attached = hasLine(out.lines, 'attached');
  return { ok: attached && !error && sysfsState === 'enabled', attached, error };
}
