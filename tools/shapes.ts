/**
 * What the tools' output schemas state, and the parameter descriptions several tools share (said once, here).
 *
 * Every client reads tools/list once per session, so every byte of an output schema is paid on every session.
 * The output schemas therefore name the fields an agent reads (verdicts, ids, reasons, the numbers it acts on)
 * and let the rest of an object through (`reads`: JSON Schema `additionalProperties: {}`), instead of spelling
 * out every nested diagnostic of core/'s result models. The structured content is unchanged: the whole object
 * is still returned, and still validates (the server checks it against these schemas, and so may a client).
 * The top level of each tool's output is still closed: every field a tool returns is named.
 */
import { z } from 'zod';
import { FIXTURE_IDS } from '../core/bench/workloads.js';
import { JobHints } from '../core/job-hints.js';

/**
 * An object schema naming the fields an agent reads; the object may carry more. Typed as a plain object of
 * those fields (no index signature), so core's interfaces, which carry more, are assignable to it.
 */
export const reads = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape) as unknown as z.ZodObject<S>;

/**
 * A shape used more than once in one tool's output, stated once there: JSON Schema `definitions` and `$ref`
 * (zod extracts a schema with an id into the definitions of every schema it appears in).
 */
export const once = <T extends z.ZodType>(id: string, schema: T): T => schema.meta({ id }) as T;

const str = z.string();
const num = z.number();
const strOrNull = z.string().nullable();
const numOrNull = z.number().nullable();

/** metric (or counter) name → value */
export const Numbers = z.record(z.string(), z.number());
/** scheduler parameter name → value */
export const Params = z.record(z.string(), z.union([z.number(), z.boolean()]));
/** profile_workload's fingerprint, as other tools return it (its fields: profile_workload's output, search_library's input) */
export const FingerprintOut = Numbers.nullable();

// ---- shared parameter descriptions ----------------------------------------------------------------------

/** Job hints, as deploy_scx, benchmark_schedulers and tune_scheduler take them (the rule fields describe themselves). */
export const hintsParam = (whom: string) =>
  JobHints.optional().describe(
    `job hints for ${whom}, fed through scx-job-hints: rules such as [{"argv": "xz * /data/big/*", "expect_ms": 30000}, {"cgroup": "/batch.slice", "expect_ms": 500}] (precedence argv > cgroup > pgid > sid > comm; the first rule of a kind wins), or {"task-name prefix": ms}`,
  );

/** A fixture, or the agent's own command, to benchmark or tune on (cwd, env, writable: core/command.ts). */
export const workloadParams = (measured: string) => ({
  workload: z.enum(FIXTURE_IDS).optional().describe('benchmark fixture (or give command)'),
  command: z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .describe(`or your own workload: a shell command run in the sandbox guest (it sees this machine's filesystem), measured by ${measured}`),
});
export const printedParam = z
  .object({ better: z.enum(['lower', 'higher']), unit: z.string().max(20).optional() })
  .optional()
  .describe('with command: it prints a number (the last one is taken), e.g. a p99 latency with better "lower"');
export const quickParam = z.boolean().default(false).describe('small fixture sizes (a smoke run)');

// ---- output shapes --------------------------------------------------------------------------------------

/** A scheduler scx-mcp deployed (core/targets/types.ts Deployment; its job hints pass unnamed). */
export const DeploymentOut = once('Deployment', reads({ buildId: str, name: str, since: str }));

/** A target's status (core/targets/types.ts TargetStatus). */
export const TargetStatusOut = reads({
  available: z.boolean(),
  reason: str,
  kernel: strOrNull,
  current: DeploymentOut.nullable().describe('null = kernel default'),
  previous: z.array(DeploymentOut.nullable()).describe('most recent last; null = kernel default'),
  schedExt: reads({ state: str, ops: strOrNull }).nullable(),
});

/** A deployment's monitor (core/monitor/rules.ts MonitorStatus; the sched_ext event counters pass unnamed). */
export const MonitorStatusOut = reads({
  running: z.boolean(),
  scheduler: strOrNull,
  baseline: Numbers,
  last: Numbers.nullable(),
  alerts: z.array(str).describe('metrics in alert'),
  rolledBack: z.boolean(),
  timeline: z.array(reads({ at: str, kind: str, message: str })),
});

/** The verifier's numbers for one program (core/builds/verify-report.ts ProgramStats). */
export const ProgramOut = reads({ name: str, verifiedInsns: numOrNull, totalStates: numOrNull });

/** A failed load, the verifier log parsed (core/loader/verifier-log.ts LoadFailure). */
export const LoadFailureOut = once(
  'LoadFailure',
  reads({
    stage: str,
    program: strOrNull,
    file: strOrNull,
    line: numOrNull,
    reason: str,
    hint: str,
    log: z.string().describe('the part of the verifier log that explains the failure; the whole log is linked'),
  }),
);

/** A sandbox run (core/sandbox/results.ts SandboxResult): the verdict's evidence; step details pass unnamed. */
export const SandboxOut = reads({
  ok: z.boolean(),
  kernel: reads({ release: str }),
  accelerator: reads({ kind: str }),
  timings: reads({ bootMs: num, loadMs: numOrNull, totalMs: num }),
  steps: z.array(reads({ kind: str, ok: z.boolean(), hostMs: num })),
  exits: z.array(reads({ scheduler: str, kind: str, reason: str })).describe('schedulers the kernel ejected (stall, scx_bpf_error, …)'),
  loadFailure: LoadFailureOut.nullable(),
  dmesg: str,
  error: reads({ code: str, message: str }).nullable(),
});

/** What a benchmark or tuning run learned of its workload (core/profile/profile.ts WorkloadProfile). */
export const WorkloadProfileOut = reads({ fingerprint: FingerprintOut, tags: z.array(str) }).nullable();

/** A fleet rollout (core/fleet/rollout.ts RolloutSummary) and its timeline (core/fleet/state.ts TimelineEntry). */
export const RolloutOut = reads({
  id: str,
  status: str,
  build: str,
  reason: strOrNull,
  hosts: z.array(reads({ name: str, phase: str, reason: strOrNull })),
  interrupted: z.boolean().describe('running, but the process carrying it out is gone: resume or abort it'),
});
export const TimelineOut = z.array(reads({ t: num, event: str }));

/** A measured result in the library history (core/library/history.ts HistoryRecord). */
export const HistoryOut = reads({ id: str, at: str, target: str, workload: reads({ name: str }), metrics: Numbers, outcome: str });
