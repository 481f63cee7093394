import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { abortRollout, planRollout, runRollout, summarize } from '../core/fleet/rollout.js';
import { listRollouts, loadRollout, RolloutOptions, TimelineEntry } from '../core/fleet/state.js';
import { defineTool, type ToolContext } from './define.js';
import { RolloutOut, TimelineOut } from './shapes.js';

const line = (e: z.infer<typeof TimelineEntry>) => `${e.t}s ${e.host ?? 'rollout'}: ${e.event}${e.detail ? ` — ${e.detail}` : ''}`;

/**
 * A rollout touches many machines with the operator's ssh keys: like --allow-host for this machine,
 * the operator opts in, here with SCX_MCP_ALLOW_FLEET=1 in the server's environment. (The CLI's
 * `scx-mcp rollout` is the operator at a shell and needs no opt-in.)
 */
function requireFleetOptIn(): void {
  if (process.env.SCX_MCP_ALLOW_FLEET !== '1') {
    throw new ScxError(
      'BAD_INPUT',
      'fleet rollouts are off in this server',
      'the operator starts the server with SCX_MCP_ALLOW_FLEET=1 to let MCP clients roll out and abort (or runs scx-mcp rollout start|abort at a shell)',
    );
  }
}

function hooks(ctx: ToolContext) {
  return {
    onEvent: (e: z.infer<typeof TimelineEntry>, s: { timeline: unknown[] }) => void ctx.progress(line(e), s.timeline.length),
    recordResult: async (r: Parameters<Awaited<ReturnType<ToolContext['engines']['library']>>['recordResult']>[0]) =>
      (await ctx.engines.library()).recordResult(r),
  };
}

export const rolloutScxTool = defineTool({
  name: 'rollout_scx',
  title: 'Roll a verified scheduler out to a fleet (Ansible)',
  description: [
    'Roll a build that passed verify_bpf out to the hosts of an Ansible inventory (playbooks in fleet/).',
    'Preflight on every host (kernel, sched_ext, root, the build verified on its kernel: verify_bpf `kernels`); nothing is deployed if a host fails it.',
    'Then the canary, then batches: each host gets the build and a detached monitor with your `monitor` rules and probe, which rolls it back on a regression or an ejection;',
    'after each batch the touched hosts must stay healthy for `soakS`, and more than `maxFailures` failed hosts halt the rollout.',
    'Needs the server started with SCX_MCP_ALLOW_FLEET=1. Per-host results go into the library history. rollout_status shows the state (kept on disk), rollout_abort rolls back.',
  ].join(' '),
  input: {
    ...RolloutOptions.partial({ buildId: true, inventory: true }).shape,
    resume: z.string().optional().describe('the id of an interrupted rollout to carry on (the other fields are then ignored)'),
  },
  output: { rollout: RolloutOut, timeline: TimelineOut },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handle(input, ctx) {
    requireFleetOptIn();
    let id = input.resume;
    if (!id) {
      const { resume: _r, ...rest } = input;
      if (!rest.buildId || !rest.inventory) throw new ScxError('BAD_INPUT', 'buildId and inventory are needed (or resume)');
      const s = await planRollout(rest as z.input<typeof RolloutOptions>);
      id = s.id;
      await ctx.progress(`rollout ${id}: ${s.batches.map((b, i) => `${i === 0 ? 'canary' : `batch ${i}`} [${b.join(', ')}]`).join(' → ')}`);
    }
    const s = await runRollout(id, hooks(ctx));
    const sum = summarize(s);
    return {
      structured: { rollout: sum, timeline: s.timeline },
      summary:
        `rollout ${s.id} of ${sum.build}: ${s.status}${s.reason ? ` — ${s.reason}` : ''}. ` +
        sum.hosts.map((h) => `${h.name} ${h.phase}`).join(', ') +
        '.' +
        (s.status === 'halted' ? ' rollout_abort rolls back the hosts still running it.' : ''),
    };
  },
});

export const rolloutStatusTool = defineTool({
  name: 'rollout_status',
  title: 'Status of fleet rollouts',
  description:
    "A rollout's status, per host (phase, batch, kernel, sched_ext state, why it failed, its history record) and its timeline; without an id, every rollout kept in the state directory. Read from disk, so it works after a restart and while another process carries the rollout out.",
  input: { rolloutId: z.string().optional() },
  output: { rollouts: z.array(RolloutOut), timeline: TimelineOut.nullable() },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(input) {
    if (input.rolloutId) {
      const s = await loadRollout(input.rolloutId);
      const sum = summarize(s);
      return {
        structured: { rollouts: [sum], timeline: s.timeline },
        summary: `${s.id}: ${s.status}${sum.interrupted ? ' (interrupted: resume or abort it)' : ''}${s.reason ? ` — ${s.reason}` : ''}\n${s.timeline.map(line).join('\n')}`,
      };
    }
    const all = (await listRollouts()).map(summarize);
    return {
      structured: { rollouts: all, timeline: null },
      summary: all.length ? all.map((r) => `${r.id}: ${r.status}, ${r.build}, ${r.hosts.length} hosts`).join('\n') : 'no rollouts',
    };
  },
});

export const rolloutAbortTool = defineTool({
  name: 'rollout_abort',
  title: 'Abort a fleet rollout',
  description:
    'Roll back every host the rollout touched to the kernel default (through Ansible: the monitor stopped, scx-mcp rollback on each host), whatever its status; a rollout still running stops at its next step.',
  input: { rolloutId: z.string() },
  output: { rollout: RolloutOut, timeline: TimelineOut },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async handle(input, ctx) {
    requireFleetOptIn();
    const s = await abortRollout(input.rolloutId, hooks(ctx));
    return { structured: { rollout: summarize(s), timeline: s.timeline }, summary: `${s.id}: ${s.status} — ${s.reason ?? ''}` };
  },
});
