import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staticCheck } from '../../core/toolchain/static-check.js';

const root = join(import.meta.dirname, '../..');
const src = (f: string) => readFileSync(join(root, f), 'utf8');
// the 7.3 kernel's names that matter here; the real list comes from the kernel manifest
const kfuncs = ['scx_bpf_dsq_insert', 'scx_bpf_dsq_insert_vtime', 'scx_bpf_dsq_move_to_local', 'scx_bpf_select_cpu_dfl', 'scx_bpf_create_dsq', 'scx_bpf_kick_cpu', 'scx_bpf_error_bstr', 'scx_bpf_now'];
const check = (f: string, text = src(f)) => staticCheck(text, { file: f, targetKfuncs: kfuncs, targetKernel: '7.3.4' });
const rules = (f: string) => check(f).map((x) => `${x.rule}:${x.severity}:${x.line}`);

describe('static analysis of schedulers', () => {
  it('the FIFO template is clean', () => {
    expect(check('bpf-templates/fifo/fifo.bpf.c')).toEqual([]);
  });
  it('finds the missing NULL check at the dereference', () => {
    const [f] = check('fixtures/bad/null_deref.bpf.c');
    expect(f).toMatchObject({ rule: 'null-check', severity: 'error', line: 19, file: 'fixtures/bad/null_deref.bpf.c' });
    expect(f!.fix).toContain('if (!cnt) return;');
  });
  it('only warns for an ARRAY map lookup (constant keys are accepted by newer verifiers)', () => {
    const text = src('fixtures/bad/null_deref.bpf.c').replace('BPF_MAP_TYPE_HASH', 'BPF_MAP_TYPE_ARRAY');
    expect(check('x.bpf.c', text).map((x) => x.severity)).toEqual(['warning']);
  });
  it('accepts a lookup that is checked first', () => {
    const text = src('fixtures/bad/null_deref.bpf.c').replace('*cnt += 1;', 'if (!cnt)\n\t\treturn;\n\t*cnt += 1;');
    expect(check('x.bpf.c', text)).toEqual([]);
  });
  it('flags a non-GPL licence and a missing one', () => {
    expect(rules('fixtures/bad/non_gpl.bpf.c')).toEqual(['gpl-license:error:4']);
    const none = src('bpf-templates/fifo/fifo.bpf.c').replace('SCX_LICENSE_GPL;', '');
    expect(check('x.bpf.c', none).map((x) => x.rule)).toEqual(['gpl-license']);
  });
  it('names renamed kfuncs and kfuncs the target lacks', () => {
    expect(check('fixtures/bad/old_kfunc.bpf.c')).toEqual([expect.objectContaining({ rule: 'kfunc-renamed', line: 13, fix: expect.stringContaining('scx_insert()') })]);
    const text = src('bpf-templates/fifo/fifo.bpf.c').replace('return cpu;', 'scx_bpf_made_up(cpu);\n\treturn cpu;');
    expect(check('x.bpf.c', text)).toEqual([expect.objectContaining({ rule: 'kfunc-missing', message: expect.stringContaining('scx_bpf_made_up') })]);
  });
  it('refuses a file without an ops table', () => {
    expect(rules('fixtures/bad/no_struct_ops.bpf.c')).toEqual(['ops-table:error:1']);
  });
  it('warns that an enqueue which inserts nowhere will stall', () => {
    expect(rules('fixtures/bad/stall.bpf.c')).toEqual(['enqueue-drops-task:warning:9']);
  });
  it('stops a while loop without a bound before the verifier spends minutes on it', () => {
    expect(rules('fixtures/bad/unbounded_loop.bpf.c')).toEqual(['unbounded-loop:error:13']);
    const bounded = src('fixtures/bad/unbounded_loop.bpf.c').replace('while (chain[i & 63] != 0)', 'for (int n = 0; n < 64 && chain[i & 63] != 0; n++)');
    expect(check('x.bpf.c', bounded)).toEqual([]);
  });
  it('catches bad ops names, dangling callbacks and stack overflows', () => {
    const text = src('bpf-templates/fifo/fifo.bpf.c')
      .replace('.name = "fifo"', '.name = "fifo with spaces"')
      .replace('.exit = (void *)fifo_exit,', '.exit = (void *)fifo_exit,\n\t       .dispatch = (void *)fifo_dispatch_missing,')
      .replace('bool is_idle = false;', 'bool is_idle = false;\n\tu64 big[128];');
    expect(check('x.bpf.c', text).map((x) => x.rule).sort()).toEqual(['ops-callbacks', 'ops-name', 'stack-size']);
  });
});
