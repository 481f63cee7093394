/**
 * The guest image: a small initramfs (gzip'd newc cpio) holding only what the guest needs before
 * it can see the host: busybox, /init, the agent, a clock helper and the kernel's 9p and overlayfs
 * modules. /init mounts the host's root filesystem read-only over 9p and runs the agent chrooted
 * into it, so every program installed on the host (the user's build, interpreters, stress-ng,
 * scx schedulers, our own loader and fixtures) runs in the guest without being copied here.
 * Built once per content and cached under <cache>/images/<sha256>.cpio.gz.
 *
 * guestPrograms() names the project's own programs the guest finds on its PATH (through the run
 * directory shared back with the host, see vm.ts): the Rust loader, the profiler, the fixtures.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { ScxError } from '../errors.js';
import { cacheDir, guestDir, repoRoot } from '../paths.js';
import { ensureKernel, sha256File, type KernelInfo } from '../kernel/fetch.js';

/** A host file to put into the guest at `dest` (absolute guest path). */
export interface GuestFile {
  src: string;
  dest: string;
}

export interface ImageOptions {
  /** The kernel whose modules go in (default: the sandbox kernel). */
  kernel?: KernelInfo;
  /** Extra files for the initramfs itself (rarely needed: the guest sees the host). */
  files?: GuestFile[];
  log?: (s: string) => void;
}

/** Shared libraries (and the dynamic loader) an executable needs; [] for static binaries and scripts. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await execa('ldd', [binary], { reject: false });
  if (r.exitCode !== 0) return []; // "not a dynamic executable"
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p) libs.add(p);
  }
  return [...libs].sort();
}

async function busyboxPath(): Promise<string> {
  for (const p of ['/usr/bin/busybox', '/bin/busybox']) {
    if (!existsSync(p)) continue;
    const libs = await sharedLibraries(p);
    if (libs.length === 0) return p;
  }
  throw new ScxError('TOOL_MISSING', 'a static busybox is needed for the sandbox guest', 'install busybox-static (npm run setup does)');
}

/**
 * Where sched-rust's release binaries (scx-loader, scx-job-hints) are: $SCX_MCP_LOADER_DIR, else where setup builds
 * them (outside the clone). A fleet host's monitor is given the directory the rollout found or copied them to.
 */
export function loaderDir(): string {
  if (process.env.SCX_MCP_LOADER_DIR) return resolve(process.env.SCX_MCP_LOADER_DIR);
  return join(cacheDir(), 'sched-rust-target', 'release');
}

/** Whether scx-loader is built (every load goes through it; without it a load answers LOADER_NOT_BUILT). */
export function loaderAvailable(): boolean {
  return existsSync(join(loaderDir(), 'scx-loader'));
}

/**
 * The project's programs the guest runs by name, as host paths (the guest sees them through the
 * host share): scx-profile and scx-clock (static helpers), scx-loader and scx-job-hints when
 * sched-rust is built, and the workload fixtures when they are built.
 */
export async function guestPrograms(): Promise<Record<string, string>> {
  const bin: Record<string, string> = {
    'scx-clock': await staticHelper(join(guestDir, 'scx-clock.c')),
    'scx-profile': await staticHelper(join(repoRoot, 'core', 'profile', 'scx-profile.c')),
  };
  for (const b of ['scx-loader', 'scx-job-hints']) if (existsSync(join(loaderDir(), b))) bin[b] = join(loaderDir(), b);
  const fixtureBin = join(repoRoot, 'fixtures', 'workloads', 'bin');
  if (existsSync(fixtureBin)) for (const f of (await readdir(fixtureBin)).sort()) bin[f] = join(fixtureBin, f);
  return bin;
}

/** Build (or reuse) the initramfs; returns its path. */
export async function ensureGuestImage(opts: ImageOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const kernel = opts.kernel ?? (await ensureKernel({ log }));
  if (!kernel.modules.length) {
    throw new ScxError(
      'KERNEL_CACHE_CORRUPT',
      `the cached kernel ${kernel.release} has no guest modules (9p, overlayfs)`,
      'run `npm run setup` (scx-mcp kernel) to fetch them with the kernel',
    );
  }
  const busybox = await busyboxPath();
  const files: GuestFile[] = [
    { src: busybox, dest: '/bin/busybox' },
    { src: join(guestDir, 'init'), dest: '/init' },
    { src: join(guestDir, 'agent.sh'), dest: '/scx/agent.sh' },
    { src: await staticHelper(join(guestDir, 'scx-clock.c')), dest: '/scx/scx-clock' },
    ...kernel.modules.map((m) => ({ src: m, dest: `/scx/modules/${basename(m)}` })),
    ...(opts.files ?? []),
  ];
  for (const f of files) if (!existsSync(f.src)) throw new ScxError('OBJECT_MISSING', `guest file ${f.src} does not exist`, 'build it first');
  const moduleOrder = kernel.modules.map((m) => basename(m)).join('\n') + '\n';
  const applets = (await execa(busybox, ['--list-full'])).stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

  // Content address: every file's destination and content hash, plus the applet list.
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.dest.localeCompare(b.dest))) h.update(`${f.dest}\0${await sha256File(f.src)}\n`);
  h.update(applets.join('\n'));
  h.update(`modules\0${moduleOrder}`);
  const digest = h.digest('hex').slice(0, 24);
  const imagesDir = join(cacheDir(), 'images');
  const image = join(imagesDir, `${digest}.cpio.gz`);
  if (existsSync(image)) return image;

  log(`building sandbox guest image ${digest} (${files.length} files)`);
  await mkdir(imagesDir, { recursive: true });
  const stage = await mkdtemp(join(imagesDir, '.stage-'));
  try {
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'host', 'scx/modules']) {
      await mkdir(join(stage, d), { recursive: true });
    }
    for (const f of files) {
      const to = join(stage, f.dest);
      await mkdir(dirname(to), { recursive: true });
      await copyFile(f.src, to);
      await chmod(to, 0o755);
    }
    // Applet links. A link named busybox pointing at itself would loop (ELOOP at /init), so skip it.
    for (const a of applets) {
      const to = join(stage, a);
      if (basename(a) === 'busybox' || existsSync(to)) continue;
      await mkdir(dirname(to), { recursive: true });
      await symlink('/bin/busybox', to);
    }
    await writeFile(join(stage, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(join(stage, 'etc/group'), 'root:x:0:\n');
    await writeFile(join(stage, 'scx/modules/order'), moduleOrder);
    const tmp = `${image}.tmp-${process.pid}`;
    await execa('sh', ['-c', `find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 > '${tmp}'`], { cwd: stage });
    await rename(tmp, image);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return image;
}

/** A small C helper compiled static (it runs in the guest and on the host), once per source content. */
export async function staticHelper(src: string): Promise<string> {
  const digest = createHash('sha256')
    .update(await readFile(src))
    .digest('hex')
    .slice(0, 16);
  const out = join(cacheDir(), 'guest-bin', `${basename(src, '.c')}-${digest}`);
  if (existsSync(out)) return out;
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const r = await execa('gcc', ['-O2', '-static', '-Wall', '-o', tmp, src], { reject: false });
  if (r.exitCode !== 0) {
    throw new ScxError('TOOL_MISSING', `cannot build ${basename(src)}: ${r.stderr.trim().split('\n')[0]}`, 'install gcc and libc6-dev (npm run setup does)');
  }
  await rename(tmp, out);
  return out;
}
