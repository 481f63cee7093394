import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobHints, jobHintArgs, needsExecHints } from '../../core/job-hints.js';
import { globEscape, jobsFromLoaderLines, learnedHints, recordJobs } from '../../core/learned-lengths.js';

describe('job hints: both forms', () => {
  it('accepts the old object form and rule lists; one key per rule', () => {
    expect(JobHints.parse({ job_: 40 })).toEqual({ job_: 40 });
    const rules = [
      { argv: 'xz * /data/big/*', expect_ms: 30000 },
      { comm: 'job_', expect_ms: 40 },
    ];
    expect(JobHints.parse(rules)).toEqual(rules);
    expect(() => JobHints.parse([{ argv: 'a', comm: 'b', expect_ms: 1 }])).toThrow(/exactly one/);
    expect(() => JobHints.parse([{ expect_ms: 1 }])).toThrow(/exactly one/);
    expect(() => JobHints.parse([{ argv: 'a', expect_ms: 1, colour: 'red' }])).toThrow();
    expect(jobHintArgs({ a: 1 })).toEqual(['--hint', 'a=1']);
    expect(jobHintArgs(rules)).toEqual(['--hints-json', JSON.stringify(rules)]);
    expect(needsExecHints(rules)).toBe(true);
    expect(needsExecHints([{ comm: 'x', expect_ms: 1 }])).toBe(false);
    expect(needsExecHints({ x: 1 })).toBe(false);
  });
});

describe('learned lengths', () => {
  it('records job_done lines per scope and command line, and gives back argv rules with the median', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'learned-')), 'l.json');
    const lines = [
      { type: 'stats' },
      // the shape scx-job-hints --learn prints (sched-rust/schedulers/job-hints/src/exec.rs)
      { type: 'job_done', pid: 101, cmdline: 'xz -9 big[1].log', cpu_ms: 900, wall_ms: 1000, hint: null },
      { type: 'job_done', pid: 102, cmdline: 'xz -9 small.log', cpu_ms: 30, wall_ms: 31 },
      { type: 'job_done', pid: 103, cmdline: 'sleep 1', cpu_ms: 0.4, wall_ms: 1000 },
      { type: 'job_done', pid: 104, cmdline: 'not the protocol', cpu_ms: '12' }, // left out: not a job_done message
    ];
    const jobs = jobsFromLoaderLines(lines);
    expect(jobs).toHaveLength(3);
    expect(await recordJobs('batch', jobs, { path })).toEqual({ recorded: 2, commands: 2 });
    await recordJobs(
      'batch',
      [
        { cmdline: 'xz -9 big[1].log', cpu_ms: 1100 },
        { cmdline: 'xz -9 big[1].log', cpu_ms: 1300 },
      ],
      { path },
    );
    await recordJobs('other', [{ cmdline: 'gzip x', cpu_ms: 50 }], { path });
    const h = await learnedHints('batch', { path });
    expect(h.map((r) => [r.argv, r.expect_ms])).toEqual([
      ['xz -9 big\\[1].log', 1100],
      ['xz -9 small.log', 30],
    ]);
    expect(h[0]!.source).toMatch(/^learned: median CPU time of 3 earlier run\(s\)/);
    expect(JobHints.parse(h)).toEqual(h);
    expect(await learnedHints('never', { path })).toEqual([]);
    expect(globEscape('a*b?c[d]\\')).toBe('a\\*b\\?c\\[d]\\\\');
  });
});
