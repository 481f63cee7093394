/** Shared set-up for integration tests: the real kernel, real clang builds of templates and fixtures. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureKernel, type KernelInfo } from '../core/kernel/fetch.js';
import { repoRoot } from '../core/paths.js';
import { compileBpf } from '../core/toolchain/compile.js';
import type { MonitorStatus } from '../core/monitor/rules.js';

let kernelP: Promise<KernelInfo> | undefined;
export function kernel(): Promise<KernelInfo> {
  return (kernelP ??= ensureKernel());
}

const outDir = mkdtempSync(join(tmpdir(), 'scx-test-'));

/** Compile a BPF source (path relative to the repo) and return the object path; throws with diagnostics on failure. */
export async function build(relSource: string): Promise<string> {
  const source = join(repoRoot, relSource);
  const out = join(outDir, basename(source).replace(/\.c$/, '.o'));
  const r = await compileBpf({ source, out, kernel: await kernel() });
  if (!r.ok) throw new Error(`${relSource} failed to compile:\n${r.diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n')}`);
  return out;
}

export { outDir };

/** Poll a monitor's status until its timeline has an event of `kind`, or `timeoutMs` passed; the last status either way. */
export async function waitFor(status: () => MonitorStatus, kind: string, timeoutMs: number): Promise<MonitorStatus> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const s = status();
    if (s.timeline.some((e) => e.kind === kind)) return s;
    await new Promise((r) => setTimeout(r, 500));
  }
  return status();
}
