/**
 * The loader as a process: which binary, its command line, when a start has an outcome, what the
 * outcome is, and how a failed start reads. One LoaderProcess, two transports (transports.ts): the
 * guest's (a shell over the VM's agent channel starts it and waits; core/sandbox/session.ts) and
 * the host's (a detached spawn that is polled; core/targets/host.ts). The loader is mandatory:
 * set-up builds it (npm run setup), and nothing loads a scheduler without it.
 */
import { JobHints, jobHintArgs } from '../job-hints.js';
import { loaderFailure } from './failure.js';
import { firstMessage, hasLine, type LoaderError, type LoaderOutput } from './protocol.js';
import type { LoadFailure } from './failure.js';

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

export type LoaderBinary = 'scx-job-hints' | 'scx-loader';

/** What a deploy answers when sched-rust is not built. */
export const LOADER_NOT_BUILT = 'the Rust loader (sched-rust: scx-loader, scx-job-hints) is not built: run npm run setup';

/** scx-job-hints when there are hints to feed or lengths to learn, else scx-loader. */
export function loaderBinary(run: Pick<LoaderRun, 'hints' | 'learn'>): LoaderBinary {
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

/** What a transport's start saw: the output up to the outcome (or the wait's end), and the end of stderr. */
export interface TransportStart {
  output: LoaderOutput;
  stderr: string;
  /** the guest's own time for the start (the guest transport), else null */
  guestMs: number | null;
}

/**
 * Where the loader runs and how it is reached. `start` runs the binary detached (it outlives the
 * call: the scheduler stays attached) and waits at most `waitS` for a line of START_OUTCOME_TYPES
 * or the process's exit; it throws TOOL_MISSING when the binary is not there. `output` reads what
 * the loader printed so far; `stop` SIGTERMs it (it detaches cleanly), waits `waitS` for its exit,
 * then SIGKILLs it, and reads its output.
 */
export interface LoaderTransport {
  start(binary: LoaderBinary, args: string[], waitS: number): Promise<TransportStart>;
  output(): Promise<LoaderOutput>;
  stop(waitS: number): Promise<LoaderOutput>;
}

/** A start's outcome, the same rules wherever the loader runs. */
export interface LoaderStart<S extends { state: string }> {
  ok: boolean;
  attached: boolean;
  output: LoaderOutput;
  /** the loader's error line, the very object in `output` (a caller may shorten its verifier_log there) */
  errorLine: LoaderError | null;
  failure: LoadFailure | null;
  /** sched_ext's state right after the start */
  state: S;
  stderr: string;
  guestMs: number | null;
}

/** One loader run (scx-loader or scx-job-hints) through a transport. */
export class LoaderProcess {
  readonly binary: LoaderBinary;
  constructor(
    private readonly transport: LoaderTransport,
    readonly run: LoaderRun,
  ) {
    this.binary = loaderBinary(run);
  }

  /** Start it, wait up to `waitS` for the outcome, read sched_ext's state with `readState`, and judge the start. */
  async start<S extends { state: string }>(readState: () => Promise<S>, waitS: number): Promise<LoaderStart<S>> {
    const t = await this.transport.start(this.binary, loaderArgs(this.run), waitS);
    const state = await readState();
    const { ok, attached, error } = startOutcome(t.output, state.state);
    return { ok, attached, output: t.output, errorLine: error, failure: error ? loaderFailure(error) : null, state, stderr: t.stderr, guestMs: t.guestMs };
  }

  output(): Promise<LoaderOutput> {
    return this.transport.output();
  }

  stop(waitS: number): Promise<LoaderOutput> {
    return this.transport.stop(waitS);
  }
}
