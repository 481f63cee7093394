import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listLoops, staticCheck } from '../../core/toolchain/static-check.js';

const root = join(import.meta.dirname, '../..');
const src = (f: string) => readFileSync(join(root, f), 'utf8');
// the 7.3 kernel's names that matter here; the real list comes from the kernel manifest
const kfuncs = [
  'scx_bpf_dsq_insert',
  'scx_bpf_dsq_insert_vtime',
  'scx_bpf_dsq_move_to_local',
  'scx_bpf_select_cpu_dfl',
  'scx_bpf_create_dsq',
  'scx_bpf_kick_cpu',
  'scx_bpf_error_bstr',
  'scx_bpf_now',
];
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
    expect(check('fixtures/bad/old_kfunc.bpf.c')).toEqual([
      expect.objectContaining({ rule: 'kfunc-renamed', line: 13, fix: expect.stringContaining('scx_insert()') }),
    ]);
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
  it('a loop bounded by a value read from memory is an error with its line and a fix, in well under a second', () => {
    const t0 = performance.now();
    const f = check('fixtures/loops/bad_map_value.bpf.c');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(f).toEqual([
      expect.objectContaining({
        rule: 'unbounded-loop',
        severity: 'error',
        line: 33,
        message: expect.stringMatching(/bounded by \*n \(a pointer dereference/),
      }),
    ]);
    expect(f[0]!.fix).toMatch(/i < n && i < MAX_N.*bpf_for\(i, 0, n\).*bpf_repeat/);
  });
  // the same corpus is loaded by the real verifier in tests/integration/hostile.test.ts: ok_* load, bad_* are rejected
  const corpus = readdirSync(join(root, 'fixtures/loops'))
    .filter((f) => f.endsWith('.bpf.c'))
    .sort();
  it.each(corpus)('loop corpus: %s', (f) => {
    const text = src(`fixtures/loops/${f}`);
    const loopLine = text.split('\n').findIndex((l) => l.includes('/* LOOP */')) + 1;
    const found = check(f, text);
    if (f.startsWith('ok_')) expect(found).toEqual([]);
    else expect(found.map((x) => `${x.rule}:${x.severity}:${x.line}`)).toEqual([`unbounded-loop:error:${loopLine}`]);
  });
  it('tells a task field, a .bss global and a copied map value from rodata, clamps and caps', () => {
    expect(check('fixtures/loops/bad_task_field.bpf.c')[0]!.message).toMatch(/p->nr_cpus_allowed \(a task_struct field\)/);
    expect(check('fixtures/loops/bad_bss_global.bpf.c')[0]!.message).toMatch(/nr_items \(a global variable/);
    expect(check('fixtures/loops/bad_local_copy.bpf.c')[0]!.message).toMatch(/n, which holds c->count/);
    // a count-down from memory has a constant on one side but no bound
    const down = src('fixtures/loops/ok_const.bpf.c')
      .replace('for (i = 0; i < MAX_SLOTS; i++)', 'for (i = c->count; i > 0; i--)')
      .replace('slots[i]', 'slots[i & 63]');
    expect(check('x.bpf.c', down).map((x) => `${x.rule}:${x.severity}`)).toEqual(['unbounded-loop:error']);
    // min() with a constant, a mask, and a ternary of constants cap it
    for (const cond of ['i < min(c->count, 32)', 'i < (c->count & 63)', 'i < c->count % MAX_SLOTS']) {
      const t = src('fixtures/loops/ok_const.bpf.c').replace('i < MAX_SLOTS', cond).replace('slots[i]', 'slots[i & 63]');
      expect(check('x.bpf.c', t), cond).toEqual([]);
    }
    // a bound behind a call is not visible: only a warning (fixtures/bad/hidden_loop.bpf.c: the verifier rejects it)
    expect(rules('fixtures/bad/hidden_loop.bpf.c')).toEqual(['unbounded-loop:warning:34']);
    expect(rules('fixtures/bad/slow_verify.bpf.c')).toEqual([]);
    expect(listLoops(src('fixtures/bad/slow_verify.bpf.c')).map((l) => l.line)).toEqual([22]);
  });
  it('adds up the local arrays of a function against the 512-byte stack', () => {
    expect(check('fixtures/bad/stack_limit.bpf.c')).toEqual([
      expect.objectContaining({ rule: 'stack-size', severity: 'error', line: 15, message: expect.stringMatching(/640 bytes together/) }),
    ]);
  });
  it('catches bad ops names, dangling callbacks and stack overflows', () => {
    const text = src('bpf-templates/fifo/fifo.bpf.c')
      .replace('.name = "fifo"', '.name = "fifo with spaces"')
      .replace('.exit = (void *)fifo_exit,', '.exit = (void *)fifo_exit,\n\t       .dispatch = (void *)fifo_dispatch_missing,')
      .replace('bool is_idle = false;', 'bool is_idle = false;\n\tu64 big[128];');
    expect(
      check('x.bpf.c', text)
        .map((x) => x.rule)
        .sort(),
    ).toEqual(['ops-callbacks', 'ops-name', 'stack-size']);
  });
});
