/**
 * The sandbox VM dying, for real, under deploy_scx's target and its monitor.
 * - Under a monitored deployment: the guest kernel is crashed through sysrq by the SLO probe once
 *   the scheduler is deployed. The watch ends (it used to sample a gone VM every interval, for
 *   ever), the death is recorded against the scheduler, and the target's status says how it died.
 *   A panic that reads like the emulator's own fault (an int3 oops under TCG;
 *   fixtures/bad/emulator_oops.sh) ends the watch too, but is recorded against nothing.
 * - While a deploy loads: the error says the VM died and what was lost (it used to be QEMU's bare
 *   exit message); the emulator's fault in a VM that ran nothing of ours is deployed again once.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { MonitorConfig } from '../../core/monitor/rules.js';
import { waitFor } from '../helpers.js';
import { repoRoot } from '../../core/paths.js';
import { buildPaths, buildScheduler, recordVerification, saveBuild, type BuildRecord } from '../../core/builds/build.js';
import { verifyBuild } from '../../core/builds/verify.js';
import { sha256Hex } from '../../core/model/hash.js';

/** A probe that prints 1, and on its `n`th run (after the baseline and the deploy) runs `crash` instead. */
function crashingProbe(n: number, crash: string): MonitorConfig {
  const counter = `/tmp/probe-runs-${Math.random().toString(36).slice(2)}`;
  return MonitorConfig.parse({
    intervalMs: 1000,
    baselineSamples: 2,
    probe: { command: `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n > ${counter}; [ $n -lt ${n} ] || ${crash}; echo 1`, timeoutS: 30 },
  });
}

/**
 * A build that takes the VM down as it starts: an scx binary build of a script. verify_bpf would die
 * on it too, so its passing verdict is written here, as deploy_scx's precondition.
 */
async function crashingBuild(name: string, script: string, release: string): Promise<BuildRecord> {
  const rec: BuildRecord = {
    id: sha256Hex(`${name}\0${script}\0${Date.now()}`, 12),
    createdAt: new Date().toISOString(),
    name,
    fileName: `${name}.cmd`,
    origin: { kind: 'scx', entry: name, version: 1, binary: script, binaryVersion: '0', args: [] },
    params: {},
    kernel: release,
    ok: true,
    stage: 'built',
    findings: [],
    diagnostics: [],
    durations: { staticMs: 0, compileMs: null },
    verification: null,
    verifications: [],
  };
  await mkdir(buildPaths(rec.id).dir, { recursive: true });
  recordVerification(rec, { verdict: 'pass', at: rec.createdAt, kernel: release, reasons: ['written by the test: it would take verify_bpf down'] });
  await saveBuild(rec);
  return rec;
}

describe('the sandbox VM dies', () => {
  let engines: ScxEngines;
  let sjf: string;
  let release: string;
  const accel = process.env.SCX_MCP_ACCEL;

  beforeAll(async () => {
    process.env.SCX_MCP_LIBRARY = mkdtempSync(join(tmpdir(), 'scx-vmdeathlib-'));
    engines = new ScxEngines({});
    const kernel = await engines.kernel();
    release = kernel.release;
    const b = await buildScheduler({
      source: readFileSync(join(repoRoot, 'library/sjf/sjf.bpf.c'), 'utf8'),
      fileName: 'sjf.bpf.c',
      origin: { kind: 'library', entry: 'sjf', version: 1 },
      kernel,
    });
    expect(b.ok).toBe(true);
    sjf = b.id;
    const v = await verifyBuild(sjf, { kernel, stressSeconds: 2 });
    expect(v.verdict, v.reasons.join('; ')).toBe('pass');
  }, 300_000);
  afterAll(async () => {
    if (accel === undefined) delete process.env.SCX_MCP_ACCEL;
    else process.env.SCX_MCP_ACCEL = accel;
    await engines?.close();
  });

  it("ends the watch, records the death against the scheduler, and the target's status says how it died", async () => {
    const before = (await engines.library()).history('sjf').length;
    // runs 1-3 are the baseline, 4 the first reading under sjf, 6 a tick's
    await engines.deployMonitored(sjf, 'sandbox', crashingProbe(6, 'echo c > /proc/sysrq-trigger'));
    const m = engines.monitors.get('sandbox')!;
    const s = await waitFor(() => m.status(), 'vm_died', 180_000);
    const died = s.timeline.find((e) => e.kind === 'vm_died');
    expect(died, JSON.stringify(s.timeline.filter((e) => e.kind !== 'sample'))).toBeDefined();
    expect(died!.message).toMatch(/^the sandbox VM died under sjf: the guest kernel panicked: .*sysrq/i);
    expect(s.running).toBe(false);
    // no sampling of a gone VM afterwards
    const events = m.status().timeline.length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(m.status().timeline.length).toBe(events);
    expect(m.status().timeline.some((e) => e.kind === 'error')).toBe(false);
    const hist = (await engines.library()).history('sjf');
    expect(hist.length).toBe(before + 1);
    expect(hist.at(-1)).toMatchObject({ outcome: 'failed' });
    expect(hist.at(-1)!.note).toMatch(/^the monitored deployment ended: the sandbox VM died under sjf/);
    const st = await engines.targets.status('sandbox');
    expect(st.current).toBeNull();
    expect(st.reason).toMatch(/^the sandbox VM died at .* under sjf \(.*sysrq.*\); a fresh one starts on the next deploy$/i);
  }, 300_000);

  it("an int3 oops under TCG is the emulator's fault: the watch ends, nothing is recorded against the scheduler", async () => {
    // the fault is TCG's: under KVM a guest int3 panic is never excused
    process.env.SCX_MCP_ACCEL = 'tcg';
    const before = (await engines.library()).history('sjf').length;
    const oops = join(repoRoot, 'fixtures', 'bad', 'emulator_oops.sh');
    // a fresh VM boots for this deploy: the last one died in the test before
    await engines.deployMonitored(sjf, 'sandbox', crashingProbe(6, `sh ${oops}`));
    const m = engines.monitors.get('sandbox')!;
    const s = await waitFor(() => m.status(), 'vm_died', 240_000);
    const died = s.timeline.find((e) => e.kind === 'vm_died');
    expect(died, JSON.stringify(s.timeline.filter((e) => e.kind !== 'sample'))).toBeDefined();
    expect(died!.message).toMatch(/^the sandbox VM died under sjf of the emulator's own fault \(Oops: int3: 0000 \[#1\] SMP NOPTI.*\), not the scheduler's/);
    expect(s.running).toBe(false);
    expect((await engines.library()).history('sjf').length).toBe(before);
    expect((await engines.targets.status('sandbox')).reason).toMatch(/: the emulator's own fault, not the scheduler's\); a fresh one starts/);
  }, 400_000);

  it('while a deploy loads: the error says the VM died and what was lost; the next deploy boots a fresh VM', async () => {
    const crash = await crashingBuild('sysrq_crash', join(repoRoot, 'fixtures', 'bad', 'sysrq_crash.sh'), release);
    await engines.targets.deploy(sjf, 'sandbox');
    const err = await engines.targets.deploy(crash.id, 'sandbox').catch((e: unknown) => e as Error & { hint?: string });
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^deploying sysrq_crash to the sandbox failed: the VM died while it loaded \(.*sysrq.*\)$/i);
    expect(err!.message).not.toMatch(/emulator/);
    expect((err as { hint?: string }).hint).toMatch(/a fresh sandbox VM boots on the next deploy; what ran in the old one \(sjf\) is gone/);
    const st = await engines.targets.status('sandbox');
    expect(st.current).toBeNull();
    expect(st.reason).toMatch(/^the sandbox VM died at .* under sjf, while sysrq_crash loaded \(.*sysrq.*\); a fresh one starts on the next deploy$/i);
    const back = await engines.targets.deploy(sjf, 'sandbox');
    expect(back.status.schedExt).toMatchObject({ state: 'enabled', ops: 'sjf' });
    await engines.targets.rollback('sandbox', 'default');
  }, 300_000);

  it("while a deploy loads, the emulator's fault in a VM that ran nothing of ours: deployed again once in a fresh VM; twice is an error", async () => {
    process.env.SCX_MCP_ACCEL = 'tcg';
    await engines.close(); // a fresh VM, under TCG, that has run nothing of ours
    engines = new ScxEngines({});
    const oops = await crashingBuild('emulator_oops', join(repoRoot, 'fixtures', 'bad', 'emulator_oops.sh'), release);
    const err = await engines.targets.deploy(oops.id, 'sandbox').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(
      /the VM died while it loaded \(Oops: int3: 0000 \[#1\] SMP NOPTI.*; the emulator's own fault, not the scheduler's, a second time\)$/,
    );
  }, 400_000);
});
