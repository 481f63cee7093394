/** What the targets part speaks: a deployment, a target's status, and the Backend each target kind implements. */
import { z } from 'zod';
import { JobHints } from '../job-hints.js';
import type { Actor } from './audit.js';
import type { SchedExtState, StepResult } from '../sandbox/results.js';
import type { BuildRecord } from '../builds/build.js';
import { TargetKind } from '../model/target.js';

export const Deployment = z.object({
  buildId: z.string(),
  name: z.string(),
  since: z.string(),
  hints: JobHints.optional().describe('job hints fed into its job_hints map (scx-job-hints)'),
});
export type Deployment = z.infer<typeof Deployment>;

export const TargetStatus = z.object({
  target: TargetKind,
  available: z.boolean(),
  reason: z.string().describe('why the target is or is not available'),
  kernel: z.string().nullable(),
  current: Deployment.nullable().describe('the scheduler scx-mcp deployed that is running now; null = kernel default'),
  previous: z.array(Deployment.nullable()).describe('what ran before, most recent last; null = kernel default'),
  schedExt: z.object({ state: z.string(), ops: z.string().nullable() }).nullable(),
});
export type TargetStatus = z.infer<typeof TargetStatus>;

export const HINTS_NEED_LOADER = 'job hints need the Rust loader (scx-job-hints), which is not built: run npm run setup';

/** One target kind: the sandbox VM (sandbox.ts) or this machine (host.ts). */
export interface Backend {
  kernel(): string | null;
  state(): Promise<SchedExtState>;
  load(build: BuildRecord, hints?: JobHints): Promise<{ ok: boolean; error?: string; step?: StepResult }>;
  unload(): Promise<void>;
  run(command: string, timeoutS: number, actor: Actor): Promise<{ exitCode: number; stdout: string; stderr: string; wallMs: number }>;
  close(): Promise<void>;
}
