import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { MonitorConfig, MonitorStatus } from '../core/monitor/rules.js';
import { TargetKind } from '../core/model/target.js';
import { JobHints } from '../core/targets/manager.js';
import { Deployment, TargetStatus } from '../core/targets/types.js';
import { defineTool } from './define.js';
import { BuildId } from '../core/model/names.js';

export const deployScxTool = defineTool({
  name: 'deploy_scx',
  title: 'Deploy a verified scheduler',
  description: [
    'Load a build that passed verify_bpf onto a target and keep it running.',
    '`sandbox` (default): a long-lived VM with a sched_ext kernel in which you can then run workloads (profile_workload with target "sandbox").',
    '`host`: the real machine; only when its kernel has sched_ext, the server runs as root and was started with --allow-host — refused otherwise, with the reason.',
    'One scheduler per target: the one running is replaced and remembered for rollback. Unverified or failed builds are refused.',
    'A monitor watches every deployment (unless `monitor` is false): it samples a baseline first, then run-queue wait, PSI, context switches and your optional SLO `probe`;',
    'it alerts on degradation and rolls back automatically when the kernel ejects the scheduler, when the probe regresses or keeps failing, or on rules you give with action "rollback" (status: resource scx://monitor/<target>).',
    'The default run-queue rule only alerts: its baseline is the machine before the switch, often idle, so a workload you start afterwards is not a regression.',
    'Pass monitor.workload {name, fingerprint} (from profile_workload) so a rollback is recorded against that workload and search learns from it.',
  ].join(' '),
  input: {
    buildId: BuildId,
    target: TargetKind.default('sandbox'),
    monitor: z
      .union([z.literal(false), MonitorConfig])
      .default({} as never)
      .describe('monitor settings, or false for none'),
    hints: JobHints.optional().describe(
      'for sjf, ljf, hybrid: job hints fed through scx-job-hints. Rules [{"argv": "xz * /data/big/*", "expect_ms": 30000}, {"cgroup": "/batch.slice", "expect_ms": 500}, {"pgid": 4242, "expect_ms": 80}, {"comm": "job_", "expect_ms": 40}] (argv: a glob over the command line, matched at exec; precedence argv > cgroup > pgid > sid > comm, first rule of a kind wins; optional "source") or the old {"task-name prefix": ms}; needs sched-rust built (npm run setup)',
    ),
  },
  output: {
    target: TargetKind,
    deployed: Deployment,
    replaced: Deployment.nullable(),
    status: TargetStatus,
    monitor: MonitorStatus.nullable(),
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
