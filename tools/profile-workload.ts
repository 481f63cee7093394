import { z } from 'zod';
import { Profile, profileWorkload } from '../core/profile/profile.js';
import { CommandFields } from '../core/command.js';
import { TargetKind } from '../core/model/target.js';
import { defineTool } from './define.js';
import { reads } from './shapes.js';

export const profileWorkloadTool = defineTool({
  name: 'profile_workload',
  title: 'Profile a workload',
  description: [
    'Measure what a workload needs from the CPU scheduler: CPU time, context switches, run-queue wait, PSI, IO, task counts and the spread of per-task runtimes (what makes shortest/longest-job-first pay off).',
    'Give `command` (run it and watch it and its children), `pids` (watch them for `seconds`), or neither (the whole system).',
    'Returns tags and a fingerprint to pass to search_library.',
    `target "sandbox" runs in the sandbox VM, under whatever deploy_scx put there: measure a deployed scheduler with it. It sees this machine's filesystem read-only, so any installed program runs there.`,
    `target "host" watches this machine (a command there needs --allow-host, runs as the server's user and is recorded in scx://audit).`,
  ].join(' '),
  input: {
    target: TargetKind.default('sandbox'),
    command: z.string().min(1).max(4096).optional().describe('shell command (run with /bin/sh); any program installed on this machine'),
    ...CommandFields,
    pids: z.array(z.number().int().positive()).max(256).optional(),
    seconds: z.number().positive().max(600).default(5).describe('duration for pids/system mode'),
    timeoutS: z.number().positive().max(3600).default(120).describe('time limit for command mode'),
  },
  output: {
    target: TargetKind,
    mode: Profile.shape.mode,
    command: z.string().nullable(),
    wallMs: z.number(),
    exitCode: z.number(),
    timedOut: z.boolean(),
    cpus: z.number(),
    cpu: reads({ userMs: z.number(), sysMs: z.number(), utilisation: z.number().describe('CPU time / (wall × CPUs)') }),
    contextSwitches: reads({ voluntary: z.number(), involuntary: z.number(), perSecond: z.number() }),
    runQueue: reads({ waitMs: z.number(), waitShare: z.number().describe('time runnable but waiting / (waiting + running)') }),
    psi: reads({ available: z.boolean(), cpuSomeShare: z.number(), ioSomeShare: z.number() }),
    io: reads({ readBytes: z.number(), writeBytes: z.number() }),
    tasks: reads({
      seen: z.number(),
      maxRunnable: z.number(),
      runtimeMs: reads({ median: z.number(), max: z.number(), cv: z.number().describe("coefficient of variation of the jobs' CPU time") }),
      top: z.array(reads({ comm: z.string(), cpuMs: z.number(), waitMs: z.number() })),
    }),
    jobs: z.array(reads({ id: z.string(), work_ms: z.number() })).describe('the jobs (leaf tasks) and their CPU time'),
    tags: Profile.shape.tags,
    fingerprint: Profile.shape.fingerprint.describe('pass to search_library'),
    notes: z.array(z.string()),
  },
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
