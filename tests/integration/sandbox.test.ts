/**
 * The sandbox end to end: a real Debian sched_ext kernel booted under QEMU,
 * real BPF objects built by clang, loaded by bpftool and judged by the kernel.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSandboxJob, SandboxSession } from '../../core/sandbox/session.js';
import { build } from '../helpers.js';

describe('sandbox lifecycle with the FIFO template', () => {
  it('boots disabled, loads fifo (enabled), runs hackbench under it, unloads (disabled)', async () => {
    const fifo = await build('bpf-templates/fifo/fifo.bpf.c');
    const r = await runSandboxJob([
      { kind: 'state' },
      { kind: 'load', object: fifo },
      { kind: 'run', command: 'hackbench -g 2 -l 100', timeoutS: 120 },
      { kind: 'unload' },
    ]);
    expect(r.error).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.kernel.release).toMatch(/^\d+\.\d+/);
    expect(r.kernel.cpus).toBe(2);
    const [state, load, run, unload] = r.steps;
    expect(state!.state).toMatchObject({ state: 'disabled', ops: null });
    expect(load!.state).toMatchObject({ state: 'enabled', ops: 'fifo', switchAll: true });
    expect(run!.ok).toBe(true);
    expect(run!.stdout).toMatch(/Time: \d+\.\d+/);
    expect(run!.state!.state).toBe('enabled');
    expect(unload!.state!.state).toBe('disabled');
    expect(r.transitions.map((t) => t.to)).toEqual(['disabled', 'enabled', 'disabled']);
    expect(r.exits).toEqual([expect.objectContaining({ scheduler: 'fifo', kind: 'unregistered' })]);
    expect(r.timings.bootMs).toBeGreaterThan(0);
    expect(r.timings.loadMs).toBeGreaterThan(0);
    expect(r.timings.workloadMs).toBeGreaterThan(0);
  });
});

describe('schedulers the kernel refuses or ejects (one VM)', () => {
  let session: SandboxSession;
  beforeAll(async () => {
    session = await SandboxSession.start();
  });
  afterAll(async () => {
    const result = await session?.finish();
    // the VM is gone afterwards, whatever happened
    expect(session.vm.alive).toBe(false);
    expect(existsSync(session.vm.runDir)).toBe(false);
    expect(result.kernel.release).toMatch(/\d/);
  });

  it('a HASH map lookup without NULL check: parsed verifier error at the right line', async () => {
    const s = await session.step({ kind: 'load', object: await build('fixtures/bad/null_deref.bpf.c') });
    expect(s.ok).toBe(false);
    expect(s.state!.state).toBe('disabled');
    expect(s.loadFailure).toMatchObject({
      stage: 'verifier',
      program: 'null_deref_enqueue',
      file: 'null_deref.bpf.c',
      line: 19,
      reason: "R0 invalid mem access 'map_value_or_null'",
      insnLimitHit: false,
    });
    expect(s.loadFailure!.sourceLine).toContain('*cnt += 1');
    expect(s.loadFailure!.insnsProcessed).toBeGreaterThan(0);
    expect(s.loadFailure!.hint).toMatch(/NULL/);
  });

  it('a non-GPL program is refused with a licence hint', async () => {
    const s = await session.step({ kind: 'load', object: await build('fixtures/bad/non_gpl.bpf.c') });
    expect(s.ok).toBe(false);
    expect(s.loadFailure!.reason).toMatch(/non-GPL/);
    expect(s.loadFailure!.hint).toMatch(/GPL/);
  });

  it('a pre-6.13 kfunc name fails at link time, naming the kfunc', async () => {
    const s = await session.step({ kind: 'load', object: await build('fixtures/bad/old_kfunc.bpf.c') });
    expect(s.ok).toBe(false);
    expect(s.loadFailure).toMatchObject({ stage: 'link', reason: 'kfunc scx_bpf_dispatch is not in the target kernel' });
  });

  it('an object without struct_ops is refused as such', async () => {
    const s = await session.step({ kind: 'load', object: await build('fixtures/bad/no_struct_ops.bpf.c') });
    expect(s.ok).toBe(false);
    expect(s.loadFailure!.stage).toBe('object');
    expect(s.error).toMatch(/struct_ops/);
  });

  it("scx_bpf_error() is reported as the exit reason with the scheduler's message", async () => {
    const load = await session.step({ kind: 'load', object: await build('fixtures/bad/bpf_error.bpf.c') });
    const run = load.ok ? await session.step({ kind: 'run', command: 'hackbench -g 2 -l 50', timeoutS: 60 }) : load;
    const ejected = run.exit ?? load.exit;
    expect(ejected).toMatchObject({ scheduler: 'bpf_error', kind: 'bpf_error', message: 'giving up after 300 enqueues' });
    expect(session.transitions.at(-1)!.to).toBe('disabled');
  });

  it('the guest still works after all of that', async () => {
    const s = await session.step({ kind: 'run', command: 'echo alive; cat /sys/kernel/sched_ext/state', timeoutS: 30 });
    expect(s.stdout).toBe('alive\ndisabled\n');
  });
});

describe('a scheduler that stalls tasks', () => {
  it('is ejected by the watchdog ("runnable task stall") and the VM is torn down', async () => {
    const stall = await build('fixtures/bad/stall.bpf.c');
    const r = await runSandboxJob([
      { kind: 'load', object: stall },
      { kind: 'run', command: 'echo still-alive', timeoutS: 60 },
    ]);
    expect(r.ok).toBe(false);
    expect(r.exits).toEqual([expect.objectContaining({ scheduler: 'stall', kind: 'stall', reason: 'runnable task stall' })]);
    const ejectedAt = r.steps.find((s) => s.exit)!;
    expect(ejectedAt.error).toMatch(/runnable task stall/);
    // the guest recovered after the ejection and ran the next step
    expect(r.steps[1]!.stdout).toBe('still-alive\n');
    expect(r.error).toBeNull();
  });
});
