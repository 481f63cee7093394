/**
 * sched-ext/scx's production schedulers as library entries, for real: scx_bpfland, installed by
 * set-up (scripts/scx-schedulers.sh) into the cache, is built (binary + arguments checked against
 * its own --help), verified (started in the sandbox under the stress run, stopped), deployed in
 * the sandbox, a workload runs under it while /sys/kernel/sched_ext/root/ops names it, and it is
 * rolled back to the kernel default. Skipped, saying why, only when set-up could not build it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { LibraryEntry } from '../../core/model/entry.js';
import { repoRoot } from '../../core/paths.js';
import { scxAvailability, scxParams } from '../../core/scx/catalog.js';
import { OPERATOR } from '../../core/targets/audit.js';
import { benchmarkSchedulersTool } from '../../tools/benchmark-schedulers.js';
import { buildSchedulerTool } from '../../tools/build-scheduler.js';
import { deployScxTool } from '../../tools/deploy-scx.js';
import type { ToolContext } from '../../tools/define.js';
import { rollbackTool } from '../../tools/rollback.js';
import { searchLibraryTool } from '../../tools/search-library.js';
import { tuneSchedulerTool } from '../../tools/tune-scheduler.js';
import { verifyBpfTool } from '../../tools/verify-bpf.js';

const entry = LibraryEntry.parse(JSON.parse(readFileSync(join(repoRoot, 'library', 'scx_bpfland', 'entry.json'), 'utf8')));
const avail = scxAvailability(entry);
if (!avail.available) console.warn(`[scx-binaries] skipped: ${avail.reason}`);

describe.skipIf(!avail.available)(`scx binary entries in the sandbox (${avail.available ? avail.binary : `skipped: ${avail.reason}`})`, () => {
  let engines: ScxEngines;
  let ctx: ToolContext;
  let buildId = '';

  beforeAll(() => {
    engines = new ScxEngines();
    ctx = { engines, actor: OPERATOR, progress: async () => {}, log: async () => {}, signal: new AbortController().signal };
  });
  afterAll(async () => {
    await engines?.close();
  });

  it("has typed parameters parsed from the installed binary's --help", () => {
    const p = scxParams('scx_bpfland');
    expect(p?.version).toBe(entry.scx!.version);
    const slice = p!.params.find((x) => x.name === 'slice_us');
    expect(slice).toMatchObject({ flag: '--slice-us', type: 'u64', switch: false });
    expect(typeof slice!.default).toBe('number');
    expect(p!.params.find((x) => x.name === 'help')?.tunable ?? false).toBe(false);
  });

  it('search_library ranks it like any entry', async () => {
    const r = await searchLibraryTool.handle({ query: 'gaming and audio stay responsive beside a CPU-heavy background build', limit: 30 } as never, ctx);
    const names = (r.structured as { results: { name: string }[] }).results.map((x) => x.name);
    expect(names).toContain('scx_bpfland');
  });

  it('build_scheduler checks arguments against the parameter list', async () => {
    await expect(buildSchedulerTool.handle({ entry: 'scx_bpfland', params: { no_such_flag: 1 } }, ctx)).rejects.toThrow(/unknown parameter no_such_flag/);
    await expect(buildSchedulerTool.handle({ entry: 'scx_bpfland', params: { slice_us: -5 } }, ctx)).rejects.toThrow(/non-negative/);
    await expect(buildSchedulerTool.handle({ entry: 'scx_bpfland', params: { slice_us: 5000 }, patch: '--- a\n+++ b\n' }, ctx)).rejects.toThrow(
      /no source to patch/,
    );
    const r = await buildSchedulerTool.handle({ entry: 'scx_bpfland', params: { slice_us: 5000 } }, ctx);
    expect(r.structured.ok).toBe(true);
    expect(r.structured.origin).toMatchObject({ kind: 'scx', entry: 'scx_bpfland', binary: avail.binary, args: ['--slice-us=5000'] });
    const again = await buildSchedulerTool.handle({ entry: 'scx_bpfland', params: { slice_us: 5000 } }, ctx);
    expect(again.structured.buildId).toBe(r.structured.buildId);
    buildId = r.structured.buildId;
  });

  it('verify_bpf runs it in the sandbox under the stress run', async () => {
    const r = await verifyBpfTool.handle({ buildId, stressSeconds: 3 }, ctx);
    expect(r.structured.verdict, r.structured.reasons.join('; ')).toBe('pass');
    const start = r.structured.sandbox.steps.find((s) => s.kind === 'load')!;
    expect(start.state?.ops).toMatch(/^bpfland/);
  }, 600_000);

  it('benchmark_schedulers measures it beside the kernel default and records its history', async () => {
    const r = await benchmarkSchedulersTool.handle({ buildIds: [buildId], workload: 'wakeup', repeats: 1, quick: true, record: true } as never, ctx);
    const s = r.structured as {
      policies: { name: string; status: string; failures: { message: string }[]; metrics: Record<string, { n: number }> }[];
      recorded: { entry: string }[];
      error: string | null;
    };
    expect(s.error).toBeNull();
    const bpfland = s.policies.find((p) => p.name !== 'default')!;
    expect(bpfland.failures, JSON.stringify(bpfland.failures)).toEqual([]);
    expect(Object.values(bpfland.metrics).some((m) => m.n === 1)).toBe(true);
    expect(s.recorded.map((x) => x.entry)).toContain('scx_bpfland');
  }, 900_000);

  it('tune_scheduler searches its flags on the wakeup fixture (integer options need a range: --help declares none)', async () => {
    const r = await tuneSchedulerTool.handle(
      {
        entry: 'scx_bpfland',
        workload: 'wakeup',
        objective: 'wakeup_p99_us',
        quick: true,
        budget: 4,
        minutes: 20,
        only: ['slice_us', 'no_wake_sync'],
        ranges: { slice_us: { min: 200, max: 20000 } },
        maxRegressionPct: 100,
        seed: 0,
      } as never,
      ctx,
    );
    const t = r.structured as {
      searched: { name: string }[];
      trialsRun: number;
      trials: { ok: boolean; params: Record<string, unknown>; failure?: string }[];
      best: { params: Record<string, unknown> } | null;
    };
    expect(t.searched.map((d) => d.name).sort()).toEqual(['no_wake_sync', 'slice_us']);
    expect(t.trialsRun).toBeGreaterThanOrEqual(2);
    expect(t.trials.filter((x) => x.ok).length, JSON.stringify(t.trials.map((x) => x.failure))).toBeGreaterThanOrEqual(2);
    expect(t.best?.params).toHaveProperty('slice_us');
    console.log(`[scx-binaries] tune scx_bpfland on wakeup (quick): ${r.summary}`);
  }, 1_200_000);

  it('deploy_scx runs it in the sandbox, a workload runs under it, rollback stops it', async () => {
    const d = await deployScxTool.handle({ buildId, target: 'sandbox', monitor: false } as never, ctx);
    expect((d.structured as { status: { schedExt: { state: string; ops: string | null } } }).status.schedExt).toMatchObject({
      state: 'enabled',
      ops: expect.stringMatching(/^bpfland/),
    });
    const run = await engines.targets.run(
      'sandbox',
      'hackbench -g 2 -l 50 >/dev/null && cat /sys/kernel/sched_ext/state /sys/kernel/sched_ext/root/ops && pgrep -x scx_bpfland >/dev/null && echo running',
      180,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^enabled\nbpfland\S*\nrunning/);
    const rb = await rollbackTool.handle({ target: 'sandbox', to: 'default' }, ctx);
    expect(rb.structured.changed).toBe(true);
    expect(rb.structured.status.schedExt?.state).toBe('disabled');
    const after = await engines.targets.run('sandbox', 'pgrep -x scx_bpfland || echo gone', 60);
    expect(after.stdout.trim()).toBe('gone');
  }, 600_000);
});
