/**
 * The monitor on the sandbox target, for real: a harmful scheduler under a probe is
 * rolled back, a scheduler the kernel ejects is rolled back, a good one stays, and
 * bad monitor configuration never touches the target.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { MonitorConfig } from '../../core/monitor/rules.js';
import { waitFor } from '../helpers.js';
import { repoRoot } from '../../core/paths.js';
import { buildScheduler } from '../../core/builds/build.js';
import { verifyBuild } from '../../core/builds/verify.js';
import type { LibraryEntry } from '../../core/model/entry.js';

const src = (f: string) => readFileSync(join(repoRoot, f), 'utf8');

function harmfulEntry(name: string, title: string): LibraryEntry {
  return {
    name,
    title,
    description: `${title}: a deliberately broken scheduler used to test the monitor's rollback.`,
    algorithm: 'see the source',
    family: 'fifo',
    tags: ['simple'],
    params: [],
    useCases: ['monitor tests'],
    limitations: ['harmful by design'],
    kernelApi: { minKernel: '6.12', kfuncs: ['scx_insert'], ops: ['enqueue'] },
    source: `${name}.bpf.c`,
    version: 1,
    parent: null,
    createdBy: 'test',
  };
}

describe('monitor on the sandbox target', () => {
  let engines: ScxEngines;
  const hookLog = join(mkdtempSync(join(tmpdir(), 'scx-hook-')), 'events.jsonl');
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    process.env.SCX_MCP_LIBRARY = mkdtempSync(join(tmpdir(), 'scx-monlib-'));
    // the operator's hook (scx-mcp serve --monitor-hook): every alert, regression and rollback as a JSON line
    engines = new ScxEngines({ monitorHook: `printf '%s\\n' "$SCX_MONITOR_EVENT" >> ${hookLog}` });
    const kernel = await engines.kernel();
    const store = await engines.library();
    await store.create({ entry: harmfulEntry('one_cpu', 'Everything on CPU 0'), source: src('fixtures/bad/one_cpu.bpf.c') });
    await store.create({ entry: harmfulEntry('time_bomb', 'FIFO that fails after a while'), source: src('fixtures/bad/time_bomb.bpf.c') });
    for (const name of ['one_cpu', 'time_bomb']) {
      const e = await store.get(name);
      const b = await buildScheduler({ source: e.source, fileName: `${name}.bpf.c`, origin: { kind: 'library', entry: name, version: 1 }, kernel });
      expect(b.ok).toBe(true);
      ids[name] = b.id;
    }
    const fifo = await buildScheduler({ source: src('bpf-templates/fifo/fifo.bpf.c'), fileName: 'fifo.bpf.c', origin: { kind: 'source' }, kernel });
    ids.fifo = fifo.id;
    const sjf = await buildScheduler({
      source: src('library/sjf/sjf.bpf.c'),
      fileName: 'sjf.bpf.c',
      origin: { kind: 'library', entry: 'sjf', version: 1 },
      kernel,
    });
    ids.sjf = sjf.id;
    for (const [name, id] of Object.entries(ids)) {
      const v = await verifyBuild(id, { kernel, stressSeconds: 2 });
      expect(v.verdict, `${name}: ${v.reasons.join('; ')}`).toBe('pass');
    }
  });
  afterAll(async () => {
    await engines?.close();
  });

  it('bad configuration is refused and the target is left as it was', async () => {
    expect(() => MonitorConfig.parse({ rules: [{ metric: 'p99_latency' }] })).toThrow();
    await engines.targets.deploy(ids.fifo!, 'sandbox');
    const failing = MonitorConfig.parse({ baselineSamples: 2, probe: { command: 'false' } });
    await expect(engines.deployMonitored(ids.one_cpu!, 'sandbox', failing)).rejects.toThrow(/probe does not work: probe exited with status 1/);
    const hanging = MonitorConfig.parse({ baselineSamples: 2, probe: { command: 'sleep 100', timeoutS: 2 } });
    await expect(engines.deployMonitored(ids.one_cpu!, 'sandbox', hanging)).rejects.toThrow(/killed after 2 s/);
    const st = await engines.targets.status('sandbox');
    expect(st.current?.name).toBe('fifo');
    expect(st.schedExt).toMatchObject({ state: 'enabled', ops: 'fifo' });
  });

  it('a harmful scheduler under a probe is rolled back to the previous one within 10 s of detection, and recorded', async () => {
    if ((await engines.targets.status('sandbox')).current?.name !== 'fifo') await engines.targets.deploy(ids.fifo!, 'sandbox');
    // the probe: wall time (ms) of two CPU-bound workers doing fixed work; on one CPU it takes about
    // twice as long (measured: 1.8–2.0 s under the default, 3.6–3.7 s under one_cpu), far past the 50 % limit
    // even when another VM shares the host (a hackbench probe was only 30 % slower then, and flaked)
    const config = MonitorConfig.parse({
      intervalMs: 1000,
      baselineSamples: 3,
      rules: [{ metric: 'probe', alertPct: 25, rollbackPct: 50, window: 2 }],
      probe: { command: 's=$(scx-clock); stress-ng --cpu 2 --cpu-ops 400 --quiet; e=$(scx-clock); echo $(( (e - s) / 1000000 ))', timeoutS: 120 },
    });
    await engines.deployMonitored(ids.one_cpu!, 'sandbox', config);
    const m = engines.monitors.get('sandbox')!;
    const s = await waitFor(() => m.status(), 'rollback', 240_000);
    const regression = s.timeline.find((e) => e.kind === 'regression');
    const rollback = s.timeline.find((e) => e.kind === 'rollback');
    expect(regression, JSON.stringify(s.timeline.filter((e) => e.kind !== 'sample'))).toBeDefined();
    expect(rollback).toBeDefined();
    expect(Date.parse(rollback!.at) - Date.parse(regression!.at)).toBeLessThan(10_000);
    const st = await engines.targets.status('sandbox');
    expect(st.current?.name).toBe('fifo');
    expect(st.schedExt).toMatchObject({ state: 'enabled', ops: 'fifo' });
    const hist = (await engines.library()).history('one_cpu');
    expect(hist.at(-1)).toMatchObject({ outcome: 'regressed' });
    expect(hist.at(-1)!.note).toMatch(/automatic rollback by the monitor: probe/);
    // the hook ran for the regression and the rollback (not for samples), with the event in $SCX_MONITOR_EVENT
    await new Promise((r) => setTimeout(r, 1000));
    const hooked = readFileSync(hookLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { target: string; kind: string });
    expect(hooked.map((e) => e.kind)).toEqual(expect.arrayContaining(['deployed', 'regression', 'rollback']));
    expect(hooked.every((e) => e.target === 'sandbox' && e.kind !== 'sample')).toBe(true);
  });

  it('a scheduler the kernel ejects (scx_bpf_error) is rolled back, with the exit reason recorded', async () => {
    // fifo runs before it (whatever the test before this one left)
    if ((await engines.targets.status('sandbox')).current?.name !== 'fifo') await engines.targets.deploy(ids.fifo!, 'sandbox');
    await engines.deployMonitored(ids.time_bomb!, 'sandbox', MonitorConfig.parse({ intervalMs: 1000, baselineSamples: 2 }));
    const m = engines.monitors.get('sandbox')!;
    const s = await waitFor(() => m.status(), 'rollback', 120_000);
    expect(s.timeline.find((e) => e.kind === 'scheduler_exit')!.message).toMatch(/scx_bpf_error.*time bomb/);
    expect((await engines.targets.status('sandbox')).current?.name).toBe('fifo');
    const hist = (await engines.library()).history('time_bomb');
    expect(hist.at(-1)).toMatchObject({ outcome: 'failed' });
    expect(hist.at(-1)!.note).toMatch(/scx_bpf_error/);
  });

  it('a probe that stops working under the new scheduler is a regression: rolled back, recorded against the watched workload', async () => {
    await engines.targets.rollback('sandbox', 'default');
    const fingerprint = { cpuBound: 0.3, ioHeavy: 0, latencySensitive: 0.8, unevenness: 0.2, manyShortTasks: 0.6, parallelism: 0.4 };
    const config = MonitorConfig.parse({
      intervalMs: 1000,
      baselineSamples: 2,
      // works under the kernel default, fails (exit 1) while any sched_ext scheduler runs
      probe: { command: 'test "$(cat /sys/kernel/sched_ext/state)" = disabled && echo 1', timeoutS: 10, maxFailures: 3 },
      workload: { name: 'request latency probe', fingerprint },
    });
    await engines.deployMonitored(ids.one_cpu!, 'sandbox', config);
    const m = engines.monitors.get('sandbox')!;
    const s = await waitFor(() => m.status(), 'rollback', 120_000);
    expect(s.timeline.filter((e) => e.kind === 'probe_failed').length).toBe(3);
    expect(s.timeline.find((e) => e.kind === 'regression')!.message).toMatch(/probe failed 3 times in a row under one_cpu/);
    expect((await engines.targets.status('sandbox')).schedExt).toMatchObject({ state: 'disabled' });
    const last = (await engines.library()).history('one_cpu').at(-1)!;
    expect(last).toMatchObject({ outcome: 'regressed', workload: { name: 'request latency probe', fingerprint } });
  });

  it("job hints reach the scheduler's job_hints map (its userspace part), are kept for rollback, and are refused for a scheduler without that map", async () => {
    await engines.targets.rollback('sandbox', 'default');
    const hints = { 'stress-ng': 2000, cc1: 300 };
    const d = await engines.targets.deploy(ids.sjf!, 'sandbox', { hints });
    const session = (await engines.targets.sandboxSession(false))!;
    const dump = async () => (await session.step({ kind: 'run', command: 'bpftool map dump name job_hints', timeoutS: 30 })).stdout ?? '';
    expect(d.status.current).toMatchObject({ name: 'sjf', hints });
    // bpftool prints the map with its BTF: prefix → expected runtime in ns
    const parse = async () => Object.fromEntries((JSON.parse(await dump()) as { key: string; value: number }[]).map((e) => [e.key, e.value]));
    expect(await parse()).toEqual({ 'stress-ng': 2_000_000_000, cc1: 300_000_000 });
    await expect(engines.targets.deploy(ids.fifo!, 'sandbox', { hints })).rejects.toThrow(/has no job_hints map/);
    await engines.targets.deploy(ids.fifo!, 'sandbox');
    const back = await engines.targets.rollback('sandbox', 'previous');
    expect(back.to).toMatchObject({ name: 'sjf', hints });
    expect(back.status.schedExt).toMatchObject({ state: 'enabled', ops: 'sjf' });
    expect(await parse()).toEqual({ 'stress-ng': 2_000_000_000, cc1: 300_000_000 }); // fed again on the way back
    await engines.targets.rollback('sandbox', 'default');
  });

  it('a good scheduler is left in place across a noisy run', async () => {
    await engines.targets.rollback('sandbox', 'default');
    const config = MonitorConfig.parse({
      intervalMs: 1000,
      baselineSamples: 3,
      rules: [
        { metric: 'probe', alertPct: 40, rollbackPct: 100, window: 3 },
        { metric: 'runq_wait_ms_per_s', alertPct: 100, rollbackPct: 400, window: 5 },
      ],
      probe: { command: 'hackbench -g 1 -l 10', timeoutS: 120 },
    });
    await engines.deployMonitored(ids.fifo!, 'sandbox', config);
    const m = engines.monitors.get('sandbox')!;
    // noise: a CPU hog that comes and goes while the monitor samples
    await engines.targets.run('sandbox', 'stress-ng --cpu 1 --timeout 4s --quiet; sleep 2; stress-ng --cpu 2 --timeout 3s --quiet', 60);
    await new Promise((r) => setTimeout(r, 5000));
    const s = m.status();
    expect(s.timeline.filter((e) => e.kind === 'sample').length).toBeGreaterThanOrEqual(3);
    // PSI io/memory and sched_ext's event counters are sampled beside cpu pressure and run-queue wait
    expect(Object.keys(s.last ?? {})).toEqual(
      expect.arrayContaining(['psi_cpu_some_pct', 'psi_io_some_pct', 'psi_memory_some_pct', 'runq_wait_ms_per_s', 'ctxsw_per_s', 'scx_events_per_s', 'probe']),
    );
    expect(Object.keys(s.events)).toContain('SCX_EV_SELECT_CPU_FALLBACK');
    expect(s.rolledBack).toBe(false);
    expect(s.running).toBe(true);
    expect((await engines.targets.status('sandbox')).schedExt).toMatchObject({ state: 'enabled', ops: 'fifo' });
    m.stop();
  });
});
