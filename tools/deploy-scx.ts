import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { MonitorConfig } from '../core/monitor/rules.js';
import { TargetKind } from '../core/model/target.js';
import { defineTool } from './define.js';
import { DeploymentOut, hintsParam, MonitorStatusOut, TargetStatusOut } from './shapes.js';
import { BuildId } from '../core/model/names.js';

export const deployScxTool = defineTool({
  name: 'deploy_scx',
  title: 'Deploy a verified scheduler',
  description: [
    'Load a build that passed verify_bpf onto a target and keep it running, replacing the one running (remembered for rollback).',
    '`sandbox` (default): a long-lived VM to run workloads in (profile_workload target "sandbox").',
    '`host`: this machine; only when its kernel has sched_ext, the server runs as root and was started with --allow-host.',
    'A monitor watches every deployment (unless `monitor` is false): after a baseline, run-queue wait, PSI, context switches and your optional SLO `probe`.',
    'It rolls back when the kernel ejects the scheduler, when the probe regresses or keeps failing, or on a rule with action "rollback"; the default run-queue rule only alerts (its baseline is the machine before the switch, often idle). Status: scx://monitor/<target>.',
  ].join(' '),
  input: {
    buildId: BuildId,
    target: TargetKind.default('sandbox'),
    monitor: z
      .union([
        z.literal(false),
        MonitorConfig.extend({ hook: MonitorConfig.shape.hook.describe('set by the operator (scx-mcp serve --monitor-hook); refused here') }),
      ])
      .default({} as never)
      .describe('monitor settings, or false for none'),
    hints: hintsParam('sjf, ljf, hybrid'),
  },
  output: {
    target: TargetKind,
    deployed: DeploymentOut,
    replaced: DeploymentOut.nullable(),
    status: TargetStatusOut,
    monitor: MonitorStatusOut.nullable(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async handle(input, ctx) {
    if (input.monitor !== false && input.monitor.hook !== undefined) {
      throw new ScxError(
        'BAD_INPUT',
        'monitor.hook runs a command on the machine that runs the server, so an MCP client cannot set it',
        'leave hook out; the operator sets one for every deployment with scx-mcp serve --monitor-hook CMD (or scx-mcp monitor --config)',
      );
    }
    await ctx.progress(`deploying ${input.buildId} to ${input.target}`);
    let monitor = null;
    let replaced = (await ctx.engines.targets.status(input.target)).current;
    if (input.monitor === false) {
      ctx.engines.stopMonitor(input.target);
      replaced = (await ctx.engines.targets.deploy(input.buildId, input.target, { hints: input.hints, actor: ctx.actor })).replaced;
    } else {
      await ctx.progress('sampling a baseline before the switch');
      monitor = await ctx.engines.deployMonitored(input.buildId, input.target, input.monitor, { hints: input.hints, actor: ctx.actor });
    }
    const status = await ctx.engines.targets.status(input.target);
    const r = { status, replaced };
    const deployed = r.status.current!;
    return {
      structured: { target: input.target, deployed, replaced: r.replaced, status: r.status, monitor },
      summary:
        `${deployed.name} (${deployed.buildId}) is running on ${input.target}` +
        `${r.replaced ? `, replacing ${r.replaced.name}` : ', replacing the kernel default'}; sched_ext state ${r.status.schedExt?.state}. ` +
        'Measure with profile_workload (same target), then record_result; rollback undoes it.',
    };
  },
});
