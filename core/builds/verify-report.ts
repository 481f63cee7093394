/**
 * What verify_bpf answers: the verdict, its reasons, the verifier's numbers per program and the
 * sandbox's state. Apart from verify.ts so the scx binary path (scx-verify.ts) returns the same
 * shape without importing the verifier it is called from.
 */
import { z } from 'zod';
import { SandboxResult } from '../sandbox/results.js';
import type { SessionOptions } from '../sandbox/session.js';

export const ProgramStats = z.object({
  name: z.string(),
  verifiedInsns: z.number().nullable().describe('instructions the verifier processed (veristat\'s "insns")'),
  totalStates: z.number().nullable().describe('verifier states explored (veristat\'s "states")'),
  peakStates: z.number().nullable().describe('most states kept at once (veristat\'s "peak states")'),
  maxStatesPerInsn: z.number().nullable(),
  verificationTimeUs: z.number().nullable().describe('time the verifier took for this program (under emulation: slow, compare only within one machine)'),
  stackDepth: z.number().nullable().describe('deepest stack frame, bytes (of 512)'),
  xlatedBytes: z.number().nullable(),
  jitedBytes: z.number().nullable(),
});
export type ProgramStats = z.infer<typeof ProgramStats>;

export const VerifyReport = z.object({
  buildId: z.string(),
  verdict: z.enum(['pass', 'fail']),
  reasons: z.array(z.string()).describe('why it failed, or what passed'),
  programs: z.array(ProgramStats),
  stressSeconds: z.number(),
  sandbox: SandboxResult,
  lostAttempt: z
    .string()
    .optional()
    .describe("a first attempt the emulator's own fault took down (an int3 on a kernel patch site under TCG): verified again in a fresh VM"),
});
export type VerifyReport = z.infer<typeof VerifyReport>;

export interface VerifyOptions extends SessionOptions {
  stressSeconds?: number;
  onProgress?: (message: string, step: number, total: number) => void;
}

/** One verification in one VM: the reasons it failed (none: it passed) and the sandbox's result. */
export interface VerifyAttempt {
  reasons: string[];
  programs: ProgramStats[];
  result: SandboxResult;
  lostAttempt?: string;
}

/**
 * Verify once; when the emulator's own fault took the VM down (SandboxResult.emulatorFault), not
 * the scheduler, verify once more in a fresh VM, keeping the first attempt's error. The same fault
 * twice fails the verification, saying it was the emulator's both times.
 */
export async function attemptTwiceOnEmulatorFault(attempt: () => Promise<VerifyAttempt>, opts: VerifyOptions): Promise<VerifyAttempt> {
  const first = await attempt();
  if (!first.result.emulatorFault) return first;
  const lost = first.result.error?.message ?? first.result.emulatorFault;
  opts.onProgress?.(`the emulator took the VM down (${first.result.emulatorFault}): verifying again in a fresh VM`, 0, 5);
  const again = await attempt();
  if (again.result.emulatorFault)
    again.reasons.push("the VM died of the emulator's own fault twice (an int3 on a kernel patch site under TCG): run verify_bpf again");
  return { ...again, lostAttempt: lost };
}
