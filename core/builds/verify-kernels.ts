/**
 * Verification on several kernels, the way sched-ext/scx's CI runs a kernel matrix: a build is
 * loaded, stressed and unloaded on each kernel it will meet (the sandbox's, a Debian release's,
 * this host's own), and keeps a verdict and the verifier's numbers per kernel. kfuncs and the
 * verifier differ between releases: a build that loads on 7.3 can fail to link on 7.2.
 */
import { ScxError } from '../errors.js';
import { ensureKernel, type KernelInfo } from '../kernel/fetch.js';
import { ensureHostKernel } from '../kernel/host.js';
import type { LoadFailure } from '../loader/failure.js';
import { verifyBuild, type ProgramStats, type VerifyOptions, type VerifyReport } from './verify.js';

/** "sandbox" (the default sandbox kernel), "host" (this machine's own kernel), or a Debian release. */
export const KERNEL_SPEC = /^(sandbox|host|\d+\.\d+(\.\d+)?[A-Za-z0-9.+~-]*)$/;

export interface KernelVerdict {
  spec: string;
  kernel: string;
  verdict: 'pass' | 'fail';
  reasons: string[];
  programs: ProgramStats[];
  loadFailure: LoadFailure | null;
}

export async function resolveKernelSpec(spec: string, sandboxKernel: KernelInfo, log?: (s: string) => void): Promise<KernelInfo> {
  if (!KERNEL_SPEC.test(spec))
    throw new ScxError('BAD_INPUT', `"${spec}" is not a kernel: give "sandbox", "host" or a Debian release such as 7.2.12+deb13-amd64`);
  if (spec === 'sandbox') return sandboxKernel;
  if (spec === 'host') return ensureHostKernel({ log });
  return ensureKernel({ release: spec, log });
}

/** Verify on each kernel in turn (one throwaway VM each); the build records every verdict. */
export async function verifyOnKernels(
  buildId: string,
  specs: string[],
  sandboxKernel: KernelInfo,
  opts: VerifyOptions = {},
): Promise<{ verdict: 'pass' | 'fail'; kernels: KernelVerdict[]; reports: VerifyReport[] }> {
  const wanted = [...new Set(specs.length ? specs : ['sandbox'])];
  const kernels: KernelVerdict[] = [];
  const reports: VerifyReport[] = [];
  for (const spec of wanted) {
    const kernel = await resolveKernelSpec(spec, sandboxKernel, opts.log);
    const r = await verifyBuild(buildId, { ...opts, kernel });
    reports.push(r);
    kernels.push({ spec, kernel: kernel.release, verdict: r.verdict, reasons: r.reasons, programs: r.programs, loadFailure: r.sandbox.loadFailure ?? null });
  }
  return { verdict: kernels.every((k) => k.verdict === 'pass') ? 'pass' : 'fail', kernels, reports };
}
