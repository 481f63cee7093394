/**
 * Compiling a BPF scheduler with clang against the target kernel's vmlinux.h.
 * Diagnostics come back structured ({file, line, column, severity, message}).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { ScxError } from '../errors.js';
import type { KernelInfo } from '../kernel/fetch.js';
import { bpfIncludeDirs } from './includes.js';

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning' | 'note';
  message: string;
}

export interface CompileResult {
  ok: boolean;
  object: string;
  diagnostics: Diagnostic[];
  durationMs: number;
  command: string[];
}

const CLANG_CANDIDATES = ['clang-19', 'clang-20', 'clang-18', 'clang'];

let clangPath: string | undefined;
export async function findClang(): Promise<string> {
  if (clangPath) return clangPath;
  for (const c of [process.env.SCX_MCP_CLANG, ...CLANG_CANDIDATES].filter(Boolean) as string[]) {
    const r = await execa(c, ['--version'], { reject: false });
    if (r.exitCode === 0) return (clangPath = c);
  }
  throw new ScxError(
    'TOOL_MISSING',
    'clang was not found (tried ' + CLANG_CANDIDATES.join(', ') + ')',
    'run `npm run setup`, or set SCX_MCP_CLANG to a clang that supports -target bpf',
  );
}

/** Parse clang's `file:line:col: severity: message` lines. */
export function parseClangDiagnostics(stderr: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const re = /^(.+?):(\d+):(\d+): (error|warning|note|fatal error): (.*)$/;
  for (const line of stderr.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const sev = m[4] === 'fatal error' ? 'error' : (m[4] as Diagnostic['severity']);
    out.push({ file: m[1]!, line: Number(m[2]), column: Number(m[3]), severity: sev, message: m[5]! });
  }
  return out;
}

export interface CompileOptions {
  source: string;
  out: string;
  kernel: KernelInfo;
  includeDirs?: string[];
  defines?: Record<string, string>;
}

export async function compileBpf(opts: CompileOptions): Promise<CompileResult> {
  if (!existsSync(opts.source)) {
    throw new ScxError('OBJECT_MISSING', `BPF source not found: ${opts.source}`, 'pass the path of an existing .bpf.c file');
  }
  const clang = await findClang();
  await mkdir(dirname(opts.out), { recursive: true });
  const args = [
    '-g',
    '-O2',
    '-target',
    'bpf',
    '-D__TARGET_ARCH_x86',
    '-mcpu=v3',
    '-Wall',
    ...bpfIncludeDirs(opts.includeDirs).flatMap((d) => ['-I', d]),
    // the kernel's generated headers are system headers: their warnings are not the scheduler's
    '-isystem',
    opts.kernel.dir,
    ...Object.entries(opts.defines ?? {}).map(([k, v]) => `-D${k}=${v}`),
    '-c',
    opts.source,
    '-o',
    opts.out,
  ];
  const t0 = performance.now();
  const r = await execa(clang, args, { reject: false });
  return {
    ok: r.exitCode === 0,
    object: opts.out,
    diagnostics: parseClangDiagnostics(r.stderr),
    durationMs: Math.round(performance.now() - t0),
    command: [clang, ...args],
  };
}
