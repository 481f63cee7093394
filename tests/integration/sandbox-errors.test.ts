/** Bad input and broken environments: clear errors, no VM left behind. */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ScxError } from '../../core/errors.js';
import { checkCached, ensureKernel } from '../../core/kernel/fetch.js';
import { ensureGuestImage } from '../../core/sandbox/image.js';
import { SandboxSession, runSandboxJob } from '../../core/sandbox/session.js';
import { MAX_REPLY_CHARS } from '../../core/sandbox/reply.js';
import { SandboxVM } from '../../core/sandbox/vm.js';
import { repoRoot } from '../../core/paths.js';
import { build, kernel } from '../helpers.js';
import { restoreEnvAfterAll } from '../env.js';

const env = { ...process.env };
afterEach(() => {
  process.env = { ...env };
});

async function rejection(p: Promise<unknown>): Promise<ScxError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ScxError);
  return e as ScxError;
}

describe('bad input is refused before any VM boots', () => {
  it('a missing object file', async () => {
    const e = await rejection(runSandboxJob([{ kind: 'load', object: '/nonexistent/x.bpf.o' }]));
    expect(e.code).toBe('OBJECT_MISSING');
    expect(e.message).toContain('/nonexistent/x.bpf.o');
    expect(e.hint).toMatch(/build/);
  });

  it('a file that is not an ELF object', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'scx-bad-')), 'notelf.bpf.o');
    writeFileSync(f, 'this is C source, not an object\n');
    const e = await rejection(runSandboxJob([{ kind: 'load', object: f }]));
    expect(e.code).toBe('OBJECT_INVALID');
  });

  it('a malformed step', async () => {
    const e = await rejection(runSandboxJob([{ kind: 'run', command: 'true', timeoutS: -5 } as never]));
    expect(e.code).toBe('BAD_INPUT');
    expect(e.message).toMatch(/step 1.*timeoutS/);
  });

  it('QEMU missing', async () => {
    process.env.SCX_MCP_QEMU = '/nonexistent/qemu-system-x86_64';
    const k = await kernel();
    const e = await rejection(SandboxVM.start({ vmlinuz: k.vmlinuz, initrd: await ensureGuestImage(), accel: 'tcg' }));
    expect(e.code).toBe('TOOL_MISSING');
    expect(e.hint).toMatch(/qemu-system-x86/);
  });
});

describe('a guest that hangs or dies', () => {
  it('a request the guest does not answer in time: VM_TIMEOUT with console lines, VM killed', async () => {
    const k = await kernel();
    const vm = await SandboxVM.start({ vmlinuz: k.vmlinuz, initrd: await ensureGuestImage(), accel: 'tcg', keepRunDir: false });
    const e = await rejection(vm.run('sleep 60', { timeoutMs: 3_000, what: 'sleep 60' }));
    expect(e.code).toBe('VM_TIMEOUT');
    expect(e.message).toMatch(/did not answer "sleep 60" within 3 s/);
    expect(String(e.details?.console)).toMatch(/scx-sandbox: host filesystem mounted, starting agents/);
    expect(vm.alive).toBe(false);
    await vm.kill();
    expect(existsSync(vm.runDir)).toBe(false);
  });

  it('a guest whose init dies: VM_CRASHED with the kernel panic in the console lines', async () => {
    const k = await kernel();
    const e = await rejection(
      SandboxVM.start({
        vmlinuz: k.vmlinuz,
        initrd: await ensureGuestImage(),
        accel: 'tcg',
        extraCmdline: 'rdinit=/bin/false',
        bootTimeoutMs: 120_000,
      }),
    );
    expect(e.code).toBe('VM_CRASHED');
    expect(e.message).toMatch(/guest kernel panicked: Kernel panic - not syncing: Attempted to kill init/);
    expect(e.message).not.toMatch(/first boot panicked/); // init dying is not booted again: it would die again
    expect(String(e.details?.console)).toMatch(/Kernel Offset|end Kernel panic/);
  });

  it('a guest kernel that panics while booting is booted once more; a panic on the second boot too is VM_CRASHED, naming both', async () => {
    const k = await kernel();
    const e = await rejection(
      SandboxVM.start({
        vmlinuz: k.vmlinuz,
        initrd: await ensureGuestImage(),
        accel: 'tcg',
        extraCmdline: 'scx.test_oops',
        bootTimeoutMs: 120_000,
      }),
    );
    expect(e.code).toBe('VM_CRASHED');
    // /init crashes the kernel through sysrq when the command line says scx.test_oops: on both boots
    expect(e.message).toMatch(/guest kernel panicked: Kernel panic - not syncing: sysrq triggered crash/);
    expect(e.message).toMatch(/\(the first boot panicked too: Kernel panic - not syncing: sysrq triggered crash\)/);
  });
});

describe("a guest the emulator's fault takes down", () => {
  it('the session result names the fault (under TCG), so verify_bpf can verify again in a fresh VM', async () => {
    process.env.SCX_MCP_ACCEL = 'tcg';
    const session = await SandboxSession.start({});
    // fixtures/bad/emulator_oops.sh: the oops line multi-threaded TCG's stale int3 gives, then a crash
    const e = await session.vm.run(join(repoRoot, 'fixtures', 'bad', 'emulator_oops.sh'), { timeoutMs: 60_000 }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ScxError);
    const r = await session.finish(e);
    expect(r.error?.code).toBe('VM_CRASHED');
    expect(r.emulatorFault).toMatch(/^Oops: int3: 0000 \[#1\] SMP NOPTI; .*Kernel panic - not syncing: sysrq triggered crash$/);
  });
});

describe('a guest that answers too much or verifies too long', () => {
  it('30 MB of output comes back as its start and end with a marker; a load past the verification budget is stopped', async () => {
    const session = await SandboxSession.start({ verifyBudgetS: 10 });
    try {
      const big = await session.vm.run('head -c 30000000 /dev/zero | tr "\\0" x; echo THE-END; echo err-line >&2', { timeoutMs: 180_000 });
      expect(big.exitCode).toBe(0);
      expect(big.stdout.length).toBeLessThan(MAX_REPLY_CHARS);
      expect(big.stdout.startsWith('xxxx')).toBe(true);
      expect(big.stdout.trimEnd().endsWith('THE-END')).toBe(true);
      expect(big.stdout).toMatch(/\[\.\.\. about \d+ bytes of output cut here by the host/);
      expect(big.stderr).toBe('err-line\n');
      // the channel goes on
      expect((await session.vm.run('echo still here')).stdout).toBe('still here\n');

      const t0 = performance.now();
      const load = await session.step({ kind: 'load', object: await build('fixtures/bad/slow_verify.bpf.c'), via: 'loader' });
      const s = (performance.now() - t0) / 1000;
      expect(load.ok).toBe(false);
      expect(load.loadFailure).toMatchObject({
        stage: 'verifier',
        timedOutS: 10,
        reason: 'verification did not finish within 10 s: likely a loop the verifier cannot bound',
      });
      expect(s).toBeLessThan(40);
      expect(load.state?.state).toBe('disabled');
      expect((await session.vm.run('echo after')).stdout).toBe('after\n');
    } finally {
      await session.finish();
    }
  }, 400_000);
});

describe('kernel cache', () => {
  // each test points SCX_MCP_CACHE at a scratch cache (a kernel copy is ~100 MB): removed and restored after
  restoreEnvAfterAll('SCX_MCP_CACHE', 'SCX_MCP_KERNEL');
  const scratch: string[] = [];
  const scratchCache = () => {
    const d = mkdtempSync(join(tmpdir(), 'scx-cache-'));
    scratch.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });

  it('a corrupt cached kernel is detected and fetched again', async () => {
    const k = await kernel();
    const cache = scratchCache();
    cpSync(join(k.dir, '..', 'current'), join(cache, 'kernels', 'current'));
    cpSync(k.dir, join(cache, 'kernels', k.release), { recursive: true });
    process.env.SCX_MCP_CACHE = cache;
    process.env.SCX_MCP_KERNEL = k.release;
    const h = join(cache, 'kernels', k.release, 'vmlinux.h');
    writeFileSync(h, readFileSync(h, 'utf8').replace('struct sched_ext_ops {', 'struct sched_ext_opz {'));
    expect(await checkCached(k.release)).toBe('vmlinux.h checksum mismatch');
    const logs: string[] = [];
    const again = await ensureKernel({ log: (l) => logs.push(l) });
    expect(logs[0]).toMatch(/unusable \(vmlinux\.h checksum mismatch\); fetching it again/);
    expect(again.release).toBe(k.release);
    expect(await checkCached(k.release)).toBeNull();
    expect(again.manifest.files['vmlinux.h']!.sha256).toBe(k.manifest.files['vmlinux.h']!.sha256);
  });

  it('a kernel release the archive does not have is explained', async () => {
    process.env.SCX_MCP_CACHE = scratchCache();
    const e = await rejection(ensureKernel({ release: '1.0.0+nonexistent-amd64' }));
    expect(e.code).toBe('KERNEL_UNAVAILABLE');
    expect(e.hint).toMatch(/SCX_MCP_KERNEL/);
  });
});
