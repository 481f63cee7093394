/**
 * The loader protocol: what sched-rust's scx-loader (and scx-job-hints, which runs the same loader
 * with a hook) prints, one JSON object per line on stdout, `type` first
 * (sched-rust/scx-loader/src/output.rs). The lines of a `run`, in order:
 *
 *   warning*         libbpf or parameter warnings
 *   loaded           after the verifier accepted every program (ops, params as read back, load_ms)
 *   verifier_stats   with --verifier-stats: veristat's numbers per program
 *   unloaded         with --load-only, instead of attaching
 *   attached         the scheduler is enabled (its pid, the sysfs state)
 *   stats*           every --stats-interval-ms, and one with final: true
 *   exit | detached  how it ended: ejected by the kernel (the exit record), or detached by a
 *                    signal, --duration-s or a closed stdout
 *   error            instead of any of these when a stage fails (open, params, env, load, attach,
 *                    hook, args), with the process's exit status
 *
 * `inspect` and `check-params` print one object each. scx-job-hints adds hints, exec_hints,
 * job_hint and job_done (sched-rust/schedulers/job-hints).
 *
 * Objects are loose: hooks add fields to `loaded` and `check-params`, and a field the Rust side
 * adds later must not make a line unreadable. This file is the one place that parses loader
 * output; tests/integration/loader-protocol.test.ts checks the schemas against the real binary.
 */
import { z } from 'zod';

const int = z.number().int();
const nint = int.nullable();

/**
 * What failed and what to do about it (sched-rust/scx-loader/src/failure.rs, which reads the
 * verifier log; nothing here reads it again): every error line of the runner carries it.
 */
export const LoaderFailure = z.looseObject({
  stage: z.enum(['verifier', 'link', 'object', 'attach', 'unknown']),
  program: z.string().nullable(),
  file: z.string().nullable(),
  line: nint,
  column: nint,
  source_line: z.string().nullable(),
  instruction: z.object({ index: int, text: z.string() }).nullable(),
  reason: z.string(),
  explanation: z.string().nullable(),
  insns_processed: nint,
  insn_limit_hit: z.boolean(),
  errno: z.string().nullable(),
  hint: z.string(),
  log: z.string(),
  timed_out_s: z.number().nullable().optional(),
});
export type LoaderFailure = z.infer<typeof LoaderFailure>;

export const LoaderError = z.looseObject({
  type: z.literal('error'),
  stage: z.string().describe('open, params, env, load, attach, hook, args'),
  message: z.string(),
  hint: z.string().nullable().optional(),
  code: z.string().optional().describe('e.g. not_found, open_failed, unknown_param, no_sched_ext, verify_timeout'),
  exit_code: int,
  failure: LoaderFailure.optional().describe('every error line of the runner (not argument errors): what failed, where, why, what to do'),
  verifier_log: z.string().nullable().optional().describe('load: the whole log (libbpf errors before it, then the verifier log)'),
  verify_timeout_s: z.number().optional(),
  libbpf_errors: z.array(z.string()).optional(),
  kernel_log: z.array(z.string()).optional(),
  ok: z.literal(false).optional().describe('check-params only'),
});
export type LoaderError = z.infer<typeof LoaderError>;

export const LoaderWarning = z.looseObject({ type: z.literal('warning'), message: z.string() });

const Ops = { ops: z.string(), map: z.string() };
const LoaderInfo = z.looseObject({ version: z.string(), libbpf: z.string(), link: z.string() });

export const LoaderLoaded = z.looseObject({
  type: z.literal('loaded'),
  ...Ops,
  object: z.string(),
  params: z.record(z.string(), z.unknown()),
  load_ms: z.number(),
  timeout_ms: nint.optional(),
  stats: z.array(z.string()),
  uei: z.boolean(),
  loader: LoaderInfo,
});

export const ProgVerifierStats = z.looseObject({
  prog: z.string(),
  insns_processed: nint,
  max_states_per_insn: nint,
  total_states: nint,
  peak_states: nint,
  mark_read: nint,
  verification_time_us: nint,
  stack_depth: nint,
});
export type ProgVerifierStats = z.infer<typeof ProgVerifierStats>;
export const LoaderVerifierStats = z.looseObject({ type: z.literal('verifier_stats'), programs: z.array(ProgVerifierStats) });

export const LoaderUnloaded = z.looseObject({ type: z.literal('unloaded'), reason: z.string() });

export const LoaderAttached = z.looseObject({
  type: z.literal('attached'),
  ...Ops,
  attach_ms: z.number(),
  state: z.string().nullable(),
  sysfs_ops: z.string().nullable(),
  pid: int,
});

export const LoaderStats = z.looseObject({
  type: z.literal('stats'),
  t_ms: z.number(),
  final: z.boolean().optional(),
  stats: z.record(z.string(), z.unknown()),
});

/** The kernel's exit record (exit.rs ExitInfo::to_json): why sched_ext disabled the scheduler. */
export const ExitRecord = z.looseObject({
  type: z.literal('exit'),
  kind: z.string(),
  kind_code: int,
  exit_code: z.number(),
  reason: z.string().nullable(),
  message: z.string().nullable(),
  source: z.string(),
  t_ms: z.number(),
  loader_exit: int,
});
export const LoaderExit = ExitRecord.extend({ kernel_log: z.array(z.string()).optional() });

export const LoaderDetached = z.looseObject({
  type: z.literal('detached'),
  reason: z.string(),
  signal: z.string().nullable(),
  t_ms: z.number(),
  state: z.string().nullable(),
  exit: ExitRecord.nullable(),
});

export const LoaderInspect = z.looseObject({
  type: z.literal('inspect'),
  object: z.string(),
  license: z.string().nullable(),
  struct_ops: z.array(z.looseObject({ map: z.string(), ops_name: z.string().nullable() })),
  params: z.array(z.looseObject({ name: z.string(), type: z.string() })),
  stats: z.array(z.looseObject({ name: z.string() })),
  uei: z.boolean(),
  maps: z.array(z.looseObject({ name: z.string(), type: z.string() })),
  programs: z.array(z.looseObject({ name: z.string(), section: z.string() })),
  loader: LoaderInfo,
});

export const LoaderCheckParams = z.looseObject({
  type: z.literal('check-params'),
  ok: z.literal(true),
  object: z.string(),
  ...Ops,
  params: z.record(z.string(), z.unknown()),
  set: z.record(z.string(), z.unknown()),
  timeout_ms: nint,
  warnings: z.array(z.string()),
});

// scx-job-hints
export const JobHintsLoaded = z.looseObject({ type: z.literal('hints'), map: z.string(), count: int, written: int });
export const ExecHints = z.looseObject({ type: z.literal('exec_hints') });
export const JobHint = z.looseObject({ type: z.literal('job_hint'), pid: int, kind: z.string(), expect_ns: z.number(), cmdline: z.string() });
export const JobDone = z.looseObject({ type: z.literal('job_done'), pid: int, cmdline: z.string(), cpu_ms: z.number(), wall_ms: z.number() });

/** Every message by its `type`. */
export const LOADER_MESSAGES = {
  error: LoaderError,
  warning: LoaderWarning,
  loaded: LoaderLoaded,
  verifier_stats: LoaderVerifierStats,
  unloaded: LoaderUnloaded,
  attached: LoaderAttached,
  stats: LoaderStats,
  exit: LoaderExit,
  detached: LoaderDetached,
  inspect: LoaderInspect,
  'check-params': LoaderCheckParams,
  hints: JobHintsLoaded,
  exec_hints: ExecHints,
  job_hint: JobHint,
  job_done: JobDone,
} as const;
export type LoaderMessageType = keyof typeof LOADER_MESSAGES;
export type LoaderMessage<T extends LoaderMessageType> = z.infer<(typeof LOADER_MESSAGES)[T]>;

/** One line as it was printed (an object); read a typed message from it with `asMessage`. */
export type LoaderLine = Record<string, unknown>;

/**
 * The line as the typed message of `type`, or null when it is another type or does not have that
 * shape. It is the line itself (checked, not copied), so a caller that shortens a field of it
 * shortens it in the output it keeps.
 */
export function asMessage<T extends LoaderMessageType>(line: LoaderLine, type: T): LoaderMessage<T> | null {
  if (line.type !== type) return null;
  return LOADER_MESSAGES[type].safeParse(line).success ? (line as LoaderMessage<T>) : null;
}

/** The first line of `type` (typed), if any. */
export function firstMessage<T extends LoaderMessageType>(lines: readonly LoaderLine[], type: T): LoaderMessage<T> | null {
  for (const l of lines) {
    const m = asMessage(l, type);
    if (m) return m;
  }
  return null;
}

/** Whether some line has this type (whatever its shape). */
export function hasLine(lines: readonly LoaderLine[], ...types: LoaderMessageType[]): boolean {
  return lines.some((l) => types.includes(l.type as LoaderMessageType));
}

/** Check a line against the schema of its type: the issues, or [] (an unknown type has none). */
export function protocolIssues(line: LoaderLine): string[] {
  const s = LOADER_MESSAGES[line.type as LoaderMessageType];
  if (!s) return [];
  const r = s.safeParse(line);
  return r.success ? [] : r.error.issues.map((i) => `${String(line.type)}.${i.path.join('.')}: ${i.message}`);
}

/** The object lines of loader output; a half-written last line (the loader is still writing) is skipped. */
export function parseLoaderLines(text: string): LoaderLine[] {
  const lines: LoaderLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(l);
      if (v && typeof v === 'object' && !Array.isArray(v)) lines.push(v as LoaderLine);
    } catch {
      /* partial line while the loader is writing */
    }
  }
  return lines;
}

export interface LoaderOutput {
  lines: LoaderLine[];
  /** the wrapper printed '@@RC' with no status yet: the loader still runs */
  running: boolean;
  exitCode: number | null;
}

/** scx-loader's JSON lines, plus the '@@RC <code>' trailer the sandbox's wrapper prints after it. */
export function parseLoaderOutput(text: string): LoaderOutput {
  let exitCode: number | null = null;
  let sawRc = false;
  for (const l of text.split('\n')) {
    if (!l.startsWith('@@RC')) continue;
    sawRc = true;
    const v = l.slice(4).trim();
    exitCode = v === '' ? null : Number(v);
  }
  return { lines: parseLoaderLines(text), running: sawRc && exitCode === null, exitCode };
}
