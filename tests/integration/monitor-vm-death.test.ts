/**
 * The sandbox VM dying under a monitored deployment, for real: the guest kernel is crashed through
 * sysrq by the SLO probe once the scheduler is deployed. The watch ends (it used to sample a gone
 * VM every interval, for ever), the death is recorded against the scheduler, and the target's
 * status says how it died. A panic that reads like the emulator's own fault (an int3 oops under
 * TCG; fixtures/bad/emulator_oops.sh) ends the watch too, but is recorded against nothing.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { MonitorConfig, type MonitorStatus } from '../../core/monitor/rules.js';
import { repoRoot } from '../../core/paths.js';
import { buildScheduler } from '../../core/builds/build.js';
import { verifyBuild } from '../../core/builds/verify.js';

async function waitFor(status: () => MonitorStatus, kind: string, timeoutMs: number): Promise<MonitorStatus> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const s = status();
    if (s.timeline.some((e) => e.kind === kind)) return s;
    await new Promise((r) => setTimeout(r, 500));
  }
  return status();
}

/** A probe that prints 1, and on its `n`th run (after the baseline and the deploy) runs `crash` instead. */
function crashingProbe(n: number, crash: string): MonitorConfig {
  const counter = `/tmp/probe-runs-${Math.random().toString(36).slice(2)}`;
  return MonitorConfig.parse({
    intervalMs: 1000,
    baselineSamples: 2,
    probe: { command: `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n > ${counter}; [ $n -lt ${n} ] || ${crash}; echo 1`, timeoutS: 30 },
  });
}

describe('the sandbox VM dies under a monitored deployment', () => {
  let engines: ScxEngines;
  let sjf: string;
  const accel = process.env.SCX_MCP_ACCEL;

  beforeAll(async () => {
    process.env.SCX_MCP_LIBRARY = mkdtempSync(join(tmpdir(), 'scx-vmdeathlib-'));
    engines = new ScxEngines({});
    const kernel = await engines.kernel();
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
});
