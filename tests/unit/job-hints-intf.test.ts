/**
 * The job-hints contract (bpf-templates/scx_job_hints_intf.h) against its copies: the BPF core that
 * declares the maps and programs (bpf-templates/scx_joblen.bpf.h, included by sjf, ljf, hybrid) and
 * TypeScript's schema of the hints it hands to scx-job-hints (core/job-hints.ts). Rust holds its
 * constants to the same header in sched-rust/schedulers/job-hints/src/intf.rs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HintRule, JobHints, jobHintArgs, needsExecHints } from '../../core/job-hints.js';

const root = join(import.meta.dirname, '../..');
const header = readFileSync(join(root, 'bpf-templates/scx_job_hints_intf.h'), 'utf8');
const core = readFileSync(join(root, 'bpf-templates/scx_joblen.bpf.h'), 'utf8');

/** `#define NAME value` lines (strings without quotes; function-like macros left out). */
function defines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(\w+)(?![\w(])\s*(.*)$/gm)) out.set(m[1]!, m[2]!.trim().replace(/^"(.*)"$/, '$1'));
  return out;
}
const d = defines(header);
const num = (k: string): number => {
  const v = d.get(k);
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${k} is not a number in scx_job_hints_intf.h: ${v}`);
  return Number(v);
};
const str = (k: string): string => {
  const v = d.get(k);
  if (!v) throw new Error(`${k} is not defined in scx_job_hints_intf.h`);
  return v;
};

/** Rule kinds by code, in precedence order (JOB_RULE_ARGV = 1 first). */
const kinds = [...d.entries()]
  .filter(([k]) => k.startsWith('JOB_RULE_') && k !== 'JOB_RULE_CODE')
  .sort((a, b) => Number(a[1]) - Number(b[1]))
  .map(([k]) => k.slice('JOB_RULE_'.length).toLowerCase());
const sample: Record<string, string | number> = { argv: 'xz *', cgroup: '/batch.slice', pgid: 42, sid: 7, comm: 'job_' };

describe('scx_job_hints_intf.h against the BPF core', () => {
  it('the core declares the maps and programs the contract names, with its sizes', () => {
    const maps = [...core.matchAll(/\}\s*(\w+)\s+SEC\("\.maps"\)|^SCX_TASK_STORAGE\((\w+),/gm)].map((m) => m[1] ?? m[2]);
    expect(maps).toEqual(expect.arrayContaining([str('JOB_HINTS_MAP'), str('JOB_LENS_MAP'), str('JOB_EXECS_MAP')]));
    const progs = [...core.matchAll(/^int BPF_PROG\((\w+)/gm)].map((m) => m[1]);
    expect(progs.sort()).toEqual([str('JOB_EXEC_PROG'), str('JOB_EXIT_PROG')].sort());
    expect(core).toMatch(
      new RegExp(
        `__uint\\(max_entries, ${num('JOB_HINTS_MAX_ENTRIES')}\\);\\s*__type\\(key, char\\[COMM_LEN\\]\\);\\s*__type\\(value, u64\\);\\s*\\} ${str('JOB_HINTS_MAP')} SEC`,
      ),
    );
    expect(core).toMatch(new RegExp(`^SCX_TASK_STORAGE\\(${str('JOB_LENS_MAP')}, struct job_len\\);`, 'm'));
    expect(core).toMatch(/^#include "scx_job_hints_intf\.h"$/m);
    // the compile-time checks that tie the declarations to the header stay in place
    for (const k of ['JOB_COMM_LEN', 'JOB_HINTS_MAX_ENTRIES', 'JOB_HINT_VALUE_SIZE', 'JOB_LEN_SIZE', 'JOB_EXEC_EVENT_SIZE']) {
      expect(core, k).toMatch(new RegExp(`_Static_assert\\([^;]*\\b${k}\\b`));
    }
    expect(num('JOB_COMM_LEN')).toBe(16); // TASK_COMM_LEN; scx_common.bpf.h's COMM_LEN is asserted equal
  });

  it('declares every statistic the contract says userspace reads', () => {
    const stats = str('JOB_STATS').split(/\s+/);
    expect(stats).toContain('exec_hinted'); // core/bench/batches.ts reports it
    for (const s of stats) expect(core, `u64 stat_${s}`).toMatch(new RegExp(`^u64 stat_${s};`, 'm'));
  });
});

describe('scx_job_hints_intf.h against core/job-hints.ts', () => {
  const prefixMax = num('JOB_COMM_LEN') - 1;

  it('a comm prefix is at most JOB_COMM_LEN - 1 bytes, in both forms', () => {
    expect(HintRule.safeParse({ comm: 'x'.repeat(prefixMax), expect_ms: 5 }).success).toBe(true);
    expect(HintRule.safeParse({ comm: 'x'.repeat(prefixMax + 1), expect_ms: 5 }).success).toBe(false);
    expect(JobHints.safeParse({ ['x'.repeat(prefixMax)]: 5 }).success).toBe(true);
    expect(JobHints.safeParse({ ['x'.repeat(prefixMax + 1)]: 5 }).success).toBe(false);
  });

  it('takes exactly the rule kinds of the header, and only comm rules work without the exec half', () => {
    expect(kinds).toEqual(['argv', 'cgroup', 'pgid', 'sid', 'comm']);
    for (const k of kinds) {
      const rule = { [k]: sample[k], expect_ms: 10 };
      expect(HintRule.safeParse(rule).success, k).toBe(true);
      expect(needsExecHints([rule] as JobHints), k).toBe(k !== 'comm');
      expect(jobHintArgs([rule] as JobHints)).toEqual(['--hints-json', JSON.stringify([rule])]);
    }
    expect(HintRule.safeParse({ tty: 'pts/1', expect_ms: 10 }).success).toBe(false);
  });

  it('takes at most as many hints as the job_hints map holds', () => {
    const rules = (n: number) => Array.from({ length: n }, (_, i) => ({ comm: `j${i}`, expect_ms: 1 }));
    expect(JobHints.safeParse(rules(num('JOB_HINTS_MAX_ENTRIES'))).success).toBe(true);
    expect(JobHints.safeParse(rules(num('JOB_HINTS_MAX_ENTRIES') + 1)).success).toBe(false);
  });
});
