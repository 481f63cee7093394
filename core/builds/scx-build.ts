/**
 * A build of an scx binary entry: no compilation and no .bpf.o, but the same build record as a
 * BPF build (so verify_bpf, deploy_scx, rollback and the benchmarks take its buildId): origin
 * kind "scx" with the binary and its arguments, checked against the options of the binary's
 * --help. The id is a content hash of kernel, binary, version and arguments, so the same request
 * is the same build. <build dir>/<crate>.cmd holds the command line.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScxError } from '../errors.js';
import type { LibraryEntry } from '../model/entry.js';
import { buildPaths, getBuild, saveBuild, type BuildRecord } from './build.js';
import { requireScx, scxArgs } from '../scx/catalog.js';
import { sha256Hex } from '../model/hash.js';

export function isScxBuild(rec: BuildRecord): boolean {
  return rec.origin.kind === 'scx';
}

/** The binary and arguments of an scx build (throws for any other build). */
export function scxCommand(rec: BuildRecord): { binary: string; args: string[]; opsName: string } {
  if (rec.origin.kind !== 'scx' || !rec.origin.binary) throw new ScxError('BAD_INPUT', `build ${rec.id} is not an scx binary build`);
  return { binary: rec.origin.binary, args: rec.origin.args ?? [], opsName: rec.name };
}

export async function buildScxEntry(input: { entry: LibraryEntry; params?: Record<string, unknown>; kernel: { release: string } }): Promise<BuildRecord> {
  const e = input.entry;
  if (e.kind !== 'scx' || !e.scx) throw new ScxError('BAD_INPUT', `${e.name} is not an scx binary entry`);
  const { binary, version, params } = requireScx(e);
  const { args, applied } = scxArgs(params, input.params ?? {});
  // ParamSpec-typed records keep numbers and booleans; a string option is in the arguments only
  const numeric = Object.fromEntries(Object.entries(applied).filter(([, v]) => typeof v !== 'string')) as Record<string, number | boolean>;
  const id = sha256Hex(['scx', input.kernel.release, binary, version, ...args].join('\0'), 12);
  const paths = buildPaths(id);
  const origin = { kind: 'scx' as const, entry: e.name, version: e.version, binary, binaryVersion: version, args };
  if (existsSync(paths.record)) {
    const prev = await getBuild(id);
    if (JSON.stringify(prev.origin) === JSON.stringify(origin)) return prev;
    const rec = { ...prev, origin };
    await saveBuild(rec);
    return rec;
  }
  await mkdir(paths.dir, { recursive: true });
  const fileName = `${e.scx.crate}.cmd`;
  await writeFile(
    join(paths.dir, fileName),
    [binary, ...args].map((a) => (/^[A-Za-z0-9_./=:,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ') + '\n',
  );
  const rec: BuildRecord = {
    id,
    createdAt: new Date().toISOString(),
    name: e.scx.opsName,
    fileName,
    origin,
    params: numeric,
    kernel: input.kernel.release,
    ok: true,
    stage: 'built',
    findings: [],
    diagnostics: [],
    durations: { staticMs: 0, compileMs: null },
    verification: null,
    verifications: [],
  };
  await saveBuild(rec);
  return rec;
}
