import type { StepResult } from '../sandbox/results.js';
import type { SandboxSession } from '../sandbox/session.js';

/**
 * The stress run of a verification: CPU hogs, then a message-passing storm, under the loaded scheduler.
 * Adds to `reasons` why it failed (ejected, the workload failed, the scheduler no longer enabled).
 */
export async function stressRun(session: SandboxSession, stress: number, reasons: string[]): Promise<StepResult> {
  const run = await session.step({
    kind: 'run',
    timeoutS: stress + 120,
    label: `stress ${stress} s`,
    command: `stress-ng --cpu 4 --timeout ${stress}s --quiet && hackbench -g 4 -l 100`,
  });
  if (run.exit)
    reasons.push(`ejected by the kernel during the stress run: ${run.exit.reason}${run.exit.message ? ` (${run.exit.message.split('\n')[0]})` : ''}`);
  else if (!run.ok) reasons.push(`stress workload failed: ${run.error ?? `status ${run.exitCode}`}`);
  else if (run.state?.state !== 'enabled') reasons.push(`scheduler no longer enabled after the stress run (state ${run.state?.state})`);
  return run;
}
