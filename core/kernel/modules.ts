/**
 * The kernel modules a sandbox guest loads before it can see the host: 9p over virtio (the host's
 * root filesystem, and the run directory shared back) and overlayfs (writable layers over host
 * paths). Debian builds them as modules, so they come from the kernel's own linux-modules package,
 * decompressed for busybox insmod, with their dependencies resolved from each module's .modinfo
 * (the .deb ships no modules.dep: depmod runs at install time, which we never do).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * What the guest needs: 9p and overlayfs for the host share, virtio_net for a VM reached over
 * ssh (a fleet of sandbox VMs); their dependencies (netfs, 9pnet, failover) are found and loaded first.
 */
export const GUEST_MODULES = ['9p', '9pnet_virtio', 'overlay', 'virtio_net'] as const;

/** A .modinfo key (`depends`, `vermagic`, `name`) from a module's bytes; null if absent. */
export function modinfoField(ko: Buffer, key: string): string | null {
  const needle = Buffer.from(`\0${key}=`);
  const at = ko.indexOf(needle);
  if (at < 0) return null;
  const start = at + needle.length;
  const end = ko.indexOf(0, start);
  return ko.toString('utf8', start, end < 0 ? ko.length : end);
}

/** Dependencies first, each module once: a topological order of `wanted` and what they need. */
export function loadOrder(wanted: readonly string[], depends: (name: string) => string[]): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`module dependency cycle at ${name}`);
    visiting.add(name);
    for (const d of depends(name)) visit(d);
    visiting.delete(name);
    order.push(name);
  };
  for (const w of wanted) visit(w);
  return order;
}

async function walk(dir: string, out: Map<string, string>): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else {
      const m = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/.exec(e.name);
      // module names treat - and _ alike
      if (m) out.set(m[1]!.replace(/-/g, '_'), p);
    }
  }
}

async function decompress(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return readFile(path);
  const tool = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dc'] : ['gzip', '-dc'];
  const r = await execa(tool[0]!, [...tool.slice(1), path], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, reject: false });
  if (r.exitCode !== 0) throw new Error(`${tool[0]} could not decompress ${path}`);
  return Buffer.from(r.stdout as Uint8Array);
}

/**
 * Find the guest modules in an unpacked module tree (<root>/usr/lib/modules/<release> or
 * /lib/modules/<release>), check they were built for `release`, and write them decompressed into
 * `outDir` as <name>.ko. Returns the names in load order.
 */
export async function extractGuestModules(modulesRoot: string, release: string, outDir: string): Promise<string[]> {
  if (!existsSync(modulesRoot)) throw new Error(`no kernel modules at ${modulesRoot}`);
  const files = new Map<string, string>();
  await walk(modulesRoot, files);
  const bytes = new Map<string, Buffer>();
  const get = async (name: string): Promise<Buffer> => {
    const have = bytes.get(name);
    if (have) return have;
    const p = files.get(name);
    if (!p) throw new Error(`kernel module ${name} is not in ${modulesRoot} (needed to share the host filesystem with the guest)`);
    const b = await decompress(p);
    const vermagic = modinfoField(b, 'vermagic');
    if (vermagic && vermagic.split(' ')[0] !== release) throw new Error(`module ${name} was built for ${vermagic.split(' ')[0]}, not ${release}`);
    bytes.set(name, b);
    return b;
  };
  // resolve the closure first (async), then order it (sync)
  const deps = new Map<string, string[]>();
  const pending: string[] = [...GUEST_MODULES];
  while (pending.length) {
    const n = pending.pop()!;
    if (deps.has(n)) continue;
    const d = (modinfoField(await get(n), 'depends') ?? '')
      .split(',')
      .map((s) => s.trim().replace(/-/g, '_'))
      .filter(Boolean);
    deps.set(n, d);
    pending.push(...d);
  }
  const order = loadOrder(GUEST_MODULES, (n) => deps.get(n) ?? []);
  await mkdir(outDir, { recursive: true });
  for (const n of order) await writeFile(join(outDir, `${n}.ko`), bytes.get(n)!);
  return order;
}
