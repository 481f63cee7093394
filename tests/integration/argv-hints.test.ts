/**
 * Job identity from the command line, in the sandbox: one program (the host's /bin/sh running a
 * counting loop) is started with different arguments as long and short jobs. sjf is loaded through
 * scx-job-hints with argv rules; the job-length core's sched_process_exec tracepoint tells
 * userspace about each exec, scx-job-hints reads /proc/<pid>/cmdline, matches the globs and writes
 * the expected length into the scheduler's job_lens task storage. The loader's job_hint lines say
 * which rule each process matched; the scheduler's own stats (stat_exec_hinted, stat_hinted) show
 * that it used the lengths. Comm-prefix hints in the same list still fill job_hints.
 * Then learned lengths: a run with no hints under scx-job-hints --learn records each command
 * line's CPU time (job_done lines), core/learned-lengths.ts turns them into argv rules, and the
 * next run of the same batch gets them: the jobs are sized from the first run, nobody wrote a hint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxSession } from '../../core/sandbox/session.js';
import { jobsFromLoaderLines, learnedHints, recordJobs } from '../../core/learned-lengths.js';
import { build } from '../helpers.js';

type Line = Record<string, unknown> & { type: string };
const lines = (s: { loader?: { lines: Record<string, unknown>[] } }) => (s.loader?.lines ?? []) as Line[];

// argv = [sh, -c, LOOP, job, <kind>, <count>]: the same program, told apart only by its arguments
const LOOP = 'n=0; while [ $n -lt $2 ]; do n=$((n+1)); done';
const job = (kind: string, count: number) => `sh -c '${LOOP}' job ${kind} ${count}`;

describe('argv-keyed job hints reach the scheduler', () => {
  let session: SandboxSession;
  beforeAll(async () => {
    session = await SandboxSession.start();
  });
  afterAll(async () => {
    await session?.finish();
  });

  it('sjf with argv rules: the long and the short jobs are recognised at exec, an unmatched one is not', async () => {
    const sjf = await build('library/sjf/sjf.bpf.c');
    const hints = [
      { argv: 'sh -c * job long *', expect_ms: 3000, source: 'agent' },
      { argv: 'sh -c * job short *', expect_ms: 60, source: 'agent' },
      { comm: 'stress-ng', expect_ms: 2000 },
    ];
    const load = await session.step({ kind: 'load', object: sjf, via: 'loader', hints, statsIntervalMs: 500 });
    expect(load.ok, load.error ?? JSON.stringify(lines(load).find((l) => l.type === 'error'))).toBe(true);
    const started = lines(load).find((l) => l.type === 'exec_hints');
    expect(started).toMatchObject({ attached: 'joblen_exec', rules: 2 });
    // the comm rule went into job_hints as before
    const dump = await session.step({ kind: 'run', command: 'bpftool map dump name job_hints', timeoutS: 30 });
    expect(dump.stdout).toMatch(/stress-ng|0x73 0x74 0x72/);

    const batch = [job('long', 60000), ...Array.from({ length: 6 }, () => job('short', 3000)), job('other', 3000)];
    const run = await session.step({ kind: 'run', command: `${batch.map((c) => `${c} &`).join('\n')}\nwait`, timeoutS: 240 });
    expect(run.exitCode).toBe(0);
    await session.step({ kind: 'run', command: 'sleep 1.2', timeoutS: 30 }); // one more stats tick
    const out = await session.step({ kind: 'loader_output' });
    const all = lines(out);
    const hinted = all.filter((l) => l.type === 'job_hint' && l.at === 'exec');
    const long = hinted.filter((l) => String(l.cmdline).includes(' job long '));
    const short = hinted.filter((l) => String(l.cmdline).includes(' job short '));
    expect(long.length).toBe(1);
    expect(long[0]).toMatchObject({ kind: 'argv', rule: 0, pattern: 'sh -c * job long *', expect_ns: 3_000_000_000, source: 'agent' });
    expect(short.length).toBe(6);
    expect(short.every((l) => l.rule === 1 && l.expect_ns === 60_000_000)).toBe(true);
    expect(hinted.some((l) => String(l.cmdline).includes(' job other '))).toBe(false);

    const stats = all.filter((l) => l.type === 'stats').at(-1)!.stats as Record<string, number>;
    console.log('argv run stats:', JSON.stringify(stats));
    // every exec went through the ring buffer; the scheduler took the lengths of the 7 matched jobs
    expect(stats.execs).toBeGreaterThanOrEqual(batch.length);
    expect(stats.exec_drops).toBe(0);
    expect(stats.exec_hinted).toBeGreaterThanOrEqual(7);
    expect(stats.hinted).toBeGreaterThan(0);
    const counts = all.filter((l) => l.type === 'exec_hints' && l.counts).at(-1)!.counts as Record<string, number>;
    expect(counts.matched).toBeGreaterThanOrEqual(7);
    expect(counts.errors).toBe(0);

    const un = await session.step({ kind: 'unload' });
    expect(un.ok).toBe(true);
  });

  it('learned lengths: a first run with no hints teaches the second (job_done -> argv rules -> job_lens)', async () => {
    const sjf = await build('library/sjf/sjf.bpf.c');
    const batch = [job('long', 40000), ...Array.from({ length: 4 }, (_, i) => job(`short${i}`, 2000))].map((c) => `${c} &`).join('\n') + '\nwait';
    const first = await session.step({ kind: 'load', object: sjf, via: 'loader', learn: true, statsIntervalMs: 500 });
    expect(first.ok, first.error).toBe(true);
    expect(lines(first).find((l) => l.type === 'exec_hints')).toMatchObject({ learn: true, rules: 0 });
    await session.step({ kind: 'run', command: batch, timeoutS: 240 });
    await session.step({ kind: 'run', command: 'sleep 1', timeoutS: 30 });
    const un1 = await session.step({ kind: 'unload' });
    const jobs = jobsFromLoaderLines(lines(un1)).filter((j) => j.cmdline.includes(' job '));
    console.log('learned from run 1:', JSON.stringify(jobs));
    expect(jobs.length).toBe(5);
    const long = jobs.find((j) => j.cmdline.includes(' job long '))!;
    expect(jobs.every((j) => j === long || j.cpu_ms < long.cpu_ms)).toBe(true);
    expect(jobs.every((j) => j.cpu_ms > 0)).toBe(true);

    const path = join(mkdtempSync(join(tmpdir(), 'learned-')), 'learned.json');
    await recordJobs('argv-hints test batch', jobs, { path, minCpuMs: 1 });
    const hints = await learnedHints('argv-hints test batch', { path });
    expect(hints).toHaveLength(5);
    expect(hints[0]!.argv).toContain(' job long ');

    const second = await session.step({ kind: 'load', object: sjf, via: 'loader', hints, learn: true, statsIntervalMs: 500 });
    expect(second.ok, second.error).toBe(true);
    await session.step({ kind: 'run', command: batch, timeoutS: 240 });
    await session.step({ kind: 'run', command: 'sleep 1.2', timeoutS: 30 });
    const out = await session.step({ kind: 'loader_output' });
    const hinted = lines(out).filter((l) => l.type === 'job_hint' && l.at === 'exec');
    expect(hinted.length).toBe(5);
    expect(hinted.every((l) => String(l.source).startsWith('learned: median CPU time of 1 earlier run'))).toBe(true);
    const done = lines(out).filter((l) => l.type === 'job_done' && String(l.cmdline).includes(' job '));
    // each job_done says which hint the job ran under
    expect(done.every((l) => (l.hint as { kind?: string } | null)?.kind === 'argv')).toBe(true);
    const stats = lines(out)
      .filter((l) => l.type === 'stats')
      .at(-1)!.stats as Record<string, number>;
    console.log('run 2 stats:', JSON.stringify(stats));
    expect(stats.exec_hinted).toBeGreaterThanOrEqual(5);
    await session.step({ kind: 'unload' });
  });

  it('argv rules for a scheduler without the exec half are refused before load, naming what is missing', async () => {
    const fixture = await build('sched-rust/tests/bpf/sjf_hints.bpf.c');
    const s = await session.step({ kind: 'load', object: fixture, via: 'loader', hints: [{ argv: 'xz *', expect_ms: 100 }] });
    expect(s.ok).toBe(false);
    expect(JSON.stringify(lines(s).find((l) => l.type === 'error'))).toMatch(/job_lens/);
    expect(s.state!.state).toBe('disabled');
  });
});
