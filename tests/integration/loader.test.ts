/**
 * The Rust loader (sched-rust) inside the sandbox: parameters into .rodata, stats
 * lines, clean detach on SIGTERM, a stall caught with a lowered watchdog timeout,
 * clear parameter errors, and a scheduler-specific userspace part (job hints).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxSession } from '../../core/sandbox/session.js';
import { build } from '../helpers.js';

type Line = Record<string, unknown> & { type: string };
const lines = (s: { loader?: { lines: Record<string, unknown>[] } }) => (s.loader?.lines ?? []) as Line[];

describe('scx-loader in the sandbox', () => {
  let session: SandboxSession;
  beforeAll(async () => {
    session = await SandboxSession.start();
  });
  afterAll(async () => {
    await session?.finish();
  });

  it('a parameter from the command line changes what the scheduler does; stats arrive; SIGTERM detaches', async () => {
    const fifo = await build('bpf-templates/fifo/fifo.bpf.c');
    const load = await session.step({ kind: 'load', object: fifo, via: 'loader', params: { slice_us: 1234 }, statsIntervalMs: 500 });
    expect(load.ok, load.error).toBe(true);
    expect(load.state).toMatchObject({ state: 'enabled', ops: 'fifo' });
    const loaded = lines(load).find((l) => l.type === 'loaded')!;
    expect(loaded.params).toEqual({ slice_us: 1234 });

    await session.step({ kind: 'run', command: 'hackbench -g 2 -l 50', timeoutS: 120 });
    const out = await session.step({ kind: 'loader_output' });
    const stats = lines(out).filter((l) => l.type === 'stats');
    expect(stats.length).toBeGreaterThan(0);
    const last = stats.at(-1)!.stats as { enqueued: number; direct: number; slice_ns: number };
    // every pick handed out exactly slice_us: the slice in use is the one we set
    expect(last.enqueued + last.direct).toBeGreaterThan(0);
    expect(last.slice_ns / (last.enqueued + last.direct)).toBe(1234 * 1000);
    // the kernel's sched_ext event counters ride along on each stats line
    expect(Object.keys(stats.at(-1)!.events as Record<string, number>)).toContain('SCX_EV_SELECT_CPU_FALLBACK');

    const un = await session.step({ kind: 'unload' });
    expect(un.ok).toBe(true);
    expect(lines(un).find((l) => l.type === 'detached')).toMatchObject({ reason: 'signal', state: 'disabled' });
    expect(un.loader!.exitCode).toBe(0);
  });

  it('unknown parameters and out-of-range values are refused before load, naming the known ones', async () => {
    const fifo = await build('bpf-templates/fifo/fifo.bpf.c');
    const s = await session.step({ kind: 'load', object: fifo, via: 'loader', params: { slice_ms: 5, slice_us: -1 } });
    expect(s.ok).toBe(false);
    expect(s.loader!.exitCode).toBe(2);
    const err = lines(s).find((l) => l.type === 'error')!;
    expect(err.stage).toBe('params');
    expect(JSON.stringify(err)).toMatch(/slice_ms/);
    expect(JSON.stringify(err)).toMatch(/slice_us/);
    expect(s.state!.state).toBe('disabled');
  });

  it('a stall is reported as a stall within 10 s when the watchdog timeout is lowered', async () => {
    const stall = await build('fixtures/bad/stall.bpf.c');
    const t0 = performance.now();
    await session.step({ kind: 'load', object: stall, via: 'loader', timeoutMs: 3000 });
    const out = await session.step({ kind: 'loader_output' });
    const elapsed = performance.now() - t0;
    const exit = lines(out).find((l) => l.type === 'exit');
    expect(exit).toMatchObject({ kind: 'stall', reason: 'runnable task stall' });
    expect(out.loader!.exitCode).toBe(12);
    // in the guest, from attach to the exit record: within 10 s (3 s watchdog + the kernel's check period)
    expect(exit!.t_ms as number).toBeLessThan(10_000);
    expect(elapsed).toBeLessThan(10_000 + 5_000); // seen from the host: plus the host<->guest round trips under emulation
    expect(session.transitions.at(-1)!.to).toBe('disabled');
  });

  it('each kind of ending has its own exit status: an error exit (scx_bpf_error) 11, a verifier rejection 4', async () => {
    const bomb = await build('fixtures/bad/bpf_error.bpf.c');
    await session.step({ kind: 'load', object: bomb, via: 'loader' });
    await session.step({ kind: 'run', command: 'hackbench -g 2 -l 50', timeoutS: 120 });
    const out = await session.step({ kind: 'loader_output' });
    expect(lines(out).find((l) => l.type === 'exit')).toMatchObject({ kind: 'error' });
    expect(out.loader!.exitCode).toBe(11);
    await session.step({ kind: 'unload' });

    const bad = await build('fixtures/bad/null_deref.bpf.c');
    const rejected = await session.step({ kind: 'load', object: bad, via: 'loader' });
    expect(rejected.ok).toBe(false);
    expect(rejected.loader!.exitCode).toBe(4);
    expect(rejected.loadFailure).toMatchObject({ stage: 'verifier', file: 'null_deref.bpf.c' });
    expect(rejected.state!.state).toBe('disabled');
  });

  it('a scheduler-specific userspace part (scx-job-hints) feeds the job_hints map that the SJF scheduler reads', async () => {
    const sjf = await build('library/sjf/sjf.bpf.c');
    const load = await session.step({ kind: 'load', object: sjf, via: 'loader', hints: { 'stress-ng': 2000 }, statsIntervalMs: 500 });
    expect(load.ok, load.error).toBe(true);
    expect(lines(load).some((l) => l.type === 'hints')).toBe(true);
    const dump = await session.step({ kind: 'run', command: 'bpftool map dump name job_hints', timeoutS: 30 });
    expect(dump.stdout).toMatch(/stress-ng|0x73 0x74 0x72/);
    await session.step({ kind: 'run', command: 'stress-ng --cpu 2 --timeout 3s --quiet', timeoutS: 60 });
    const out = await session.step({ kind: 'loader_output' });
    const last = lines(out)
      .filter((l) => l.type === 'stats')
      .at(-1)!.stats as Record<string, number>;
    expect(last.hinted).toBeGreaterThan(0);
    const un = await session.step({ kind: 'unload' });
    expect(un.ok).toBe(true);
  });
});
