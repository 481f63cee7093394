import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { excerptLog, hintFor, parseLoadFailure, trimLog } from '../../core/loader/verifier-log.js';
import { loaderFailure } from '../../core/loader/failure.js';

const logs = join(import.meta.dirname, '../../fixtures/logs');
const read = (f: string) => readFileSync(join(logs, f), 'utf8');

describe('parseLoadFailure', () => {
  it('points a NULL dereference at the source line, instruction and reason (kernel 7.3 log)', () => {
    const f = parseLoadFailure(read('verifier-null-deref-7.3.txt'))!;
    expect(f.stage).toBe('verifier');
    expect(f.program).toBe('null_deref_enqueue');
    expect(f.file).toBe('null_deref.bpf.c');
    expect(f.line).toBe(19);
    expect(f.column).toBe(7);
    expect(f.sourceLine).toContain('*cnt += 1');
    expect(f.instruction).toEqual({ index: 9, text: 'r1 = *(u64 *)(r0 +0)' });
    expect(f.reason).toBe("R0 invalid mem access 'map_value_or_null'");
    expect(f.explanation).toMatch(/^Register Type Safety: Invalid dereference\. R0 may be NULL here/);
    expect(f.insnsProcessed).toBe(9);
    expect(f.insnLimitHit).toBe(false);
    expect(f.errno).toBe('Permission denied');
    expect(f.hint).toMatch(/NULL/);
  });

  it('parses the classic log without the structured explanation', () => {
    const text = read('verifier-null-deref-7.3.txt');
    const classic = text.slice(0, text.indexOf('Verification failed:')) + text.slice(text.indexOf('processed 9 insns'));
    const f = parseLoadFailure(classic)!;
    expect(f.line).toBe(19);
    expect(f.column).toBeNull();
    expect(f.explanation).toBeNull();
    expect(f.reason).toBe("R0 invalid mem access 'map_value_or_null'");
  });

  it('explains a non-GPL licence', () => {
    const f = parseLoadFailure(read('libbpf-non-gpl-7.3.txt'))!;
    expect(f.reason).toBe('cannot call kernel function from non-GPL compatible program');
    expect(f.hint).toMatch(/GPL/);
    expect(f.line).toBeNull();
  });

  it('names a kfunc the target kernel does not have', () => {
    const f = parseLoadFailure(read('libbpf-old-kfunc-7.3.txt'))!;
    expect(f.stage).toBe('link');
    expect(f.reason).toBe('kfunc scx_bpf_dispatch is not in the target kernel');
    expect(f.hint).toMatch(/scx_insert/);
  });

  it('reports an instruction-limit blow-up as a loop problem', () => {
    const log = [
      "libbpf: prog 'spin_enqueue': BPF program load failed: Argument list too long",
      "libbpf: prog 'spin_enqueue': -- BEGIN PROG LOAD LOG --",
      '; while (i != n) { @ spin.bpf.c:12',
      '14: (07) r1 += 1',
      'BPF program is too large. Processed 1000001 insn',
      'processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 9000 peak_states 9000 mark_read 1',
      '-- END PROG LOAD LOG --',
    ].join('\n');
    const f = parseLoadFailure(log)!;
    expect(f.insnLimitHit).toBe(true);
    expect(f.insnsProcessed).toBe(1000001);
    expect(f.line).toBe(12);
    expect(f.hint).toMatch(/loop/);
  });

  it('returns null for output without a failure', () => {
    expect(parseLoadFailure('Registered sched_ext_ops fifo_ops map id 4 link id 1')).toBeNull();
  });
});

describe('hints and trimming', () => {
  it('prefers the NULL-check hint over the uninitialised-register one', () => {
    expect(hintFor('R0 changed from uninitialized value to nullable map value')).toMatch(/NULL/);
  });
  it('keeps the end of a long log', () => {
    const t = trimLog(Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n'), 10);
    expect(t.split('\n')).toHaveLength(11);
    expect(t).toMatch(/90 earlier lines omitted/);
    expect(t.endsWith('line 99')).toBe(true);
  });
});

describe('bounded verifier logs', () => {
  it('an excerpt keeps the failing instruction, the lines before it, the reason and the counts', () => {
    const walk = Array.from({ length: 20_000 }, (_, i) => `${i}: (07) r1 += 1`);
    const text = [
      ...walk,
      '; *cnt += 1; @ x.bpf.c:19',
      '20000: (79) r1 = *(u64 *)(r0 +0)',
      "R0 invalid mem access 'map_value_or_null'",
      'processed 20001 insns (limit 1000000)',
    ].join('\n');
    const e = excerptLog(text);
    const lines = e.split('\n');
    expect(lines.length).toBeLessThanOrEqual(300 + 60 + 2);
    expect(lines[0]).toMatch(/^\[\.\.\. \d+ earlier lines of the verifier's walk omitted \.\.\.\]$/);
    expect(e).toContain('; *cnt += 1; @ x.bpf.c:19');
    expect(e.endsWith('processed 20001 insns (limit 1000000)')).toBe(true);
    const f = parseLoadFailure(`libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n${text}\n-- END PROG LOAD LOG --`)!;
    expect(f).toMatchObject({ line: 19, reason: "R0 invalid mem access 'map_value_or_null'", insnsProcessed: 20001 });
    expect(f.log.length).toBeLessThan(20_000);
  });

  it('a level-4 log of the instruction limit (kernel 7.3) names the reason, not the counters', () => {
    const log = [
      "func 'enqueue' arg0 has btf_id 117164 type STRUCT 'task_struct'",
      'BPF program is too large. Processed 1000001 insn',
      'verification time 8044196 usec',
      'stack depth max 0',
      'subprog 0 (loop_enqueue) main insns_self 1000001 insns_total 1000001 stack 8',
      'processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 50001 peak_states 1226 mark_read 0',
    ].join('\n');
    const f = loaderFailure({
      type: 'error',
      stage: 'load',
      message: 'verifier rejected program',
      verifier_log: log,
      verifier: { prog: 'loop_enqueue', reason: 'x', location: null, insns_processed: 1000001 },
    });
    expect(f).toMatchObject({ stage: 'verifier', reason: 'BPF program is too large. Processed 1000001 insn', insnLimitHit: true, insnsProcessed: 1000001 });
    expect(f.hint).toMatch(/1,000,000-instruction budget/);
  });

  it("a kfunc the kernel lacks (no verifier log, libbpf's errors) is a link failure naming the kfunc", () => {
    const f = loaderFailure({
      type: 'error',
      stage: 'load',
      message: "load failed: extern (func ksym) 'scx_bpf_dispatch': not found in kernel or module BTFs (No such file or directory)",
      exit_code: 3,
      verifier: { prog: null, reason: "extern (func ksym) 'scx_bpf_dispatch': not found in kernel or module BTFs", location: null, insns_processed: null },
      // what scx-loader prints on kernel 7.3: libbpf's error doubles as the log
      verifier_log: "libbpf: extern (func ksym) 'scx_bpf_dispatch': not found in kernel or module BTFs\n",
      libbpf_errors: read('libbpf-old-kfunc-7.3.txt').trim().split('\n'),
    });
    expect(f).toMatchObject({ stage: 'link', reason: 'kfunc scx_bpf_dispatch is not in the target kernel' });
    expect(f.hint).toMatch(/scx_insert/);
  });

  it('a load stopped by the verification budget says so', () => {
    const f = loaderFailure({
      type: 'error',
      stage: 'load',
      code: 'verify_timeout',
      verify_timeout_s: 60,
      message: 'verification did not finish within 60 s: likely a loop the verifier cannot bound',
      hint: 'bound every loop by a constant',
      verifier: {
        prog: null,
        reason: 'verification did not finish within 60 s: likely a loop the verifier cannot bound',
        location: null,
        insns_processed: null,
      },
    });
    expect(f).toMatchObject({
      stage: 'verifier',
      timedOutS: 60,
      reason: 'verification did not finish within 60 s: likely a loop the verifier cannot bound',
      hint: 'bound every loop by a constant',
    });
  });
});
