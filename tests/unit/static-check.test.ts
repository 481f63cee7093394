import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bpfIncludeDirs, projectHeaders } from '../../core/toolchain/includes.js';
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

describe('callbacks defined in the project headers a scheduler includes', () => {
  const withHeaders = (f: string, text = src(f), dirs = bpfIncludeDirs()) =>
    staticCheck(text, { file: f, targetKfuncs: kfuncs, targetKernel: '7.3.4', headers: projectHeaders(text, dirs) });

  it('reads the job-length core and what it includes from bpf-templates/, not the kernel headers', () => {
    expect(projectHeaders(src('library/sjf/sjf.bpf.c'), bpfIncludeDirs()).map((h) => h.file)).toEqual([
      'scx_common.bpf.h',
      'scx_joblen.bpf.h',
      'scx_job_hints_intf.h',
    ]);
  });
  it.each(['sjf', 'ljf', 'hybrid'])('%s: its table points at the core callbacks, which are defined in scx_joblen.bpf.h', (name) => {
    const f = `library/${name}/${name}.bpf.c`;
    expect(src(f)).toMatch(/\.dispatch = \(void \*\)joblen_dispatch,/);
    expect(withHeaders(f)).toEqual([]);
    // without the headers the same table names functions defined nowhere
    const alone = check(f).filter((x) => x.rule === 'ops-callbacks');
    expect(alone.map((x) => x.message)).toContain('.dispatch points at joblen_dispatch, which is not defined in this file');
    expect(alone.every((x) => x.severity === 'error' && x.file === f)).toBe(true);
  });
  it('a callback defined nowhere is still an error, at the ops table of the scheduler file', () => {
    const f = 'library/sjf/sjf.bpf.c';
    const text = src(f).replace('(void *)joblen_stopping,', '(void *)joblen_stopping_missing,');
    const found = withHeaders(f, text);
    const tableLine = text.split('\n').findIndex((l) => l.startsWith('SCX_OPS_DEFINE(')) + 1;
    expect(found).toEqual([
      expect.objectContaining({
        file: f,
        line: tableLine,
        rule: 'ops-callbacks',
        severity: 'error',
        message: expect.stringMatching(
          /^\.stopping points at joblen_stopping_missing, which is not defined in this file or in the headers it includes \(scx_common\.bpf\.h, /,
        ),
      }),
    ]);
  });

  const tmp = mkdtempSync(join(tmpdir(), 'static-check-headers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const inc = join(tmp, 'include');
  const outside = join(tmp, 'outside');
  mkdirSync(join(inc, 'sub'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  const prog = (fn: string, body: string) => `void BPF_STRUCT_OPS(${fn}, struct task_struct *p, u64 enq_flags)\n{\n${body}\n}\n`;
  writeFileSync(join(inc, 'core.h'), `#include "sub/more.h"\n${prog('core_enqueue', '\tscx_insert(p, SCX_DSQ_GLOBAL, 1000, enq_flags);')}`);
  writeFileSync(join(inc, 'sub', 'more.h'), `#include "near.h"\n`);
  writeFileSync(join(inc, 'sub', 'near.h'), prog('near_running', ''));
  writeFileSync(join(inc, 'drops.h'), prog('drops_enqueue', '\tstat_add(&stat_x, 1);'));
  writeFileSync(join(outside, 'out.h'), prog('out_dispatch', ''));
  writeFileSync(join(inc, 'commented.h'), prog('commented_dispatch', ''));
  const sched = (includes: string[], table: string[]) =>
    [
      '#include "scx_common.bpf.h"',
      ...includes.map((i) => `#include ${i}`),
      '/* #include "commented.h" */',
      '// #include "commented.h"',
      'SCX_LICENSE_GPL;',
      'UEI_DEFINE(uei);',
      'void BPF_STRUCT_OPS(t_exit, struct scx_exit_info *ei)',
      '{',
      '\tUEI_RECORD(uei, ei);',
      '}',
      'SCX_OPS_DEFINE(t_ops,',
      ...table.map((t) => `\t       ${t},`),
      '\t       .exit = (void *)t_exit,',
      '\t       .name = "t");',
      '',
    ].join('\n');
  const dirs = [inc, ...bpfIncludeDirs()];

  it('follows includes inside an include dir (nested, relative to the including header) and reads nothing else', () => {
    const text = sched(['"core.h"', '"../outside/out.h"', `"${join(outside, 'out.h')}"`, '"missing.h"', '<core.h>'], []);
    expect(projectHeaders(text, dirs).map((h) => h.file)).toEqual(['scx_common.bpf.h', 'core.h', join('sub', 'more.h'), join('sub', 'near.h')]);
  });
  it('accepts callbacks from included headers, refuses one from a header outside the include dirs', () => {
    const text = sched(
      ['"core.h"', '"../outside/out.h"'],
      ['.enqueue = (void *)core_enqueue', '.running = (void *)near_running', '.dispatch = (void *)out_dispatch'],
    );
    const found = withHeaders('t.bpf.c', text, dirs);
    const tableLine = text.split('\n').findIndex((l) => l.startsWith('SCX_OPS_DEFINE(')) + 1;
    expect(found.map((x) => `${x.rule}:${x.severity}:${x.line}:${x.message.split(',')[0]}`)).toEqual([
      `ops-callbacks:error:${tableLine}:.dispatch points at out_dispatch`,
    ]);
    // the same header inside the include dir is read
    writeFileSync(join(inc, 'out.h'), readFileSync(join(outside, 'out.h')));
    expect(withHeaders('t.bpf.c', text.replace('"../outside/out.h"', '"out.h"'), dirs)).toEqual([]);
    // a header that is only mentioned in a comment is not read
    expect(withHeaders('t.bpf.c', sched(['"core.h"'], ['.enqueue = (void *)core_enqueue', '.dispatch = (void *)commented_dispatch']), dirs)).toEqual([
      expect.objectContaining({ rule: 'ops-callbacks', message: expect.stringContaining('commented_dispatch') }),
    ]);
  });
  it("reads an enqueue from a header and reports one that drops the task at the table's .enqueue line", () => {
    const text = sched(['"drops.h"'], ['.enqueue = (void *)drops_enqueue']);
    const enqLine = text.split('\n').findIndex((l) => l.includes('.enqueue =')) + 1;
    expect(withHeaders('t.bpf.c', text, dirs)).toEqual([
      expect.objectContaining({
        file: 't.bpf.c',
        line: enqLine,
        rule: 'enqueue-drops-task',
        severity: 'warning',
        message: expect.stringContaining('drops_enqueue (the .enqueue callback, defined in drops.h) never inserts'),
      }),
    ]);
  });
});
