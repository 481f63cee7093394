/**
 * Builds: a scheduler source (from the library, from the agent, or a patched entry)
 * with its parameters, statically checked and compiled against the target kernel.
 * Each build lives in <cache>/builds/<id>/ with build.json, the exact source and
 * the object; the id is a content hash, so the same input is the same build.
 * verify_bpf writes its verdict into the build; deploy_scx refuses builds without a pass.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { ScxError } from '../errors.js';
import type { KernelInfo } from '../kernel/fetch.js';
import type { ParamSpec } from '../model/entry.js';
import { sha256Hex } from '../model/hash.js';
import { BUILD_ID_RE } from '../model/names.js';
import { buildsDir } from '../paths.js';
import { compileBpf, type Diagnostic } from '../toolchain/compile.js';
import { bpfIncludeDirs, projectHeaders } from '../toolchain/includes.js';
import { applyParams } from '../toolchain/params.js';
import { Finding, staticCheck } from '../toolchain/static-check.js';

export const BuildOrigin = z.object({
  kind: z.enum(['library', 'source', 'path', 'patch', 'scx']).describe('scx: a sched-ext/scx scheduler binary (core/builds/scx-build.ts), no .bpf.o'),
  entry: z.string().optional(),
  version: z.number().optional(),
  path: z.string().optional(),
  binary: z.string().optional().describe('kind scx: the installed binary it runs'),
  binaryVersion: z.string().optional().describe("kind scx: the binary's crate version"),
  args: z.array(z.string()).optional().describe('kind scx: its command-line arguments, checked against the options of its --help'),
});

export const DiagnosticSchema = z.object({
  file: z.string(),
  line: z.number(),
  column: z.number(),
  severity: z.enum(['error', 'warning', 'note']),
  message: z.string(),
});

export const Verification = z.object({
  verdict: z.enum(['pass', 'fail']),
  at: z.string(),
  kernel: z.string(),
  reasons: z.array(z.string()),
});
export type Verification = z.infer<typeof Verification>;

export const BuildRecord = z.object({
  id: z.string(),
  createdAt: z.string(),
  name: z.string().describe('ops name from the source'),
  fileName: z.string(),
  origin: BuildOrigin,
  params: z.record(z.string(), z.union([z.number(), z.boolean()])),
  kernel: z.string(),
  ok: z.boolean(),
  stage: z.enum(['static', 'compile', 'built']).describe('how far it got: stopped at static analysis, failed to compile, or built'),
  findings: z.array(Finding),
  diagnostics: z.array(DiagnosticSchema),
  durations: z.object({ staticMs: z.number(), compileMs: z.number().nullable() }),
  verification: Verification.nullable().describe('the latest verdict on the kernel the build was compiled for (or the first kernel it was verified on)'),
  verifications: z.array(Verification).default([]).describe('the latest verdict on each kernel it was verified on'),
});
export type BuildRecord = z.infer<typeof BuildRecord>;

/** Keep `v` as the build's verdict on v.kernel (one per kernel, the latest). */
export function recordVerification(rec: BuildRecord, v: Verification): void {
  rec.verifications = [...(rec.verifications ?? []).filter((x) => x.kernel !== v.kernel), v];
  if (!rec.verification || v.kernel === rec.kernel || rec.verification.kernel === v.kernel) rec.verification = v;
}

/** The build's latest verdict on `kernel` (a release), if it was verified there. */
export function verificationOn(rec: BuildRecord, kernel: string): Verification | null {
  return (rec.verifications ?? []).find((v) => v.kernel === kernel) ?? (rec.verification?.kernel === kernel ? rec.verification : null);
}

/**
 * A build that may be loaded on `kernel`: it built and passed verify_bpf on that very kernel
 * (kfuncs and the verifier differ between releases). Throws with the reason and what to do.
 */
export function requireVerified(rec: BuildRecord, kernel: string, where: 'sandbox' | 'host'): void {
  if (!rec.ok) throw new ScxError('BAD_INPUT', `build ${rec.id} did not build (stopped at ${rec.stage})`, 'fix it and build again');
  const v = verificationOn(rec, kernel);
  const elsewhere = (rec.verifications ?? []).map((x) => `${x.kernel}: ${x.verdict}`).join(', ');
  const how =
    where === 'host'
      ? `run verify_bpf {"buildId":"${rec.id}","kernels":["host"]} (boots this host's own kernel in the sandbox); only builds that pass there are deployed here`
      : `run verify_bpf {"buildId":"${rec.id}"}; only builds that pass are deployed`;
  if (!v) {
    throw new ScxError(
      'BAD_INPUT',
      `build ${rec.id} (${rec.name}) has not been verified on ${where === 'host' ? "this host's kernel" : 'the sandbox kernel'} (${kernel})${elsewhere ? `; verified on ${elsewhere}` : ''}`,
      how,
    );
  }
  if (v.verdict !== 'pass') {
    throw new ScxError(
      'BAD_INPUT',
      `build ${rec.id} (${rec.name}) failed verification on ${kernel}: ${v.reasons.join('; ')}`,
      'fix the scheduler, build and verify again',
    );
  }
}

export function buildPaths(id: string) {
  if (!BUILD_ID_RE.test(id)) throw new ScxError('BAD_INPUT', `"${id}" is not a build id`, 'pass the buildId that build_scheduler returned (12 hex characters)');
  const dir = join(buildsDir(), id);
  return { dir, record: join(dir, 'build.json'), object: join(dir, 'scheduler.bpf.o') };
}

export async function getBuild(id: string): Promise<BuildRecord> {
  const p = buildPaths(id);
  if (!existsSync(p.record)) throw new ScxError('OBJECT_MISSING', `no build ${id}`, 'build it first with build_scheduler');
  return BuildRecord.parse(JSON.parse(await readFile(p.record, 'utf8')));
}

export async function saveBuild(rec: BuildRecord): Promise<void> {
  const p = buildPaths(rec.id);
  const tmp = `${p.record}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(rec, null, 2) + '\n');
  await rename(tmp, p.record);
}

export async function buildSource(id: string, rec?: BuildRecord): Promise<string> {
  const r = rec ?? (await getBuild(id));
  return readFile(join(buildPaths(id).dir, r.fileName), 'utf8');
}

export interface BuildInput {
  source: string;
  fileName: string;
  origin: z.infer<typeof BuildOrigin>;
  params?: Record<string, number | boolean>;
  paramSpecs?: ParamSpec[];
  kernel: KernelInfo;
  includeDirs?: string[];
}

export async function buildScheduler(input: BuildInput): Promise<BuildRecord> {
  if (!/^[A-Za-z0-9_.-]+\.bpf\.c$/.test(input.fileName)) {
    throw new ScxError('BAD_INPUT', `file name "${input.fileName}" must look like name.bpf.c`);
  }
  const { source, applied } = applyParams(input.source, input.params ?? {}, input.paramSpecs);
  const id = sha256Hex(`${input.kernel.release}\0${input.fileName}\0${source}`, 12);
  const paths = buildPaths(id);
  if (existsSync(paths.record)) {
    // The same source is the same object, but the answer describes what was asked for now: an
    // entry reverted to an older text (rr v3 = rr v1) is built as v3, and record_result's
    // "new-version" must take v3 as its parent. The record keeps the latest request's origin.
    const prev = await getBuild(id);
    if (JSON.stringify(prev.origin) === JSON.stringify(input.origin)) return prev;
    const rec = { ...prev, origin: input.origin };
    await saveBuild(rec);
    return rec;
  }
  await mkdir(paths.dir, { recursive: true });
  const srcPath = join(paths.dir, input.fileName);
  await writeFile(srcPath, source);

  const t0 = performance.now();
  const findings = staticCheck(source, {
    file: input.fileName,
    targetKfuncs: input.kernel.manifest.kfuncs,
    targetKernel: input.kernel.release,
    // the headers clang will read from the same -I directories (bpf-templates/ first)
    headers: projectHeaders(source, bpfIncludeDirs(input.includeDirs)),
  });
  const staticMs = Math.round(performance.now() - t0);
  const name = /\.name\s*=\s*"([^"]*)"/.exec(source)?.[1] ?? input.fileName.replace(/\.bpf\.c$/, '');
  const rec: BuildRecord = {
    id,
    createdAt: new Date().toISOString(),
    name,
    fileName: input.fileName,
    origin: input.origin,
    params: applied,
    kernel: input.kernel.release,
    ok: false,
    stage: 'static',
    findings,
    diagnostics: [],
    durations: { staticMs, compileMs: null },
    verification: null,
    verifications: [],
  };
  if (!findings.some((f) => f.severity === 'error')) {
    const c = await compileBpf({ source: srcPath, out: paths.object, kernel: input.kernel, includeDirs: input.includeDirs });
    rec.diagnostics = c.diagnostics.map((d: Diagnostic) => ({ ...d, file: d.file.endsWith(input.fileName) ? input.fileName : d.file }));
    rec.durations.compileMs = c.durationMs;
    rec.stage = c.ok ? 'built' : 'compile';
    rec.ok = c.ok;
  }
  await saveBuild(rec);
  return rec;
}

/**
 * Build a .bpf.c file on disk (the FIFO template for `demo` and `bench:sandbox`) the way
 * build_scheduler builds it: static analysis, clang, a build id. Throws, naming the first finding
 * or compiler error, when it does not build.
 */
export async function buildFile(path: string, kernel: KernelInfo): Promise<{ record: BuildRecord; object: string }> {
  const record = await buildScheduler({ source: await readFile(path, 'utf8'), fileName: basename(path), origin: { kind: 'path', path }, kernel });
  if (!record.ok) {
    const f = record.findings.find((x) => x.severity === 'error');
    const d = record.diagnostics.find((x) => x.severity === 'error');
    const first = record.stage === 'static' ? f && `${f.file}:${f.line}: ${f.message}` : d && `${d.file}:${d.line}:${d.column}: ${d.message}`;
    throw new ScxError(
      record.stage === 'static' ? 'BAD_INPUT' : 'COMPILE_FAILED',
      `${path} ${record.stage === 'static' ? 'stops at static analysis' : 'does not compile'} (build ${record.id})${first ? `: ${first}` : ''}`,
      'fix the file (build_scheduler shows every finding), then run again',
    );
  }
  return { record, object: buildPaths(record.id).object };
}
