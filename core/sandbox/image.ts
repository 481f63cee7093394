/**
 * The guest image: an initramfs (gzip'd newc cpio) holding busybox, the guest
 * agent, the tools a job needs (bpftool, stress-ng, hackbench, cyclictest, ...)
 * and every shared library `ldd` lists for them. Built once per content and
 * cached under <cache>/images/<sha256>.cpio.gz.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { ScxError } from '../errors.js';
import { cacheDir, guestDir, repoRoot } from '../paths.js';
import { sha256File } from '../kernel/fetch.js';

/** A host file to put into the guest at `dest` (absolute guest path). */
export interface GuestFile {
  src: string;
  dest: string;
}

/** Host tools every sandbox guest carries, by the name they are found under on the host. */
export const DEFAULT_GUEST_TOOLS = ['bpftool', 'stress-ng', 'hackbench', 'cyclictest'] as const;

export interface ImageOptions {
  /** Extra host programs (names on PATH or absolute paths), copied with their libraries to /usr/bin. */
  tools?: string[];
  /** Extra files (e.g. the Rust loader, workload binaries). Executables get their libraries too. */
  files?: GuestFile[];
  log?: (s: string) => void;
}

async function which(tool: string): Promise<string> {
  if (tool.startsWith('/')) {
    if (!existsSync(tool)) throw new ScxError('TOOL_MISSING', `guest tool ${tool} does not exist`, 'build or install it first');
    return tool;
  }
  const r = await execa('sh', ['-c', `command -v ${tool}`], { reject: false });
  const p = r.stdout.trim();
  if (r.exitCode !== 0 || !p.startsWith('/')) {
    throw new ScxError('TOOL_MISSING', `${tool} is needed inside the sandbox guest but is not installed on the host`,
      'run `npm run setup` (installs bpftool, stress-ng, rt-tests, busybox-static)');
  }
  return p;
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

/** Where setup builds sched-rust's release binaries (outside the clone). */
export function loaderDir(): string {
  return join(cacheDir(), 'sched-rust-target', 'release');
}

/** Whether the guest image carries scx-loader (then loads go through it, not bpftool). */
export function loaderAvailable(): boolean {
  return existsSync(join(loaderDir(), 'scx-loader'));
}

/** Build (or reuse) the initramfs; returns its path. */
export async function ensureGuestImage(opts: ImageOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const files: GuestFile[] = [];
  const busybox = await busyboxPath();
  files.push({ src: busybox, dest: '/bin/busybox' });
  files.push({ src: join(guestDir, 'init'), dest: '/init' });
  files.push({ src: join(guestDir, 'agent.sh'), dest: '/scx/agent.sh' });
  files.push({ src: await staticHelper(join(guestDir, 'scx-clock.c')), dest: '/usr/bin/scx-clock' });
  files.push({ src: await staticHelper(join(repoRoot, 'core', 'profile', 'scx-profile.c')), dest: '/usr/bin/scx-profile' });
  const executables: string[] = [];
  for (const t of [...DEFAULT_GUEST_TOOLS, ...(opts.tools ?? [])]) {
    const p = await which(t);
    files.push({ src: p, dest: `/usr/bin/${basename(p)}` });
    executables.push(p);
  }
  // the workload fixtures (static binaries from fixtures/workloads), when they have been built
  const fixtureBin = join(repoRoot, 'fixtures', 'workloads', 'bin');
  const fixtures = existsSync(fixtureBin) ? (await readdir(fixtureBin)).sort().map((f) => ({ src: join(fixtureBin, f), dest: `/usr/bin/${f}` })) : [];
  // the Rust loader (sched-rust), when it has been built
  const loaders = ['scx-loader', 'scx-job-hints'].filter((b) => existsSync(join(loaderDir(), b))).map((b) => ({ src: join(loaderDir(), b), dest: `/usr/bin/${b}` }));
  for (const f of [...fixtures, ...loaders, ...(opts.files ?? [])]) {
    if (!existsSync(f.src)) throw new ScxError('OBJECT_MISSING', `guest file ${f.src} does not exist`, 'build it first');
    files.push(f);
    executables.push(f.src);
  }
  const libs = new Set<string>();
  for (const e of executables) for (const l of await sharedLibraries(e)) libs.add(l);
  for (const l of libs) files.push({ src: l, dest: l });
  const applets = (await execa(busybox, ['--list-full'])).stdout.split('\n').map((s) => s.trim()).filter(Boolean);

  // Content address: every file's destination and content hash, plus the applet list.
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.dest.localeCompare(b.dest))) h.update(`${f.dest}\0${await sha256File(f.src)}\n`);
  h.update(applets.join('\n'));
  const digest = h.digest('hex').slice(0, 24);
  const imagesDir = join(cacheDir(), 'images');
  const image = join(imagesDir, `${digest}.cpio.gz`);
  if (existsSync(image)) return image;

  log(`building sandbox guest image ${digest} (${files.length} files)`);
  await mkdir(imagesDir, { recursive: true });
  const stage = await mkdtemp(join(imagesDir, '.stage-'));
  try {
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc', 'bin', 'sbin', 'usr/bin', 'usr/sbin', 'lib64', 'scx']) {
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
  const digest = createHash('sha256').update(await readFile(src)).digest('hex').slice(0, 16);
  const out = join(cacheDir(), 'guest-bin', `${basename(src, '.c')}-${digest}`);
  if (existsSync(out)) return out;
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const r = await execa('gcc', ['-O2', '-static', '-Wall', '-o', tmp, src], { reject: false });
  if (r.exitCode !== 0) {
    throw new ScxError('TOOL_MISSING', `cannot build ${basename(src)}: ${r.stderr.trim().split('\n')[0]}`,
      'install gcc and libc6-dev (npm run setup does)');
  }
  await rename(tmp, out);
  return out;
}
