/**
 * This host's own kernel as a sandbox kernel, so a build for target "host" is verified on the
 * kernel it will be deployed on. Usable when the running kernel has sched_ext, its image is
 * readable (/boot/vmlinuz-<release>), it exports BTF (/sys/kernel/btf/vmlinux) and its modules
 * include what the guest needs (/lib/modules/<release>: 9p, overlayfs). The same layout as a
 * fetched Debian kernel, under <cache>/kernels/host-<release>/, checked the same way; vmlinux.h
 * comes from the running kernel's BTF. `root` is for tests (a tree laid out like /).
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ScxError } from '../errors.js';
import { cacheDir } from '../paths.js';
import { missingConfig, parseKernelConfig, scxKfuncsFromVmlinuxH, targetApiHeader } from './bzimage.js';
import { checkCached, kernelInfoAt, sha256File, type KernelInfo, type KernelManifest } from './fetch.js';
import { extractGuestModules } from './modules.js';

export interface HostKernelPaths {
  release: string;
  vmlinuz: string;
  btf: string;
  modules: string;
  config: string | null;
  schedExt: string;
}

/** `root`: where the host's tree is; $SCX_MCP_HOST_ROOT (tests) or /. */
export function hostKernelPaths(root = process.env.SCX_MCP_HOST_ROOT || '/', release?: string): HostKernelPaths {
  const rel = release ?? readRelease(root);
  const config = [join(root, 'boot', `config-${rel}`), join(root, 'lib/modules', rel, 'config')].find((p) => existsSync(p)) ?? null;
  return {
    release: rel,
    vmlinuz: join(root, 'boot', `vmlinuz-${rel}`),
    btf: join(root, 'sys/kernel/btf/vmlinux'),
    modules: join(root, 'lib/modules', rel),
    config,
    schedExt: join(root, 'sys/kernel/sched_ext'),
  };
}

/** The running kernel's release (a test root may carry its own proc/sys/kernel/osrelease). */
function readRelease(root: string): string {
  for (const f of [join(root, 'proc/sys/kernel/osrelease'), '/proc/sys/kernel/osrelease']) {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch {
      /* next */
    }
  }
  return 'unknown';
}

/** Why this host's kernel cannot be a sandbox kernel, or null if it can. */
export function hostKernelRefusal(p: HostKernelPaths): string | null {
  if (!existsSync(p.schedExt)) return `this host's kernel (${p.release}) has no sched_ext (${p.schedExt} is missing)`;
  if (!existsSync(p.vmlinuz)) return `the kernel image ${p.vmlinuz} is not there to boot`;
  if (!existsSync(p.btf)) return `the kernel exports no BTF (${p.btf} is missing)`;
  if (!existsSync(p.modules)) return `the kernel's modules (${p.modules}) are not installed`;
  return null;
}

export function hostKernelDir(release: string): string {
  return join(cacheDir(), 'kernels', `host-${release}`);
}

/** This host's kernel, ready to boot in the sandbox and compile against; prepared once per release. */
export async function ensureHostKernel(opts: { root?: string; release?: string; log?: (s: string) => void } = {}): Promise<KernelInfo> {
  const p = hostKernelPaths(opts.root, opts.release);
  const why = hostKernelRefusal(p);
  if (why)
    throw new ScxError(
      'KERNEL_UNAVAILABLE',
      `cannot verify on this host's kernel: ${why}`,
      'verify on the sandbox kernel, or on a Debian release (verify_bpf kernels)',
    );
  const name = `host-${p.release}`;
  const dir = hostKernelDir(p.release);
  const problem = await checkCached(name);
  if (!problem) return kernelInfoAt(dir, p.release);
  opts.log?.(`preparing this host's kernel ${p.release} for the sandbox`);
  await mkdir(join(cacheDir(), 'kernels'), { recursive: true });
  const work = await mkdtemp(join(cacheDir(), 'kernels', `.host-${p.release}-`));
  try {
    await copyFile(p.vmlinuz, join(work, 'vmlinuz'));
    if (p.config) {
      await copyFile(p.config, join(work, 'config'));
      const missing = missingConfig(parseKernelConfig(await readFile(join(work, 'config'), 'utf8')));
      if (missing.length) throw new ScxError('KERNEL_UNAVAILABLE', `this host's kernel config lacks ${missing.join(', ')}`);
    } else {
      await writeFile(join(work, 'config'), '# not shipped by this host; sched_ext is present (/sys/kernel/sched_ext)\n');
    }
    await copyFile(p.btf, join(work, 'vmlinux'));
    const dump = await execa('bpftool', ['btf', 'dump', 'file', join(work, 'vmlinux'), 'format', 'c'], { maxBuffer: 512 * 1024 * 1024 });
    await writeFile(join(work, 'vmlinux.h'), dump.stdout + '\n');
    const kfuncs = scxKfuncsFromVmlinuxH(dump.stdout);
    if (!kfuncs.length) throw new ScxError('KERNEL_UNAVAILABLE', `this host's kernel BTF declares no scx_bpf_* kfuncs`);
    await writeFile(join(work, 'scx_target_api.h'), targetApiHeader(p.release, kfuncs));
    const modules = await extractGuestModules(p.modules, p.release, join(work, 'modules'));
    const files: KernelManifest['files'] = {};
    for (const f of ['vmlinuz', 'config', 'vmlinux', 'vmlinux.h', 'scx_target_api.h', ...modules.map((m) => `modules/${m}.ko`)]) {
      files[f] = { sha256: await sha256File(join(work, f)), size: (await stat(join(work, f))).size };
    }
    const manifest: KernelManifest = {
      release: p.release,
      packageVersion: 'running kernel',
      suite: 'host',
      mirror: 'none',
      packages: [],
      fetchedAt: new Date().toISOString(),
      kfuncs,
      modules,
      files,
    };
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }
  return kernelInfoAt(dir, p.release);
}
