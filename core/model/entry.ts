/**
 * What a scheduler library entry is: library/<name>/entry.json beside
 * library/<name>/<name>.bpf.c (and optionally a Rust crate for its userspace part).
 */
import { z } from 'zod';
import { ENTRY_NAME_RE } from './names.js';

export const ParamType = z.enum(['u64', 'u32', 's64', 's32', 'bool']);

export const ParamSpec = z.object({
  name: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .describe('the const volatile global in the BPF source'),
  type: ParamType,
  default: z.union([z.number(), z.boolean()]),
  min: z.number().optional(),
  max: z.number().optional(),
  unit: z.string().optional().describe('e.g. us, ms, percent, count'),
  description: z.string(),
});
export type ParamSpec = z.infer<typeof ParamSpec>;

export const Tag = z.enum([
  'cpu-bound',
  'io-heavy',
  'latency-sensitive',
  'interactive',
  'batch',
  'uneven-jobs',
  'throughput',
  'fairness',
  'priority',
  'locality',
  'cache-aware',
  'deadline',
  'many-short-tasks',
  'build',
  'server',
  'simple',
  'numa',
  'energy',
  'general-purpose',
]);
export type Tag = z.infer<typeof Tag>;

/** What a scheduling policy can be asked to optimise: search_library's `objective`. */
export const Objective = z.enum([
  'makespan',
  'mean_completion',
  'tail_latency',
  'throughput',
  'fairness',
  'deadline',
  'locality',
  'priority_isolation',
  'low_overhead',
]);
export type Objective = z.infer<typeof Objective>;

/** The objectives an entry serves and what it gives up for them (search ranks by them and says so). */
export const EntryObjectives = z.object({
  serves: z.array(Objective).min(1).describe('the objectives it is built for, the main one first'),
  costs: z.array(z.object({ objective: Objective, why: z.string() })).describe('objectives it trades away, and how'),
  needs: z
    .array(z.enum(['job-lengths', 'userspace', 'task-names']))
    .default([])
    .describe(
      'what it must be given to serve its objectives: job-lengths (hints, length-coded names or history), a userspace part running beside it, meaningful task names',
    ),
});
export type EntryObjectives = z.infer<typeof EntryObjectives>;

export const LibraryEntry = z.object({
  name: z.string().regex(ENTRY_NAME_RE),
  title: z.string(),
  description: z.string().describe('one paragraph: what the policy does and for whom'),
  algorithm: z.string().describe('how it decides, in a few sentences'),
  family: z.enum(['fifo', 'fair', 'rr', 'sjf', 'ljf', 'interactive', 'percpu', 'central', 'deadline', 'priority', 'locality', 'hybrid']),
  tags: z.array(Tag).min(1),
  params: z.array(ParamSpec),
  useCases: z.array(z.string()).min(1),
  limitations: z.array(z.string()).min(1),
  kernelApi: z.object({
    minKernel: z.string().describe('oldest kernel version it is meant for, e.g. 6.12'),
    kfuncs: z.array(z.string()).describe('sched_ext kfuncs or wrappers it relies on'),
    ops: z.array(z.string()).describe('sched_ext_ops callbacks it implements'),
  }),
  source: z.string().describe('file name of the BPF C source inside the entry directory'),
  userspace: z.string().optional().describe('path (from the repo root) of its own Rust crate, if it has one'),
  hints: z
    .object({
      comm: z.string().optional().describe('how it reads job hints from task names, if it does'),
      map: z.string().optional().describe('BPF map it reads hints from, if any'),
    })
    .optional(),
  objectives: EntryObjectives.optional().describe('what it optimises and what it costs (search_library objective)'),
  kind: z.enum(['bpf', 'scx']).optional().describe('absent or "bpf": a BPF C source built here; "scx": a prebuilt sched-ext/scx scheduler binary (core/scx/)'),
  scx: z
    .object({
      crate: z
        .string()
        .regex(/^scx_[a-z0-9_]+$/)
        .describe('the crates.io crate, which is also the binary name'),
      version: z.string().describe('the pinned version scripts/scx-schedulers.sh installs'),
      opsName: z.string().describe('the name the scheduler registers (/sys/kernel/sched_ext/root/ops starts with it)'),
      docs: z.string().describe('where the description comes from (upstream README and source)'),
    })
    .optional()
    .describe('for kind "scx": the binary; its parameters come from its --help at install time, not from this file'),
  version: z.number().int().positive().default(1),
  parent: z.string().nullable().default(null).describe('entry@version this one was derived from'),
  createdBy: z.string().default('scx-mcp'),
});
export type LibraryEntry = z.infer<typeof LibraryEntry>;

/** What search, learning and the memory see of an entry (LibraryStore.summaries()). */
export interface EntrySummary {
  name: string;
  title: string;
  family: string;
  tags: string[];
  description: string;
  algorithm: string;
  useCases: string[];
  version: number;
  /** for search_library's objective and constraints */
  objectives?: EntryObjectives;
  minKernel?: string;
  userspace?: string;
}
