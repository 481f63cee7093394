/**
 * The loader protocol (core/loader/protocol.ts) against the real binaries that set-up builds
 * (scx-loader and scx-job-hints in <cache>/sched-rust-target/release), with no VM and no
 * sched_ext: every message they print for a missing or broken object, bad arguments, bad
 * parameters, a kernel without sched_ext, a load the kernel refuses (or, on a host with sched_ext,
 * a load-only run), a hook that refuses the object, and `inspect` / `check-params` of a real
 * object. Each line must parse as JSON, have a known type, match that type's schema, and an
 * error's exit_code must be the process's exit status. The messages that need an attached
 * scheduler (attached, stats, exit, detached) come from the sandbox tests (loader.test.ts).
 * Then, in the sandbox VM (a sched_ext kernel), the error lines of objects from fixtures/bad that
 * its verifier or libbpf rejects: the same checks, and every field of their `failure` (what the
 * loader read in the verifier log), as the sandbox reports it (loadFailure).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loaderFailure } from '../../core/loader/failure.js';
import { firstMessage, LOADER_MESSAGES, parseLoaderLines, protocolIssues, type LoaderLine } from '../../core/loader/protocol.js';
import { loaderDir } from '../../core/sandbox/image.js';
import { SandboxSession } from '../../core/sandbox/session.js';
import { build, outDir } from '../helpers.js';

const loader = join(loaderDir(), 'scx-loader');
const jobHints = join(loaderDir(), 'scx-job-hints');

async function run(bin: string, args: string[], env: Record<string, string> = {}): Promise<{ lines: LoaderLine[]; exitCode: number }> {
  const r = await execa(bin, args, { reject: false, env, timeout: 60_000 });
  const text = r.stdout.trim();
  // every stdout line is one JSON object
  for (const l of text.split('\n').filter(Boolean)) expect(() => JSON.parse(l), l).not.toThrow();
  const lines = parseLoaderLines(text);
  for (const l of lines) {
    expect(Object.keys(LOADER_MESSAGES), `unknown type in ${JSON.stringify(l)}`).toContain(l.type);
    expect(protocolIssues(l), JSON.stringify(l)).toEqual([]);
  }
  const err = firstMessage(lines, 'error');
  if (err) expect(err.exit_code).toBe(r.exitCode);
  return { lines, exitCode: r.exitCode ?? -1 };
}

describe('scx-loader JSON lines match core/loader/protocol.ts (real binary, no kernel)', () => {
  let obj = '';
  let bad = '';
  let sysfs = '';
  beforeAll(async () => {
    obj = await build('bpf-templates/fifo/fifo.bpf.c');
    bad = join(outDir, 'not-elf.bpf.o');
    writeFileSync(bad, 'not an ELF object\n');
    // a sched_ext sysfs that says "disabled", so the loader gets past its environment check
    sysfs = join(outDir, 'fake-sched-ext');
    mkdirSync(join(sysfs, 'root'), { recursive: true });
    writeFileSync(join(sysfs, 'state'), 'disabled\n');
  });

  it('a missing object: error at open, not_found', async () => {
    const r = await run(loader, ['run', join(outDir, 'missing.bpf.o')]);
    expect(firstMessage(r.lines, 'error')).toMatchObject({ stage: 'open', code: 'not_found' });
  });

  it("a file that is not ELF: error at open, open_failed, with libbpf's messages", async () => {
    const r = await run(loader, ['run', bad]);
    expect(firstMessage(r.lines, 'error')).toMatchObject({ stage: 'open', code: 'open_failed' });
    expect(firstMessage(r.lines, 'error')!.libbpf_errors!.length).toBeGreaterThan(0);
  });

  it('a bad argument: error at args', async () => {
    const r = await run(loader, ['run', obj, '--no-such-flag']);
    expect(firstMessage(r.lines, 'error')).toMatchObject({ stage: 'args' });
  });

  it('inspect: one object describing ops, params, stats, maps and programs', async () => {
    const r = await run(loader, ['inspect', obj]);
    expect(r.exitCode).toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(firstMessage(r.lines, 'inspect')!.struct_ops[0]).toMatchObject({ map: 'fifo_ops' });
  });

  it('check-params: ok, and an unknown parameter as an error at params', async () => {
    const ok = await run(loader, ['check-params', obj]);
    expect(ok.exitCode).toBe(0);
    expect(firstMessage(ok.lines, 'check-params')).toMatchObject({ ok: true, map: 'fifo_ops' });
    const bad = await run(loader, ['check-params', obj, '--param', 'no_such_param=1']);
    expect(firstMessage(bad.lines, 'error')).toMatchObject({ stage: 'params', ok: false });
  });

  it('a kernel without sched_ext: error at env, no_sched_ext', async () => {
    const r = await run(loader, ['run', obj], { SCX_LOADER_SYSFS: join(outDir, 'no-sched-ext-here') });
    expect(firstMessage(r.lines, 'error')).toMatchObject({ stage: 'env', code: 'no_sched_ext' });
  });

  it('a load-only run: the kernel refuses it (error at load, with what failed), or it loads and unloads', async () => {
    const r = await run(loader, ['run', obj, '--load-only', '--verifier-stats'], { SCX_LOADER_SYSFS: sysfs });
    const err = firstMessage(r.lines, 'error');
    if (err) {
      expect(err.stage).toBe('load');
      expect(err.failure!.reason).not.toBe('');
      expect(err.failure!.hint).toBe(err.hint);
    } else {
      expect(r.lines.map((l) => l.type)).toEqual(expect.arrayContaining(['loaded', 'unloaded']));
    }
  });

  it('scx-job-hints: a malformed hint is an error at params (bad_hint)', async () => {
    const r = await run(jobHints, ['run', obj, '--hint', 'no-runtime-here']);
    expect(firstMessage(r.lines, 'error')).toMatchObject({ stage: 'params', code: 'bad_hint' });
  });

  it('scx-job-hints: its hook refuses an object without a job_hints map (error at hook)', async () => {
    const r = await run(jobHints, ['run', obj, '--load-only', '--hint', 'x=10'], { SCX_LOADER_SYSFS: sysfs });
    expect(firstMessage(r.lines, 'error')).toMatchObject({ stage: 'hook' });
  });
});

describe('error lines of objects the kernel rejects (sandbox VM)', () => {
  let session: SandboxSession;
  beforeAll(async () => {
    session = await SandboxSession.start();
  });
  afterAll(async () => {
    await session?.finish();
  });

  /** Load a bad object through the loader in the guest: its lines match the protocol, and the sandbox's loadFailure is the error line's failure. */
  const rejected = async (file: string) => {
    const s = await session.step({ kind: 'load', object: await build(file), via: 'loader' });
    expect(s.ok).toBe(false);
    const lines = (s.loader?.lines ?? []) as LoaderLine[];
    for (const l of lines) {
      expect(Object.keys(LOADER_MESSAGES), `unknown type in ${JSON.stringify(l)}`).toContain(l.type);
      expect(protocolIssues(l), JSON.stringify(l)).toEqual([]);
    }
    const err = firstMessage(lines, 'error')!;
    expect(err).toMatchObject({ stage: 'load', exit_code: 4 });
    expect(s.loader!.exitCode).toBe(4);
    const f = err.failure!;
    expect(f.hint).toBe(err.hint);
    // the sandbox keeps the log excerpt in loadFailure only; everything else is the line's failure, renamed
    expect(f.log).toBe('[in loadFailure.log]');
    expect(s.loadFailure).toEqual({ ...loaderFailure(err), log: s.loadFailure!.log });
    return { f, loadFailure: s.loadFailure! };
  };

  it('a NULL dereference: program, file, line, column, source line, instruction, reason, explanation, counts, errno, hint, log', async () => {
    const { f, loadFailure } = await rejected('fixtures/bad/null_deref.bpf.c');
    expect(f).toMatchObject({
      stage: 'verifier',
      program: 'null_deref_enqueue',
      file: 'null_deref.bpf.c',
      line: 19,
      reason: "R0 invalid mem access 'map_value_or_null'",
      insn_limit_hit: false,
      errno: '-EACCES', // libbpf 1.7 names it so
      timed_out_s: null,
    });
    expect(f.source_line).toContain('*cnt += 1');
    expect(f.instruction!.text).toMatch(/^r\d = \*\(u64 \*\)\(r0 \+0\)$/);
    expect(f.insns_processed).toBeGreaterThan(0);
    expect(f.hint).toMatch(/NULL/);
    // the structured explanation of a 7.x kernel, with the column it names
    expect(f.explanation).toMatch(/^Register Type Safety: Invalid dereference\. R0 may be NULL here/);
    expect(f.column).toBe(7);
    expect(loadFailure.log).toContain(`${f.instruction!.index}: (79) ${f.instruction!.text}`);
    expect(loadFailure.log).toContain("R0 invalid mem access 'map_value_or_null'");
  });

  it('a non-GPL licence: the reason and a licence hint, no line', async () => {
    const { f } = await rejected('fixtures/bad/non_gpl.bpf.c');
    expect(f).toMatchObject({
      stage: 'verifier',
      program: 'non_gpl_enqueue',
      reason: 'cannot call kernel function from non-GPL compatible program',
      line: null,
    });
    expect(f.hint).toMatch(/GPL/);
  });

  it("a kfunc the kernel lacks: a link failure naming it, from libbpf's errors", async () => {
    const { f, loadFailure } = await rejected('fixtures/bad/old_kfunc.bpf.c');
    expect(f).toMatchObject({ stage: 'link', reason: 'kfunc scx_bpf_dispatch is not in the target kernel', instruction: null, insns_processed: null });
    expect(f.hint).toMatch(/scx_insert/);
    expect(loadFailure.log).toMatch(/extern \(func ksym\) 'scx_bpf_dispatch': not found/);
  });
});
