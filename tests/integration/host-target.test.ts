/**
 * The host target's loader path, as far as a machine without sched_ext can take it: the real
 * scx-loader is started detached with the real build, the kernel (through libbpf) refuses the
 * struct_ops, and the backend reports the loader's own reason, stops the process and leaves
 * nothing behind. SCX_LOADER_SYSFS points the loader and the backend at a sched_ext sysfs that
 * says "disabled", so the run gets past the environment check to the real load.
 * (On a host with sched_ext and root, deploy_scx --allow-host takes this same path to a running scheduler.)
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { MonitorConfig } from '../../core/monitor/rules.js';
import { loaderAvailable } from '../../core/sandbox/image.js';
import { HostBackend } from '../../core/targets/host.js';
import { TargetManager } from '../../core/targets/manager.js';
import { buildScheduler, saveBuild, type BuildRecord } from '../../core/builds/build.js';
import { repoRoot } from '../../core/paths.js';
import { kernel } from '../helpers.js';
import { restoreEnvAfterAll } from '../env.js';

describe.skipIf(existsSync('/sys/kernel/sched_ext'))('host target on a kernel without sched_ext', () => {
  const root = mkdtempSync(join(tmpdir(), 'scx-host-'));
  restoreEnvAfterAll('SCX_LOADER_SYSFS', 'SCX_MCP_RUN_DIR');
  beforeAll(() => {
    mkdirSync(join(root, 'sysfs', 'root'), { recursive: true });
    writeFileSync(join(root, 'sysfs', 'state'), 'disabled\n');
    process.env.SCX_LOADER_SYSFS = join(root, 'sysfs');
    process.env.SCX_MCP_RUN_DIR = join(root, 'run');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("loads through the real scx-loader and reports the kernel's refusal in the loader's words; no process or file is left", async () => {
    expect(loaderAvailable()).toBe(true);
    const source = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
    const build = await buildScheduler({ source, fileName: 'fifo.bpf.c', origin: { kind: 'source' }, kernel: await kernel() });
    expect(build.ok).toBe(true);
    const host = new HostBackend();
    expect((await host.state()).state).toBe('disabled');
    const r = await host.load(build);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^load on the host failed \((verifier|object|unknown|attach)\): /);
    expect(readdirSync(join(root, 'run'))).toEqual([]);
    const { stdout } = await import('execa').then((m) => m.execa('pgrep', ['-f', `scx-loader run ${build.id}`], { reject: false }));
    expect(stdout.trim()).toBe('');
    // job hints go through scx-job-hints the same way
    const hinted = await host.load(build, { make: 100 });
    expect(hinted.ok).toBe(false);
    expect(hinted.error).toMatch(/^load on the host failed/);
    await host.unload(); // nothing to unload: a no-op
  });

  it('a kernel without sched_ext at all is named as such, before any loader starts', async () => {
    process.env.SCX_LOADER_SYSFS = join(root, 'nowhere');
    try {
      const host = new HostBackend();
      expect((await host.state()).state).toBe('absent');
      const r = await host.load({ id: '000000000000' } as never);
      expect(r).toEqual({ ok: false, error: expect.stringMatching(/has no sched_ext/) });
    } finally {
      process.env.SCX_LOADER_SYSFS = join(root, 'sysfs');
    }
  });
});

/**
 * Every host deploy and rollback leaves a line in the audit log, with who asked and why. The real
 * path through the manager, the host backend and the monitor, with two stand-ins for what this
 * machine lacks: the fake sched_ext sysfs above, and a loader that "attaches" by writing that sysfs
 * (then stays until SIGTERM, like scx-loader) — first the real scx-loader, which the kernel refuses.
 * The build's verification is recorded directly: verify_bpf is the sandbox's business, tested there.
 */
describe.skipIf(existsSync('/sys/kernel/sched_ext') || process.getuid?.() !== 0)('host deploys and rollbacks are audited', () => {
  const root = mkdtempSync(join(tmpdir(), 'scx-host-audit-'));
  // registered before the afterAll below, so it runs after it (vitest runs after-hooks as a stack): the unload still sees the test's directories
  restoreEnvAfterAll('SCX_LOADER_SYSFS', 'SCX_MCP_RUN_DIR', 'SCX_MCP_CACHE');
  const sysfs = join(root, 'sysfs');
  const agent = { client: 'test-agent 1.0' };
  let build: BuildRecord;
  let sourceSha256: string;
  const audit = () =>
    existsSync(join(root, 'run', 'audit.jsonl'))
      ? readFileSync(join(root, 'run', 'audit.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  const useFakeLoader = () => {
    process.env.SCX_MCP_CACHE = join(root, 'cache');
  };

  beforeAll(async () => {
    const source = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
    sourceSha256 = createHash('sha256').update(source).digest('hex');
    const b = await buildScheduler({ source, fileName: 'fifo.bpf.c', origin: { kind: 'source' }, kernel: await kernel() });
    expect(b.ok).toBe(true);
    // verified on this host's kernel, which the host target requires (this machine's kernel has no sched_ext:
    // the stand-in loader below plays the kernel's part, so the verdict is recorded, not measured)
    const v = { verdict: 'pass' as const, at: new Date().toISOString(), kernel: release(), reasons: [] };
    build = { ...b, verification: v, verifications: [v] };
    await saveBuild(build);
    mkdirSync(join(sysfs, 'root'), { recursive: true });
    writeFileSync(join(sysfs, 'state'), 'disabled\n');
    writeFileSync(join(sysfs, 'root', 'ops'), '');
    process.env.SCX_LOADER_SYSFS = sysfs;
    process.env.SCX_MCP_RUN_DIR = join(root, 'run');
    const bin = join(root, 'cache', 'sched-rust-target', 'release');
    mkdirSync(bin, { recursive: true });
    const fake = `#!/bin/sh
# stand-in for scx-loader on a kernel that takes the scheduler: sched_ext says enabled until SIGTERM
trap 'echo disabled > "$SCX_LOADER_SYSFS/state"; : > "$SCX_LOADER_SYSFS/root/ops"; exit 0' TERM
echo ${build.name} > "$SCX_LOADER_SYSFS/root/ops"
echo enabled > "$SCX_LOADER_SYSFS/state"
echo '{"type":"attached","ops":"${build.name}"}'
while :; do sleep 0.1; done
`;
    for (const n of ['scx-loader', 'scx-job-hints']) writeFileSync(join(bin, n), fake, { mode: 0o755 });
    const probeDir = join(root, 'probe');
    mkdirSync(probeDir);
    chmodSync(root, 0o755);
    writeFileSync(join(probeDir, 'value'), '5\n', { mode: 0o644 });
  });
  afterAll(async () => {
    useFakeLoader();
    await new HostBackend().unload().catch(() => undefined); // no stand-in loader outlives the test
    rmSync(root, { recursive: true, force: true });
  });

  it('a deploy the kernel refuses (the real scx-loader) is audited as failed, with the build, its source hash and parameters', async () => {
    const tm = new TargetManager({ allowHost: true });
    await expect(tm.deploy(build.id, 'host', { actor: agent })).rejects.toThrow(/deploying fifo to host failed: load on the host failed/);
    const [line] = audit();
    expect(line).toMatchObject({
      event: 'deploy',
      target: 'host',
      buildId: build.id,
      name: 'fifo',
      sourceSha256,
      origin: { kind: 'source' },
      params: build.params,
      hints: null,
      replaced: null,
      outcome: 'failed',
      error: expect.stringMatching(/load on the host failed/),
      actor: agent,
      pid: process.pid,
    });
    expect(Date.now() - Date.parse(String(line!.at))).toBeLessThan(120_000);
    expect(statSync(join(root, 'run', 'audit.jsonl')).mode & 0o777).toBe(0o600);
    // a rollback with nothing deployed changes nothing, and says so
    expect((await tm.rollback('host', 'default', { actor: agent, trigger: 'tool' })).changed).toBe(false);
    expect(audit()[1]).toMatchObject({ event: 'rollback', trigger: 'tool', from: null, to: null, changed: false, outcome: 'ok', actor: agent });
    await tm.close();
  });

  it('deploys, a redeploy, and rollbacks (to the previous one, to the default) each leave a line; unloading keeps the log', async () => {
    useFakeLoader();
    const before = audit().length;
    const tm = new TargetManager({ allowHost: true });
    expect((await tm.deploy(build.id, 'host', { actor: agent })).status.current?.name).toBe('fifo');
    expect(readFileSync(join(sysfs, 'state'), 'utf8').trim()).toBe('enabled');
    expect((await tm.deploy(build.id, 'host', { actor: agent })).replaced?.name).toBe('fifo');
    const prev = await tm.rollback('host', 'previous', { actor: agent, trigger: 'tool' });
    expect([prev.changed, prev.to?.name]).toEqual([true, 'fifo']);
    const def = await tm.rollback('host', 'default', { actor: agent, trigger: 'tool' });
    expect([def.changed, def.to]).toEqual([true, null]);
    expect(readFileSync(join(sysfs, 'state'), 'utf8').trim()).toBe('disabled');
    const lines = audit().slice(before);
    expect(lines.map((l) => [l.event, l.outcome, l.replaced ?? null, l.from ?? null, l.to ?? null])).toEqual([
      ['deploy', 'ok', null, null, null],
      ['deploy', 'ok', 'fifo', null, null],
      ['rollback', 'ok', null, 'fifo', 'fifo'],
      ['rollback', 'ok', null, 'fifo', null],
    ]);
    for (const l of lines) expect(l).toMatchObject({ target: 'host', actor: agent });
    expect(lines[0]).toMatchObject({ buildId: build.id, sourceSha256, params: build.params });
    await tm.close();
  });

  it("the monitor's rollbacks name their trigger: the kernel ejecting the scheduler, the SLO probe (run as the invoking user, audited with its uid)", async () => {
    useFakeLoader();
    const engines = new ScxEngines({ allowHost: true, runAs: '65534' });
    try {
      const before = audit().length;
      await engines.deployMonitored(build.id, 'host', MonitorConfig.parse({ intervalMs: 200, baselineSamples: 2 }), { actor: agent });
      writeFileSync(join(sysfs, 'state'), 'disabled\n'); // the kernel ejects it
      const monitor = () => engines.monitors.get('host')!.status();
      for (let i = 0; i < 100 && !monitor().rolledBack; i++) await new Promise((r) => setTimeout(r, 100));
      expect(monitor().rolledBack).toBe(true);
      const ejection = audit().slice(before);
      expect(ejection.map((l) => [l.event, l.outcome])).toEqual([
        ['deploy', 'ok'],
        ['rollback', 'ok'],
      ]);
      expect(ejection[1]).toMatchObject({
        trigger: 'ejection',
        reason: expect.stringMatching(/no longer running \(sched_ext state disabled\)/),
        from: 'fifo',
        to: null,
        changed: true,
        actor: agent,
      });

      // the probe prints a number only when it runs as nobody; removing the file makes it fail
      const value = join(root, 'probe', 'value');
      const probe = `test "$(id -u)" = 65534 && cat ${value}`;
      const mid = audit().length;
      await engines.deployMonitored(
        build.id,
        'host',
        MonitorConfig.parse({ intervalMs: 200, baselineSamples: 2, probe: { command: probe, maxFailures: 1 }, rules: [] }),
        { actor: agent },
      );
      rmSync(value);
      for (let i = 0; i < 100 && !monitor().rolledBack; i++) await new Promise((r) => setTimeout(r, 100));
      expect(monitor().rolledBack).toBe(true);
      const probed = audit().slice(mid);
      expect(probed.map((l) => l.event)).toEqual(['host_command', 'deploy', 'rollback']);
      expect(probed[0]).toMatchObject({
        purpose: 'monitor_probe',
        command: probe,
        uid: 65534,
        gid: 65534,
        repeat: 'every 200 ms while the monitor runs',
        actor: agent,
      });
      expect(probed[2]).toMatchObject({ trigger: 'monitor_probe', reason: expect.stringMatching(/SLO probe failed 1 times/), from: 'fifo', changed: true });

      // what is deployed when the server stops stays deployed (production; its loader runs detached)
      writeFileSync(value, '5\n');
      await engines.targets.deploy(build.id, 'host', { actor: agent });
    } finally {
      await engines.close();
    }
    expect(audit().at(-1)).toMatchObject({ event: 'deploy', name: 'fifo', outcome: 'ok' });
    expect(readFileSync(join(sysfs, 'state'), 'utf8').trim()).toBe('enabled');
    // a later server finds it by its loader's pid file and can roll it back
    const later = new TargetManager({ allowHost: true });
    try {
      expect((await later.status('host')).current).toBeNull(); // not looked at before the host is used
      const r = await later.rollback('host', 'default', { actor: agent, trigger: 'tool' });
      expect([r.changed, r.from?.name, r.from?.buildId]).toEqual([true, 'fifo', build.id]);
      expect(readFileSync(join(sysfs, 'state'), 'utf8').trim()).toBe('disabled');
      expect(audit().at(-1)).toMatchObject({ event: 'rollback', trigger: 'tool', from: 'fifo', to: null, changed: true, outcome: 'ok' });
    } finally {
      await later.close();
    }
  });
});
