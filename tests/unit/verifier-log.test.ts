/**
 * loaderFailure maps the loader's error line to a LoadFailure. The lines are the loader's own: the
 * error lines scx-loader prints for the verifier logs in fixtures/logs (written and checked by
 * sched-rust/scx-loader/src/failure.rs's tests, which also test how the logs are read).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loaderFailure } from '../../core/loader/failure.js';
import { LoaderError, protocolIssues } from '../../core/loader/protocol.js';
import { LoadFailure } from '../../core/loader/failure.js';

const logs = join(import.meta.dirname, '../../fixtures/logs');
/** A loader error line from fixtures/logs, checked against the protocol. */
const line = (f: string): LoaderError => {
  const v: unknown = JSON.parse(readFileSync(join(logs, f), 'utf8'));
  expect(protocolIssues(v as Record<string, unknown>)).toEqual([]);
  return LoaderError.parse(v);
};
const failure = (f: string) => LoadFailure.parse(loaderFailure(line(f)));

describe('loaderFailure maps the loader error line', () => {
  it('a NULL dereference: the source line, instruction, reason, explanation, counts, errno and hint (kernel 7.3 log)', () => {
    const f = failure('loader-error-null-deref-7.3.json');
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
    expect(f.log).toContain("R0 invalid mem access 'map_value_or_null'");
    expect(f).not.toHaveProperty('timedOutS');
  });

  it('the same object loaded by scx-loader in the sandbox (libbpf 1.7 names the errno)', () => {
    const f = failure('loader-error-null-deref-7.3-libbpf-1.7.json');
    expect(f).toMatchObject({ stage: 'verifier', file: 'null_deref.bpf.c', line: 19, column: 7, errno: '-EACCES' });
    expect(f.reason).toBe("R0 invalid mem access 'map_value_or_null'");
  });

  it('a non-GPL licence', () => {
    const f = failure('loader-error-non-gpl-7.3.json');
    expect(f.reason).toBe('cannot call kernel function from non-GPL compatible program');
    expect(f.hint).toMatch(/GPL/);
    expect(f.line).toBeNull();
  });

  it("a kfunc the kernel lacks (no verifier log, libbpf's errors) is a link failure naming the kfunc", () => {
    const f = failure('loader-error-old-kfunc-7.3.json');
    expect(f).toMatchObject({ stage: 'link', reason: 'kfunc scx_bpf_dispatch is not in the target kernel' });
    expect(f.hint).toMatch(/scx_insert/);
  });

  it('a level-4 log of the instruction limit (kernel 7.3) names the reason, not the counters', () => {
    const f = failure('loader-error-insn-limit-level4-7.3.json');
    expect(f).toMatchObject({ stage: 'verifier', reason: 'BPF program is too large. Processed 1000001 insn', insnLimitHit: true, insnsProcessed: 1000001 });
    expect(f.hint).toMatch(/1,000,000-instruction budget/);
  });

  it('a load stopped by the verification budget says so', () => {
    const f = failure('loader-error-verify-timeout.json');
    expect(f).toMatchObject({
      stage: 'verifier',
      timedOutS: 60,
      reason: 'verification did not finish within 60 s: likely a loop the verifier cannot bound',
      hint: expect.stringMatching(/^bound every loop by a constant/),
    });
  });

  it('every field of the loader failure, renamed', () => {
    const f = loaderFailure({
      type: 'error',
      stage: 'open',
      message: 'no struct_ops map',
      hint: 'h',
      exit_code: 2,
      failure: {
        stage: 'object',
        program: 'p',
        file: 'f.bpf.c',
        line: 3,
        column: 4,
        source_line: 'x = 1;',
        instruction: { index: 5, text: 'r1 = 1' },
        reason: 'r',
        explanation: 'e.',
        insns_processed: 6,
        insn_limit_hit: true,
        errno: 'EINVAL',
        hint: 'fix it',
        log: 'l',
        timed_out_s: null,
      },
    });
    expect(f).toEqual({
      stage: 'object',
      program: 'p',
      file: 'f.bpf.c',
      line: 3,
      column: 4,
      sourceLine: 'x = 1;',
      instruction: { index: 5, text: 'r1 = 1' },
      reason: 'r',
      explanation: 'e.',
      insnsProcessed: 6,
      insnLimitHit: true,
      errno: 'EINVAL',
      hint: 'fix it',
      log: 'l',
    });
  });

  it('an error line without a failure (an argument error): its message and hint', () => {
    const f = loaderFailure({ type: 'error', stage: 'args', message: "unexpected argument '--x' found", hint: 'see --help', exit_code: 2 });
    expect(f).toMatchObject({
      stage: 'unknown',
      reason: "unexpected argument '--x' found",
      hint: 'see --help',
      log: "unexpected argument '--x' found",
      line: null,
    });
    expect(LoadFailure.safeParse(f).success).toBe(true);
  });
});
