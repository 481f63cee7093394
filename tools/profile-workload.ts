import { z } from 'zod';
import { Profile, profileWorkload } from '../core/profile/profile.js';
import { CommandFields } from '../core/command.js';
import { TargetKind } from '../core/model/target.js';
import { defineTool } from './define.js';

export const profileWorkloadTool = defineTool({
  name: 'profile_workload',
  title: 'Profile a workload',
  description: [
    'Measure what a workload needs from the CPU scheduler: CPU time, context switches, run-queue wait (schedstat), PSI, IO,',
    'task counts and the spread of per-task runtimes (which is what makes shortest/longest-job-first pay off).',
    'Give `command` (run it and watch it and its children), `pids` (watch them for `seconds`), or neither (the whole system for `seconds`).',
    'Returns tags (cpu-bound, io-heavy, latency-sensitive, uneven-jobs, batch, many-short-tasks) and a fingerprint to pass to search_library.',
    'target "sandbox" runs inside the sandbox VM (under whatever scheduler deploy_scx put there) — use it to measure a deployed scheduler.',
    'target "host" watches this machine (running a command there needs --allow-host; it runs as the user who started the server, not root, and is recorded in scx://audit).',
    "The sandbox guest sees this machine's filesystem read-only (writes to /tmp, $HOME and `cwd`/`writable` stay in the VM), so any installed program runs there: your build, test suite, interpreter, database.",
  ].join(' '),
  input: {
    target: TargetKind.default('sandbox'),
    command: z.string().min(1).max(4096).optional().describe('shell command (run with /bin/sh); any program installed on this machine'),
    ...CommandFields,
    pids: z.array(z.number().int().positive()).max(256).optional(),
    seconds: z.number().positive().max(600).default(5).describe('duration for pids/system mode'),
    timeoutS: z.number().positive().max(3600).default(120).describe('time limit for command mode'),
  },
  output: Profile.shape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(input, ctx) {
    await ctx.progress(`profiling ${input.command ?? (input.pids ? `pids ${input.pids.join(',')}` : 'the whole system')} on ${input.target}`);
    const p = await profileWorkload(
      {
        target: input.target,
        command: input.command,
        cwd: input.cwd,
        env: input.env,
        writable: input.writable,
        pids: input.pids,
        systemSeconds: input.seconds,
        timeoutS: input.timeoutS,
      },
      ctx.engines.targets,
      ctx.actor,
    );
    return {
      structured: p,
      summary:
        `${p.wallMs.toFixed(0)} ms wall, CPU utilisation ${(p.cpu.utilisation * 100).toFixed(0)} % of ${p.cpus} CPUs, ` +
        `${p.tasks.seen} tasks (runtime median ${p.tasks.runtimeMs.median.toFixed(0)} ms, max ${p.tasks.runtimeMs.max.toFixed(0)} ms, CV ${p.tasks.runtimeMs.cv.toFixed(2)}), ` +
        `run-queue wait ${(p.runQueue.waitShare * 100).toFixed(0)} %. Tags: ${p.tags.join(', ') || 'none'}. Exit status ${p.exitCode}.`,
    };
  },
});
