/**
 * Job hints: what an agent (or the library's learned lengths) knows about how long the jobs of a
 * workload run, in the two forms scx-job-hints reads (sched-rust/schedulers/job-hints):
 *
 * - the old object form, `{"job_": 40}`: task-name (comm) prefix → expected runtime in ms;
 * - a list of rules, `[{"argv": "xz * /data/big/*", "expect_ms": 30000}, {"comm": "job_", "expect_ms": 40}]`,
 *   each keyed by one of `argv` (a glob over the command line), `cgroup` (a glob over the cgroup v2
 *   path; without wildcards it also matches the cgroups below), `pgid`, `sid` (process group /
 *   session id) or `comm`, with an optional `source` saying where the number came from.
 *
 * Precedence when several rules match one process: argv > cgroup > pgid > sid > comm; within a
 * kind the first rule in the list wins. argv/cgroup/pgid/sid rules are matched when a task execs
 * (the job-length core's `sched_process_exec` tracepoint) and need a scheduler with the core's
 * `job_lens` task storage (sjf, ljf, hybrid); comm rules fill the `job_hints` map.
 */
import { z } from 'zod';

const MAX_MS = 86_400_000;

export const HintRule = z
  .object({
    argv: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe('glob over the command line (arguments joined by spaces; argv[0] also tried as its basename): * ? [a-z]'),
    cgroup: z.string().min(1).max(4096).optional().describe('glob over the cgroup v2 path; without wildcards it also matches the cgroups below'),
    pgid: z.number().int().positive().optional().describe('process group id'),
    sid: z.number().int().positive().optional().describe('session id'),
    comm: z.string().min(1).max(15).optional().describe('task-name prefix (≤ 15 bytes)'),
    expect_ms: z.number().positive().max(MAX_MS).describe('expected CPU time of one such job, ms'),
    source: z.string().max(200).optional().describe("where the number came from (agent, learned, ...); echoed in the loader's job_hint lines"),
  })
  .strict()
  .refine((r) => ['argv', 'cgroup', 'pgid', 'sid', 'comm'].filter((k) => r[k as keyof typeof r] !== undefined).length === 1, {
    message: 'a hint has exactly one of argv, cgroup, pgid, sid, comm',
  });
export type HintRule = z.infer<typeof HintRule>;

/** Either form. */
export const JobHints = z.union([z.record(z.string().min(1).max(15), z.number().int().positive().max(MAX_MS)), z.array(HintRule).min(1).max(4096)]);
export type JobHints = z.infer<typeof JobHints>;

/** Whether the hints need the exec half of the job-length core (any rule other than comm). */
export function needsExecHints(h: JobHints | undefined): boolean {
  return Array.isArray(h) && h.some((r) => r.comm === undefined);
}

/** The scx-job-hints arguments for these hints. */
export function jobHintArgs(h: JobHints | undefined): string[] {
  if (!h) return [];
  if (Array.isArray(h)) return ['--hints-json', JSON.stringify(h)];
  return Object.entries(h).flatMap(([k, v]) => ['--hint', `${k}=${v}`]);
}
