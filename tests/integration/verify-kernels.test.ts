/**
 * Verification on the kernels a build will meet: a Debian kernel matrix (two releases here, one VM
 * each) and this host's own kernel. One build that loads on 7.3 and not on 7.2 (a kfunc 7.2 lacks)
 * shows the difference; each verdict is kept with the build, and deploy checks the one for the
 * kernel it is about to load on.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureKernel } from '../../core/kernel/fetch.js';
import { ensureHostKernel, hostKernelPaths, hostKernelRefusal } from '../../core/kernel/host.js';
import { repoRoot } from '../../core/paths.js';
import { buildScheduler, getBuild, requireVerified, verificationOn } from '../../core/builds/build.js';
import { verifyOnKernels } from '../../core/builds/verify-kernels.js';
import { kernel } from '../helpers.js';

const OLDER = '7.2.12+deb13-amd64'; // trixie-backports; its BTF has no scx_bpf_task_set_slice

describe('verify_bpf on several kernels', () => {
  it('one build, two Debian kernels: passes on the sandbox kernel, refused on the older one with the reason; both verdicts kept', async () => {
    const k = await kernel();
    const older = await ensureKernel({ release: OLDER });
    expect(older.manifest.kfuncs).not.toContain('scx_bpf_task_set_slice');
    expect(k.manifest.kfuncs).toContain('scx_bpf_task_set_slice');
    expect((await ensureKernel()).release).toBe(k.release); // fetching a named release leaves the default alone
    const b = await buildScheduler({
      source: readFileSync(join(repoRoot, 'fixtures/kernels/set_slice.bpf.c'), 'utf8'),
      fileName: 'set_slice.bpf.c',
      origin: { kind: 'source' },
      kernel: k,
    });
    expect(b.ok, JSON.stringify(b.findings)).toBe(true);
    const m = await verifyOnKernels(b.id, ['sandbox', OLDER], k, { stressSeconds: 1 });
    expect(m.kernels.map((x) => [x.kernel, x.verdict])).toEqual([
      [k.release, 'pass'],
      [OLDER, 'fail'],
    ]);
    expect(m.verdict).toBe('fail');
    expect(m.kernels[0]!.programs.length).toBeGreaterThan(0);
    expect(m.kernels[1]!.reasons.join(' ')).toMatch(/kfunc 'scx_bpf_task_set_slice' is referenced but wasn't resolved at set_slice.bpf.c:\d+/);
    expect(m.kernels[1]!.loadFailure?.hint).toMatch(/does not export/);
    const rec = await getBuild(b.id);
    expect(verificationOn(rec, k.release)?.verdict).toBe('pass');
    expect(verificationOn(rec, OLDER)?.verdict).toBe('fail');
    expect(() => requireVerified(rec, k.release, 'sandbox')).not.toThrow();
    expect(() => requireVerified(rec, OLDER, 'host')).toThrow(/failed verification on 7\.2\.12/);
    expect(() => requireVerified(rec, '7.1.13+deb13-amd64', 'host')).toThrow(
      /not been verified on this host's kernel[\s\S]*verified on .*7\.3.*pass.*7\.2\.12.*fail/,
    );
  });

  it("this host's kernel: refused here, with why; from a host tree that has sched_ext, it boots in the sandbox and verifies", async () => {
    // this machine's kernel has no sched_ext: say so, plainly
    expect(hostKernelRefusal(hostKernelPaths())).toMatch(/no sched_ext|not there to boot|no BTF|modules/);
    // a host laid out like a Debian machine running the sandbox kernel: /boot, BTF, modules, sched_ext
    const k = await kernel();
    const root = mkdtempSync(join(tmpdir(), 'scx-hostroot-'));
    const saved = process.env.SCX_MCP_HOST_ROOT;
    try {
      mkdirSync(join(root, 'boot'), { recursive: true });
      copyFileSync(k.vmlinuz, join(root, 'boot', `vmlinuz-${k.release}`));
      copyFileSync(join(k.dir, 'config'), join(root, 'boot', `config-${k.release}`));
      mkdirSync(join(root, 'sys/kernel/btf'), { recursive: true });
      copyFileSync(join(k.dir, 'vmlinux'), join(root, 'sys/kernel/btf/vmlinux')); // bpftool reads BTF from the ELF as from raw BTF
      mkdirSync(join(root, 'sys/kernel/sched_ext'), { recursive: true });
      mkdirSync(join(root, 'proc/sys/kernel'), { recursive: true });
      writeFileSync(join(root, 'proc/sys/kernel/osrelease'), `${k.release}\n`);
      for (const m of k.modules) {
        mkdirSync(join(root, 'lib/modules', k.release, 'kernel/fs'), { recursive: true });
        copyFileSync(m, join(root, 'lib/modules', k.release, 'kernel/fs', m.split('/').pop()!));
      }
      const host = await ensureHostKernel({ root });
      expect(host.dir).toMatch(/host-/);
      expect(host.modules.length).toBe(k.modules.length);
      expect(host.manifest.kfuncs).toEqual(k.manifest.kfuncs);
      process.env.SCX_MCP_HOST_ROOT = root;
      const fifo = await buildScheduler({
        source: readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8'),
        fileName: 'fifo.bpf.c',
        origin: { kind: 'source' },
        kernel: host,
      });
      const m = await verifyOnKernels(fifo.id, ['host'], k, { stressSeconds: 1 });
      expect(m.kernels.map((x) => [x.spec, x.verdict])).toEqual([['host', 'pass']]);
    } finally {
      if (saved === undefined) delete process.env.SCX_MCP_HOST_ROOT;
      else process.env.SCX_MCP_HOST_ROOT = saved;
      rmSync(root, { recursive: true, force: true });
    }
  });
});
