/**
 * Learned job lengths: what earlier runs of a recurring batch taught about how long each of its
 * command lines runs, fed back as argv hints on the next run (the seed's "historical data
 * correlation"), so SJF and LJF order real programs from the second run on, with no job names and
 * no hand-written hints.
 *
 * Where the runtimes come from: scx-job-hints --learn (sched-rust/schedulers/job-hints, exec.rs)
 * prints a `job_done` line for every program that exec'd and ended while it ran: the normalised
 * command line (argv[0] as its basename, arguments joined by spaces) and the CPU time the kernel
 * charged to its threads. `recordJobs` keeps the last runs per command line, per scope (a name for
 * the batch: a benchmark workload, a command); `learnedHints` turns them into rules
 * `{"argv": <the command line, glob-escaped>, "expect_ms": <median CPU time>, "source": "learned: …"}`.
 *
 * Kept in `<state dir>/learned-lengths.json` (SCX_MCP_STATE), one file, rewritten atomically.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stateDir } from './paths.js';
import type { HintRule } from './job-hints.js';
import { asMessage, type LoaderLine } from './loader/protocol.js';
import { median } from './model/stats.js';

/** Runs kept per command line. */
const KEEP = 8;

export interface JobDone {
  cmdline: string;
  cpu_ms: number;
  wall_ms?: number;
}

interface Entry {
  runs: { cpu_ms: number; wall_ms?: number; at: string }[];
}

interface Store {
  version: 1;
  scopes: Record<string, Record<string, Entry>>;
}

export function learnedPath(): string {
  return join(stateDir(), 'learned-lengths.json');
}

async function load(path: string): Promise<Store> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as Store;
    if (s && s.version === 1 && s.scopes) return s;
  } catch {
    /* none yet, or unreadable: start afresh */
  }
  return { version: 1, scopes: {} };
}

/** The job_done lines among loader output lines (typed by the loader protocol; other shapes are left out). */
export function jobsFromLoaderLines(lines: LoaderLine[]): JobDone[] {
  return lines.flatMap((l) => {
    const m = asMessage(l, 'job_done');
    return m ? [{ cmdline: m.cmdline, cpu_ms: m.cpu_ms, wall_ms: m.wall_ms }] : [];
  });
}

/**
 * Record one run's jobs under `scope`. Jobs that used less than `minCpuMs` of CPU (the shell, sleep,
 * the harness's own helpers) are not jobs worth ordering and are left out. Several jobs with the
 * same command line in one run count as several runs of it.
 */
export async function recordJobs(
  scope: string,
  jobs: JobDone[],
  opts: { minCpuMs?: number; path?: string; at?: Date } = {},
): Promise<{ recorded: number; commands: number }> {
  const path = opts.path ?? learnedPath();
  const min = opts.minCpuMs ?? 5;
  const s = await load(path);
  const sc = (s.scopes[scope] ??= {});
  const at = (opts.at ?? new Date()).toISOString();
  let recorded = 0;
  for (const j of jobs) {
    if (!(j.cpu_ms >= min)) continue;
    const e = (sc[j.cmdline] ??= { runs: [] });
    e.runs.push({ cpu_ms: j.cpu_ms, ...(j.wall_ms !== undefined ? { wall_ms: j.wall_ms } : {}), at });
    if (e.runs.length > KEEP) e.runs.splice(0, e.runs.length - KEEP);
    recorded++;
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 1) + '\n');
  await rename(tmp, path);
  return { recorded, commands: Object.keys(sc).length };
}

/** A glob that matches exactly this text (scx-job-hints' glob: * ? [ and \ are special). */
export function globEscape(text: string): string {
  return text.replace(/[\\*?[]/g, (c) => `\\${c}`);
}

/** Argv hints from what `scope` ran before: one rule per command line, the median of its recorded CPU times. */
export async function learnedHints(scope: string, opts: { path?: string; max?: number } = {}): Promise<HintRule[]> {
  const s = await load(opts.path ?? learnedPath());
  const sc = s.scopes[scope] ?? {};
  const rules: HintRule[] = Object.entries(sc)
    .filter(([, e]) => e.runs.length)
    .map(([cmd, e]) => {
      const ms = median(e.runs.map((r) => r.cpu_ms));
      return {
        argv: globEscape(cmd),
        expect_ms: Math.max(0.001, Math.round(ms * 1000) / 1000),
        source: `learned: median CPU time of ${e.runs.length} earlier run(s), last ${e.runs.at(-1)!.at}`,
      };
    })
    .sort((a, b) => b.expect_ms - a.expect_ms);
  return rules.slice(0, opts.max ?? 4096);
}
