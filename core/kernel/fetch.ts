/**
 * The sandbox kernel: a Debian kernel built with sched_ext, fetched with a private
 * apt state (never installed on the host), checked, and turned into what the rest
 * of scx-mcp needs: vmlinuz to boot, vmlinux.h to compile against, and the list of
 * sched_ext kfuncs it exports.
 *
 * Layout under <cache>/kernels/:
 *   current                 the release in use (one line)
 *   <release>/manifest.json version, source, sha256 and size of every file
 *   <release>/{vmlinuz,config,vmlinux,vmlinux.h,scx_target_api.h}
 *   <release>/modules/*.ko  the guest's 9p and overlayfs modules, decompressed (modules.ts)
 *   apt/<suite>/            private apt state (lists, downloaded .debs)
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { z } from 'zod';
import { ScxError } from '../errors.js';
import { cacheDir } from '../paths.js';
import { locatePayload, missingConfig, parseKernelConfig, scxKfuncsFromVmlinuxH, targetApiHeader } from './bzimage.js';
import { extractGuestModules, GUEST_MODULES } from './modules.js';

export const KERNEL_SUITES = ['trixie-backports', 'sid'] as const;
const KERNEL_FILES = ['vmlinuz', 'config', 'vmlinux', 'vmlinux.h', 'scx_target_api.h'] as const;

export const KernelManifest = z.object({
  release: z.string(),
  packageVersion: z.string(),
  suite: z.string(),
  mirror: z.string(),
  packages: z.array(z.string()),
  fetchedAt: z.string(),
  kfuncs: z.array(z.string()),
  /** The guest modules in load order (files modules/<name>.ko); absent in caches made before the host share. */
  modules: z.array(z.string()).optional(),
  files: z.record(z.string(), z.object({ sha256: z.string(), size: z.number() })),
});
export type KernelManifest = z.infer<typeof KernelManifest>;

export interface KernelInfo {
  release: string;
  dir: string;
  vmlinuz: string;
  vmlinuxH: string;
  /** The guest's modules (9p, overlayfs and their dependencies), absolute paths in load order. */
  modules: string[];
  manifest: KernelManifest;
}

export interface EnsureKernelOptions {
  /** A specific kernel release (e.g. 7.2.12+deb13-amd64); default: $SCX_MCP_KERNEL, else the newest suitable one. */
  release?: string;
  /** Resolve the newest kernel again even if one is cached. */
  refresh?: boolean;
  log?: (line: string) => void;
}

function kernelsDir(): string {
  return join(cacheDir(), 'kernels');
}

function mirror(): string {
  return process.env.SCX_MCP_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
}

function flavour(): string {
  return process.env.SCX_MCP_KERNEL_FLAVOUR || 'amd64';
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The kernel the sandbox uses: cached if valid, fetched otherwise. Second calls do no network work. */
export async function ensureKernel(opts: EnsureKernelOptions = {}): Promise<KernelInfo> {
  const log = opts.log ?? (() => {});
  const wanted = opts.release ?? process.env.SCX_MCP_KERNEL;
  const currentFile = join(kernelsDir(), 'current');
  const cachedRelease = wanted ?? (existsSync(currentFile) ? (await readFile(currentFile, 'utf8')).trim() : undefined);

  if (cachedRelease && !opts.refresh) {
    const problem = await checkCached(cachedRelease);
    if (!problem) return loadInfo(cachedRelease);
    if (problem !== 'absent') log(`kernel cache for ${cachedRelease} is unusable (${problem}); fetching it again`);
  }

  await requireTools(['apt-get', 'apt-cache', 'dpkg-deb', 'bpftool', 'zstd']);
  const release = await fetchKernel(wanted, log);
  const problem = await checkCached(release);
  if (problem) {
    throw new ScxError(
      'KERNEL_CACHE_CORRUPT',
      `kernel ${release} was fetched but its cache does not verify: ${problem}`,
      `remove ${join(kernelsDir(), release)} and run setup again; check free disk space`,
    );
  }
  // `current` names the default kernel: a release asked for by name (a kernel matrix) does not replace it
  if (!wanted || !existsSync(currentFile)) await writeFile(currentFile, release + '\n');
  return loadInfo(release);
}

/** Returns null when the cached kernel verifies, else what is wrong ('absent' when there is nothing). */
export async function checkCached(release: string): Promise<string | null> {
  const dir = join(kernelsDir(), release);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return 'absent';
  let manifest: KernelManifest;
  try {
    manifest = KernelManifest.parse(JSON.parse(await readFile(manifestPath, 'utf8')));
  } catch (e) {
    return `manifest.json unreadable: ${(e as Error).message.split('\n')[0]}`;
  }
  if (!manifest.modules?.length) return 'no guest modules (a cache made before the sandbox shared the host filesystem)';
  const lacking = GUEST_MODULES.filter((m) => !manifest.modules!.includes(m));
  if (lacking.length) return `the guest modules lack ${lacking.join(', ')} (a cache made by an older scx-mcp)`;
  for (const name of [...KERNEL_FILES, ...manifest.modules.map((m) => `modules/${m}.ko`)]) {
    const rec = manifest.files[name];
    const path = join(dir, name);
    if (!rec) return `manifest has no entry for ${name}`;
    if (!existsSync(path)) return `${name} is missing`;
    const st = await stat(path);
    if (st.size !== rec.size) return `${name} has ${st.size} bytes, manifest says ${rec.size}`;
    if ((await sha256File(path)) !== rec.sha256) return `${name} checksum mismatch`;
  }
  return null;
}

async function loadInfo(release: string): Promise<KernelInfo> {
  return kernelInfoAt(join(kernelsDir(), release), release);
}

/** The KernelInfo of a checked kernel directory (a fetched release, or this host's kernel: host.ts). */
export async function kernelInfoAt(dir: string, release: string): Promise<KernelInfo> {
  const manifest = KernelManifest.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return {
    release,
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    vmlinuxH: join(dir, 'vmlinux.h'),
    modules: (manifest.modules ?? []).map((m) => join(dir, 'modules', `${m}.ko`)),
    manifest,
  };
}

export async function requireTools(tools: string[]): Promise<void> {
  const missing: string[] = [];
  for (const t of tools) {
    const r = await execa('sh', ['-c', `command -v ${t}`], { reject: false });
    if (r.exitCode !== 0) missing.push(t);
  }
  if (missing.length) {
    throw new ScxError(
      'TOOL_MISSING',
      `required host tools are missing: ${missing.join(', ')}`,
      'run `npm run setup` (bash scripts/setup.sh), which installs them with apt',
    );
  }
}

/** A private apt: its own sources, lists and cache under <cache>/kernels/apt/<suite>; never the host's package set. */
class PrivateApt {
  readonly root: string;
  constructor(readonly suite: string) {
    this.root = join(kernelsDir(), 'apt', suite);
  }

  private opts(): string[] {
    const r = this.root;
    return [
      '-o',
      `Dir::Etc::SourceList=${join(r, 'sources.list')}`,
      '-o',
      'Dir::Etc::SourceParts=/dev/null',
      '-o',
      'Dir::Etc::Preferences=/dev/null',
      '-o',
      'Dir::Etc::PreferencesParts=/dev/null',
      '-o',
      `Dir::State=${join(r, 'state')}`,
      '-o',
      `Dir::State::Lists=${join(r, 'lists')}`,
      '-o',
      `Dir::State::status=${join(r, 'status')}`,
      '-o',
      `Dir::Cache=${join(r, 'cache')}`,
      '-o',
      'APT::Architecture=amd64',
      '-o',
      'APT::Architectures::=amd64',
      '-o',
      'APT::Sandbox::User=root',
      '-o',
      'Debug::NoLocking=1',
      '-q',
    ];
  }

  async update(): Promise<void> {
    for (const d of ['lists/partial', 'cache/archives/partial', 'state', 'debs']) await mkdir(join(this.root, d), { recursive: true });
    await writeFile(join(this.root, 'status'), '');
    await writeFile(join(this.root, 'sources.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror()} ${this.suite} main\n`);
    const r = await execa('apt-get', [...this.opts(), 'update'], { reject: false, timeout: 300_000 });
    if (r.exitCode !== 0 || /^(E|Err):/m.test(r.stdout + r.stderr)) {
      throw new ScxError(
        'KERNEL_UNAVAILABLE',
        `apt-get update for ${this.suite} failed: ${lastLines(r.stderr || r.stdout, 3)}`,
        'check that the Debian mirror is reachable (SCX_MCP_DEBIAN_MIRROR overrides it) and that debian-archive-keyring is installed',
      );
    }
  }

  /** Fields of the candidate version of a package, or null if the suite does not have it. */
  async show(pkg: string): Promise<Record<string, string> | null> {
    const r = await execa('apt-cache', [...this.opts(), 'show', '--no-all-versions', pkg], { reject: false });
    if (r.exitCode !== 0 || !r.stdout.trim()) return null;
    const fields: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^([A-Za-z-]+):\s?(.*)$/.exec(line);
      if (m) fields[m[1]!] = m[2]!;
    }
    return fields;
  }

  async download(pkgs: string[]): Promise<string[]> {
    const dir = join(this.root, 'debs');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const r = await execa('apt-get', [...this.opts(), 'download', ...pkgs], { cwd: dir, reject: false, timeout: 600_000 });
    if (r.exitCode !== 0) {
      throw new ScxError(
        'KERNEL_UNAVAILABLE',
        `apt-get download ${pkgs.join(' ')} failed: ${lastLines(r.stderr, 3)}`,
        'the archive may have dropped that version; unset SCX_MCP_KERNEL to take the newest one',
      );
    }
    return (await readdir(dir)).filter((f) => f.endsWith('.deb')).map((f) => join(dir, f));
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

interface Resolved {
  apt: PrivateApt;
  release: string;
  packageVersion: string;
  packages: string[];
}

/** Find the kernel: a given release, or the newest linux-image-<flavour> across the suites that build sched_ext. */
async function resolve(wanted: string | undefined, log: (s: string) => void): Promise<Resolved[]> {
  const candidates: Resolved[] = [];
  for (const suite of KERNEL_SUITES) {
    const apt = new PrivateApt(suite);
    log(`resolving kernel in Debian ${suite}`);
    try {
      await apt.update();
    } catch (e) {
      log(String((e as Error).message));
      continue;
    }
    let release = wanted;
    if (!release) {
      const meta = await apt.show(`linux-image-${flavour()}`);
      const dep = meta?.Depends?.split(',')
        .map((s) => s.trim().split(' ')[0]!)
        .find((d) => d.startsWith('linux-image-') && d !== `linux-image-${flavour()}`);
      if (!dep) continue;
      release = dep.slice('linux-image-'.length);
    }
    // Newer Debian kernels split the image: linux-binary-<rel> (vmlinuz) + linux-base-<rel> (config).
    const binary = await apt.show(`linux-binary-${release}`);
    if (binary) {
      candidates.push({
        apt,
        release,
        packageVersion: binary.Version ?? '?',
        packages: [`linux-binary-${release}`, `linux-base-${release}`, `linux-modules-${release}`],
      });
      continue;
    }
    const image = (await apt.show(`linux-image-${release}`)) ?? (await apt.show(`linux-image-${release}-unsigned`));
    if (image) candidates.push({ apt, release, packageVersion: image.Version ?? '?', packages: [image.Package ?? `linux-image-${release}`] });
  }
  // Newest first: compare the upstream version part of the release.
  return candidates.sort((a, b) => compareRelease(b.release, a.release));
}

export function compareRelease(a: string, b: string): number {
  const pa = a
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
  const pb = b
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function fetchKernel(wanted: string | undefined, log: (s: string) => void): Promise<string> {
  const candidates = await resolve(wanted, log);
  if (!candidates.length) {
    throw new ScxError(
      'KERNEL_UNAVAILABLE',
      wanted ? `kernel ${wanted} is not in Debian ${KERNEL_SUITES.join(' or ')}` : `no linux-image-${flavour()} found in Debian ${KERNEL_SUITES.join(' or ')}`,
      wanted
        ? 'unset SCX_MCP_KERNEL to use the newest kernel, or pick a release listed by `apt-cache search linux-binary` in trixie-backports'
        : 'check network access to the Debian mirror',
    );
  }
  const problems: string[] = [];
  for (const c of candidates) {
    try {
      log(`fetching kernel ${c.release} (${c.packageVersion}) from ${c.apt.suite}`);
      await unpackKernel(c);
      return c.release;
    } catch (e) {
      problems.push(`${c.release} from ${c.apt.suite}: ${(e as Error).message}`);
      log(`  skipped: ${(e as Error).message}`);
    }
  }
  throw new ScxError(
    'KERNEL_UNAVAILABLE',
    `no usable sched_ext kernel: ${problems.join('; ')}`,
    'a sandbox kernel needs CONFIG_SCHED_CLASS_EXT=y and BTF; Debian trixie-backports and sid build them',
  );
}

async function unpackKernel(c: Resolved): Promise<void> {
  const debs = await c.apt.download(c.packages);
  await mkdir(kernelsDir(), { recursive: true });
  const work = await mkdtemp(join(kernelsDir(), `.fetch-${c.release}-`));
  try {
    const tree = join(work, 'tree');
    for (const deb of debs) await execa('dpkg-deb', ['-x', deb, tree]);
    const vmlinuzSrc = firstExisting([join(tree, 'usr/lib/modules', c.release, 'vmlinuz'), join(tree, 'boot', `vmlinuz-${c.release}`)]);
    const configSrc = firstExisting([join(tree, 'usr/lib/modules', c.release, 'config'), join(tree, 'boot', `config-${c.release}`)]);
    if (!vmlinuzSrc || !configSrc) throw new Error(`package layout not understood: no vmlinuz/config for ${c.release} in ${c.packages.join(', ')}`);

    const out = join(work, 'out');
    await mkdir(out);
    await rename(vmlinuzSrc, join(out, 'vmlinuz'));
    await rename(configSrc, join(out, 'config'));
    const missing = missingConfig(parseKernelConfig(await readFile(join(out, 'config'), 'utf8')));
    if (missing.length) throw new Error(`kernel config lacks ${missing.join(', ')}`);

    await extractVmlinux(join(out, 'vmlinuz'), join(out, 'vmlinux'));
    const dump = await execa('bpftool', ['btf', 'dump', 'file', join(out, 'vmlinux'), 'format', 'c'], { maxBuffer: 512 * 1024 * 1024 });
    await writeFile(join(out, 'vmlinux.h'), dump.stdout + '\n');
    const kfuncs = scxKfuncsFromVmlinuxH(dump.stdout);
    if (!kfuncs.length) throw new Error('vmlinux.h declares no scx_bpf_* kfuncs: BTF without sched_ext');
    await writeFile(join(out, 'scx_target_api.h'), targetApiHeader(c.release, kfuncs));
    const modulesRoot = firstExisting([join(tree, 'usr/lib/modules', c.release), join(tree, 'lib/modules', c.release)]);
    if (!modulesRoot) throw new Error(`no modules for ${c.release} in ${c.packages.join(', ')}`);
    const modules = await extractGuestModules(modulesRoot, c.release, join(out, 'modules'));

    const files: KernelManifest['files'] = {};
    for (const name of [...KERNEL_FILES, ...modules.map((m) => `modules/${m}.ko`)]) {
      const p = join(out, name);
      files[name] = { sha256: await sha256File(p), size: (await stat(p)).size };
    }
    const manifest: KernelManifest = {
      release: c.release,
      packageVersion: c.packageVersion,
      suite: c.apt.suite,
      mirror: mirror(),
      packages: c.packages,
      fetchedAt: new Date().toISOString(),
      kfuncs,
      modules,
      files,
    };
    await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

    const final = join(kernelsDir(), c.release);
    await rm(final, { recursive: true, force: true });
    await rename(out, final);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

/** Decompress the kernel ELF out of a bzImage; bpftool reads BTF from it. */
export async function extractVmlinux(vmlinuz: string, dest: string): Promise<void> {
  const image = await readFile(vmlinuz);
  const { offset, length, compression } = locatePayload(image);
  const payload = image.subarray(offset, offset + length);
  let elf: Buffer;
  if (compression === 'gzip') {
    elf = gunzipSync(payload);
  } else if (compression === 'zstd' || compression === 'xz') {
    const tool = compression === 'zstd' ? 'zstdcat' : 'xzcat';
    const r = await execa(tool, [], { input: payload, encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024, reject: false });
    elf = Buffer.from(r.stdout as Uint8Array);
    if (elf.length === 0) throw new Error(`${tool} could not decompress the kernel payload: ${String(r.stderr).slice(0, 200)}`);
  } else {
    throw new Error(`kernel payload compressed with ${compression}: not supported (zstd, gzip, xz are)`);
  }
  if (elf.toString('latin1', 1, 4) !== 'ELF') throw new Error('decompressed kernel payload is not an ELF file');
  await writeFile(dest, elf);
}
