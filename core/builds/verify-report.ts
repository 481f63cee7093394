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
});
export type VerifyReport = z.infer<typeof VerifyReport>;

export interface VerifyOptions extends SessionOptions {
  stressSeconds?: number;
  onProgress?: (message: string, step: number, total: number) => void;
}
