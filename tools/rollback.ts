import { z } from 'zod';
import { TargetKind } from '../core/model/target.js';
import { defineTool } from './define.js';
import { DeploymentOut, TargetStatusOut } from './shapes.js';

export const rollbackTool = defineTool({
  name: 'rollback',
  title: 'Roll back a target',
  description: 'Go back to the previously deployed scheduler, or straight to the kernel default, on a target. Idempotent: at the default it does nothing.',
  input: {
    target: TargetKind.default('sandbox'),
    to: z.enum(['previous', 'default']).default('default'),
  },
  output: {
    target: TargetKind,
    changed: z.boolean(),
    from: DeploymentOut.nullable(),
    to: DeploymentOut.nullable().describe('null = kernel default'),
    status: TargetStatusOut,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handle(input, ctx) {
    ctx.engines.stopMonitor(input.target);
    const r = await ctx.engines.targets.rollback(input.target, input.to, { actor: ctx.actor, trigger: 'tool' });
    return {
      structured: { target: input.target, changed: r.changed, from: r.from, to: r.to, status: r.status },
      summary: r.changed
        ? `${input.target}: ${r.from?.name ?? 'kernel default'} → ${r.to?.name ?? 'kernel default'}; sched_ext state ${r.status.schedExt?.state}.`
        : `${input.target} already runs the kernel default; nothing to do.`,
    };
  },
});
