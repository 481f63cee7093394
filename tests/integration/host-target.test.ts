/**
 * The host target's loader path, as far as a machine without sched_ext can take it: the real
 * scx-loader is started detached with the real build, the kernel (through libbpf) refuses the
 * struct_ops, and the backend reports the loader's own reason, stops the process and leaves
 * nothing behind. SCX_LOADER_SYSFS points the loader and the backend at a sched_ext sysfs that
 * says "disabled", so the run gets past the environment check to the real load.
 * (On a host with sched_ext and root, deploy_scx --allow-host takes this same path to a running scheduler.)
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loaderAvailable } from '../../core/sandbox/image.js';
import { HostBackend } from '../../core/targets.js';
import { buildScheduler } from '../../core/toolchain/builds.js';
import { repoRoot } from '../../core/paths.js';
import { kernel } from '../helpers.js';

describe.skipIf(existsSync('/sys/kernel/sched_ext'))('host target on a kernel without sched_ext', () => {
  const root = mkdtempSync(join(tmpdir(), 'scx-host-'));
  const saved = { sysfs: process.env.SCX_LOADER_SYSFS, run: process.env.SCX_MCP_RUN_DIR };
  beforeAll(() => {
    mkdirSync(join(root, 'sysfs', 'root'), { recursive: true });
    writeFileSync(join(root, 'sysfs', 'state'), 'disabled\n');
    process.env.SCX_LOADER_SYSFS = join(root, 'sysfs');
    process.env.SCX_MCP_RUN_DIR = join(root, 'run');
  });
  afterAll(() => {
    for (const [k, v] of [['SCX_LOADER_SYSFS', saved.sysfs], ['SCX_MCP_RUN_DIR', saved.run]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('loads through the real scx-loader and reports the kernel\'s refusal in the loader\'s words; no process or file is left', async () => {
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
