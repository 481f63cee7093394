/**
 * A verified build rolled out to many hosts through Ansible (fleet/*.yml), canary first:
 *
 *   preflight (check.yml) on every host: kernel, sched_ext, root, the build verified on that kernel
 *   → batch 0 (the canary), then batches of `batchSize`: deploy.yml copies the build (and the loader
 *     when a host has none) and starts `scx-mcp monitor` detached there, with the operator's rules
 *     and SLO probe; the monitor rolls its host back on its own on a regression or an ejection
 *   → soak: every touched host is observed (observe.yml) every `pollS` for `soakS`; a host that
 *     regressed, was ejected or stopped running the build is rolled back (rollback.yml) and counted
 *   → the circuit breaker: more than `maxFailures` such hosts halts the rollout (no new batch);
 *     `abortRollout` rolls back every host the rollout touched.
 *
 * The state is on disk after every step (state.ts). Per-host results go into the library history
 * (a build of a library entry only: an agent's own source has no entry to learn for).
 */
import { z } from 'zod';
import { ScxError } from '../errors.js';
import { getBuild, buildPaths, requireVerified, type BuildRecord } from '../builds/build.js';
import { loaderDir } from '../sandbox/image.js';
import { repoRoot } from '../paths.js';
import type { HistoryInput } from '../library/history.js';
import { inventoryHosts, runPlaybook, type HostReport, type PlaybookName } from './ansible.js';
import {
  loadRollout,
  newRolloutId,
  ownerAlive,
  rolloutDir,
  RolloutOptions,
  saveRollout,
  type HostState,
  type RolloutInput,
  type RolloutState,
  type TimelineEntry,
} from './state.js';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

export interface RolloutHooks {
  /** Every timeline entry as it happens (the MCP tool turns them into progress notifications). */
  onEvent?: (e: TimelineEntry, s: RolloutState) => void;
  /** Where per-host results are recorded (the library store's recordResult). */
  recordResult?: (r: HistoryInput) => Promise<{ id: string }>;
}

const BAD_EVENTS = new Set(['regression', 'rollback', 'scheduler_exit']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Rollout {
  private preempted = false;
  constructor(
    private s: RolloutState,
    private readonly hooks: RolloutHooks,
  ) {}

  get state(): RolloutState {
    return this.s;
  }

  async event(event: string, detail = '', host?: string, batch?: number): Promise<void> {
    const e: TimelineEntry = {
      at: new Date().toISOString(),
      t: Math.round((Date.now() - Date.parse(this.s.createdAt)) / 100) / 10,
      event,
      detail,
      ...(host ? { host } : {}),
      ...(batch !== undefined ? { batch } : {}),
    };
    this.s.timeline.push(e);
    if (this.s.status === 'running' && this.preempted === false) {
      // an abort (another process or tool call) rewrote the state: never write over it
      const disk = await loadRollout(this.s.id).catch(() => null);
      if (disk && disk.status !== 'running') this.preempted = true;
    }
    if (!this.preempted) await saveRollout(this.s);
    try {
      this.hooks.onEvent?.(e, this.s);
    } catch {
      // a listener's failure is not the rollout's
    }
  }

  private vars(rec: BuildRecord): Record<string, unknown> {
    const o = this.s.options;
    const { hook: _h, ...monitor } = o.monitor as typeof o.monitor & { hook?: string };
    return {
      scx: {
        build_id: rec.id,
        stage_script: join(rolloutDir(this.s.id), `stage-${rec.id}.sh`),
        verified_kernels: (rec.verifications ?? []).filter((v) => v.verdict === 'pass').map((v) => v.kernel),
        node: process.execPath,
        cli: join(repoRoot, 'dist', 'server', 'cli.js'),
        loader_dir: loaderDir(),
        fleet_dir: o.remoteDir,
        run_as: o.runAs,
        deploy_timeout_s: o.deployTimeoutS,
        monitor_b64: Buffer.from(JSON.stringify(monitor)).toString('base64'),
      },
    };
  }

  private async play(playbook: PlaybookName, hosts: string[], rec: BuildRecord): Promise<Record<string, HostReport>> {
    const r = await runPlaybook({ playbook, inventory: this.s.options.inventory, hosts, vars: this.vars(rec), workDir: rolloutDir(this.s.id) });
    this.s.playbooks.push({ playbook, hosts, ms: r.ms, exitCode: r.exitCode });
    return r.hosts;
  }

  /** Re-read the state on disk: an abort from another process (or tool call) wins. */
  private async stopped(): Promise<boolean> {
    if (this.preempted) {
      this.s = await loadRollout(this.s.id);
      return true;
    }
    const disk = await loadRollout(this.s.id);
    if (disk.status !== 'running') {
      this.s = disk;
      return true;
    }
    return false;
  }

  private touched(): string[] {
    return Object.values(this.s.hosts)
      .filter((h) => h.batch !== null && h.phase !== 'pending' && h.phase !== 'checked')
      .map((h) => h.name);
  }

  private async fail(h: HostState, phase: 'regressed' | 'failed', reason: string, rec: BuildRecord): Promise<void> {
    h.phase = phase;
    h.reason = reason;
    this.s.failures++;
    await this.event(phase === 'regressed' ? 'regressed' : 'failed', reason, h.name, h.batch ?? undefined);
    const rb = await this.play('rollback', [h.name], rec);
    const r = rb[h.name]!;
    if (r.ok) h.phase = phase; // stays regressed/failed: the host runs the kernel default again
    await this.event(
      r.ok ? 'rolled_back' : 'rollback_failed',
      r.ok ? `sched_ext ${String(r.before)} → ${String(r.after)}${r.changed ? '' : ' (the monitor had already rolled it back)'}` : String(r.error ?? ''),
      h.name,
      h.batch ?? undefined,
    );
    await this.record(h, phase === 'regressed' ? 'regressed' : 'failed', reason);
  }

  private async record(h: HostState, outcome: 'regressed' | 'failed' | undefined, note: string): Promise<void> {
    if (h.recorded || !this.hooks.recordResult) return;
    const b = this.s.build;
    if (!b.entry) return;
    const probe = this.s.options.monitor.probe;
    const metrics = h.last ?? {};
    const input: HistoryInput = {
      entry: b.entry,
      version: b.version,
      buildId: b.id,
      params: b.params,
      target: 'host',
      workload: {
        name: this.s.options.monitor.workload?.name ?? `fleet rollout ${this.s.id}`,
        description: `host ${h.name} (kernel ${h.kernel ?? '?'}), batch ${h.batch}`,
        ...(this.s.options.monitor.workload?.fingerprint ? { fingerprint: this.s.options.monitor.workload.fingerprint } : {}),
      },
      metrics,
      baseline: h.baseline,
      ...(probe && 'probe' in metrics && h.baseline && 'probe' in h.baseline ? { primary: 'probe', better: { probe: probe.better } } : {}),
      ...(outcome ? { outcome } : Object.keys(metrics).length === 0 ? { outcome: 'neutral' as const } : {}),
      note: `fleet rollout ${this.s.id} on ${h.name}: ${note}`,
    };
    try {
      h.recorded = (await this.hooks.recordResult(input)).id;
      await this.event('recorded', `history ${h.recorded}${outcome ? ` (${outcome})` : ''}`, h.name, h.batch ?? undefined);
    } catch (e) {
      await this.event('record_failed', (e as Error).message, h.name);
    }
  }

  private absorb(h: HostState, r: HostReport): void {
    const events = Array.isArray(r.events) ? (r.events as { kind: string; message: string; at?: string; metrics?: Record<string, number> }[]) : [];
    if (events.length) h.monitorEvents = events.map((e) => ({ kind: e.kind, message: e.message, at: e.at }));
    const base = events.find((e) => e.kind === 'baseline');
    if (base?.metrics) h.baseline = base.metrics;
    const last = Array.isArray(r.lastSample) ? (r.lastSample as { metrics?: Record<string, number> }[])[0] : undefined;
    if (last?.metrics) h.last = last.metrics;
    if (Array.isArray(r.audit)) h.audit = r.audit as Record<string, unknown>[];
    if (typeof r.state === 'string') h.state = r.state;
  }

  /** What is wrong with a deployed host, from its observation; null when healthy. */
  private problem(h: HostState, r: HostReport): { phase: 'regressed' | 'failed'; why: string } | null {
    if (!r.ok) return { phase: 'failed', why: `cannot observe the host: ${r.error ?? 'no report'}` };
    const bad = h.monitorEvents.filter((e) => BAD_EVENTS.has(e.kind));
    if (bad.length) {
      const exit = bad.find((e) => e.kind === 'scheduler_exit');
      const first = bad.find((e) => e.kind === 'regression') ?? exit ?? bad[0]!;
      return { phase: exit && !bad.some((e) => e.kind === 'regression') ? 'failed' : 'regressed', why: `monitor: ${first.kind}: ${first.message}` };
    }
    if (r.state !== 'enabled') return { phase: 'failed', why: `sched_ext is ${String(r.state)}, the build is no longer running` };
    if (!r.monitorAlive) return { phase: 'failed', why: `the monitor is gone: ${String(r.monitorErr ?? '').slice(-300)}` };
    return null;
  }

  private breakerOpen(): boolean {
    return this.s.failures > this.s.options.maxFailures;
  }

  async halt(reason: string): Promise<void> {
    this.s.status = 'halted';
    this.s.reason = reason;
    this.s.owner = null;
    await this.event('halted', reason);
  }

  /** Observe every touched, deployed host; roll back and count the ones in trouble. */
  private async observe(rec: BuildRecord, batch: number): Promise<void> {
    const live = this.touched().filter((n) => this.s.hosts[n]!.phase === 'deployed');
    if (!live.length) return;
    const reports = await this.play('observe', live, rec);
    for (const n of live) {
      const h = this.s.hosts[n]!;
      const r = reports[n]!;
      this.absorb(h, r);
      const p = this.problem(h, r);
      if (p) await this.fail(h, p.phase, p.why, rec);
    }
    await this.event(
      'observed',
      live.map((n) => `${n}: ${this.s.hosts[n]!.phase === 'deployed' ? `healthy (${this.s.hosts[n]!.state})` : this.s.hosts[n]!.phase}`).join(', '),
      undefined,
      batch,
    );
  }

  async run(): Promise<RolloutState> {
    const rec = await getBuild(this.s.build.id);
    await stageScript(rolloutDir(this.s.id), rec.id);
    this.s.owner = { pid: process.pid, since: new Date().toISOString() };
    this.s.status = 'running';
    await saveRollout(this.s);
    if (this.s.batchIndex < 0) {
      const all = Object.keys(this.s.hosts);
      await this.event('preflight', `check.yml on ${all.length} hosts`);
      const reports = await this.play('check', all, rec);
      const bad: string[] = [];
      for (const n of all) {
        const h = this.s.hosts[n]!;
        const r = reports[n]!;
        if (typeof r.kernel === 'string') h.kernel = r.kernel;
        let why = r.ok ? '' : String(r.error ?? 'check failed');
        if (r.ok) {
          try {
            requireVerified(rec, String(r.kernel), 'host');
          } catch (e) {
            why = (e as Error).message;
          }
        }
        if (why) {
          h.reason = why;
          bad.push(`${n}: ${why}`);
          await this.event('check_failed', why, n);
        } else {
          h.phase = 'checked';
          await this.event(
            'checked',
            `kernel ${String(r.kernel)}, sched_ext ${String(r.schedExt)}, uid ${String(r.uid)}, node ${String(r.node)}, loader ${r.loaderPresent ? 'present' : 'to copy'}`,
            n,
          );
        }
      }
      if (bad.length) {
        this.s.status = 'failed';
        this.s.reason = `preflight failed on ${bad.length} of ${all.length} hosts; nothing was deployed: ${bad.join('; ')}`;
        this.s.owner = null;
        await this.event('failed', this.s.reason);
        return this.s;
      }
      this.s.batchIndex = 0;
      await saveRollout(this.s);
    }
    const o = this.s.options;
    for (let bi = this.s.batchIndex; bi < this.s.batches.length; bi++) {
      if (await this.stopped()) return this.s;
      this.s.batchIndex = bi;
      const todo = this.s.batches[bi]!.filter((n) => ['checked', 'deploying'].includes(this.s.hosts[n]!.phase));
      for (const n of todo) {
        this.s.hosts[n]!.phase = 'deploying';
        this.s.hosts[n]!.batch = bi;
      }
      await this.event('batch', `${bi === 0 ? 'canary' : `batch ${bi}`}: ${todo.join(', ')}`, undefined, bi);
      if (todo.length) {
        const reports = await this.play('deploy', todo, rec);
        for (const n of todo) {
          const h = this.s.hosts[n]!;
          const r = reports[n]!;
          if (r.ok) {
            h.phase = 'deployed';
            await this.event(
              'deployed',
              `sched_ext ${String(r.state)} (${String(r.ops)}), monitor pid ${String(r.pid)}, baseline and load took ${String(r.waitedS)} s`,
              n,
              bi,
            );
          } else {
            await this.fail(h, 'failed', `deploy failed: ${String(r.error ?? '')}`, rec);
          }
        }
      }
      if (this.breakerOpen()) {
        await this.halt(`${this.s.failures} host(s) failed or regressed (threshold ${o.maxFailures}): ${this.failedList()}`);
        return this.s;
      }
      const until = Date.now() + o.soakS * 1000;
      await this.event('soak', `${o.soakS} s, observing every ${o.pollS} s`, undefined, bi);
      do {
        await sleep(Math.max(0, Math.min(o.pollS * 1000, until - Date.now())));
        if (await this.stopped()) return this.s;
        await this.observe(rec, bi);
        if (this.breakerOpen()) {
          await this.halt(`${this.s.failures} host(s) failed or regressed (threshold ${o.maxFailures}): ${this.failedList()}`);
          await this.recordHealthy('the rollout halted; this host was healthy');
          return this.s;
        }
      } while (Date.now() < until);
    }
    this.s.status = 'completed';
    this.s.owner = null;
    await this.event('completed', `${this.touched().filter((n) => this.s.hosts[n]!.phase === 'deployed').length} hosts run ${this.s.build.name}`);
    await this.recordHealthy('healthy through the whole rollout');
    return this.s;
  }

  private failedList(): string {
    return Object.values(this.s.hosts)
      .filter((h) => h.phase === 'regressed' || h.phase === 'failed')
      .map((h) => `${h.name} (${h.reason})`)
      .join('; ');
  }

  private async recordHealthy(note: string): Promise<void> {
    for (const n of this.touched()) {
      const h = this.s.hosts[n]!;
      if (h.phase === 'deployed') await this.record(h, undefined, note);
    }
    await saveRollout(this.s);
  }

  async abort(): Promise<RolloutState> {
    const rec = await getBuild(this.s.build.id);
    const hosts = this.touched().filter((n) => this.s.hosts[n]!.phase !== 'rolled_back');
    this.s.status = 'aborting';
    await this.event('abort', hosts.length ? `rolling back ${hosts.join(', ')}` : 'no host was touched');
    if (hosts.length) {
      const reports = await this.play('rollback', hosts, rec);
      for (const n of hosts) {
        const h = this.s.hosts[n]!;
        const r = reports[n]!;
        if (r.ok) h.phase = 'rolled_back';
        h.state = typeof r.after === 'string' ? r.after : h.state;
        await this.event(
          r.ok ? 'rolled_back' : 'rollback_failed',
          r.ok ? `sched_ext ${String(r.before)} → ${String(r.after)}${r.changed ? '' : ' (already at the kernel default)'}` : String(r.error ?? ''),
          n,
          h.batch ?? undefined,
        );
      }
    }
    const left = hosts.filter((n) => this.s.hosts[n]!.phase !== 'rolled_back');
    this.s.status = 'aborted';
    this.s.owner = null;
    this.s.reason = left.length ? `abort could not roll back ${left.join(', ')}` : `aborted; every touched host (${hosts.length}) runs the kernel default`;
    await this.event('aborted', this.s.reason);
    return this.s;
  }
}

/**
 * The build as a self-extracting shell script (its tar in base64 in a here-document), which
 * Ansible's script module sends through the connection (dd over ssh with transfer method piped)
 * and runs: no python on the host (python's start on a small host, or one whose filesystem is
 * slow, dominated a deploy with the copy module), no command-line length limit.
 */
export async function stageScript(dir: string, id: string): Promise<string> {
  const tar = execFileSync('tar', ['-cf', '-', '-C', buildPaths(id).dir, 'build.json', 'scheduler.bpf.o'], { maxBuffer: 256 * 1024 * 1024 });
  const b64 = tar.toString('base64').replace(/(.{76})/g, '$1\n');
  const file = join(dir, `stage-${id}.sh`);
  await writeFile(
    file,
    [
      '#!/bin/sh',
      `# Stage build ${id} (build.json, scheduler.bpf.o) under $1/state/builds/${id}; made by core/fleet for one rollout.`,
      'set -e',
      `d="$1/state/builds/${id}"`,
      'mkdir -p "$d"',
      `base64 -d > "$1/build-${id}.tar" <<'SCX_BUILD_EOF'`,
      b64,
      'SCX_BUILD_EOF',
      `tar -xf "$1/build-${id}.tar" -C "$d"`,
      `echo "staged ${id}: $(wc -c < "$d/scheduler.bpf.o") bytes"`,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
  return file;
}

/** Plan batches: the canary first (a count of hosts in inventory order, or named hosts), then the rest in batches. */
export function planBatches(hosts: string[], canary: number | string[], batchSize: number): string[][] {
  const c = Array.isArray(canary) ? canary : hosts.slice(0, canary);
  const unknown = c.filter((h) => !hosts.includes(h));
  if (unknown.length) throw new ScxError('BAD_INPUT', `canary host(s) not in the inventory: ${unknown.join(', ')}`, `hosts: ${hosts.join(', ')}`);
  const rest = hosts.filter((h) => !c.includes(h));
  const batches = [c];
  for (let i = 0; i < rest.length; i += batchSize) batches.push(rest.slice(i, i + batchSize));
  return batches;
}

/** Plan a rollout and persist it (status running, nothing touched yet); `runRollout` then carries it out. */
export async function planRollout(input: RolloutInput): Promise<RolloutState> {
  const o = RolloutOptions.parse(input);
  o.inventory = resolve(o.inventory); // ansible runs in fleet/
  if ((input.monitor as { hook?: unknown } | undefined)?.hook !== undefined) throw new ScxError('BAD_INPUT', "a rollout's monitor takes no hook");
  const rec = await getBuild(o.buildId);
  if (!rec.ok) throw new ScxError('BAD_INPUT', `build ${rec.id} did not build`);
  if (!(rec.verifications ?? []).some((v) => v.verdict === 'pass'))
    throw new ScxError(
      'BAD_INPUT',
      `build ${rec.id} has not passed verify_bpf on any kernel`,
      `run verify_bpf {"buildId":"${rec.id}"} (and with "kernels":[…] for the fleet's kernels)`,
    );
  const hosts = await inventoryHosts(o.inventory, o.limit);
  if (!hosts.length) throw new ScxError('BAD_INPUT', `no hosts in ${o.inventory} match "${o.limit}"`);
  const batches = planBatches(hosts, o.canary, o.batchSize);
  const now = new Date().toISOString();
  const s: RolloutState = {
    id: newRolloutId(),
    status: 'running',
    build: { id: rec.id, name: rec.name, entry: rec.origin.entry, version: rec.origin.version, params: rec.params },
    options: o,
    batches,
    batchIndex: -1,
    failures: 0,
    owner: null,
    createdAt: now,
    updatedAt: now,
    hosts: Object.fromEntries(hosts.map((h) => [h, { name: h, phase: 'pending', batch: null, monitorEvents: [], audit: [] } satisfies HostState])),
    timeline: [],
    playbooks: [],
  };
  await saveRollout(s);
  return s;
}

/** Carry out (or resume, after a restart) a planned rollout until it completes, halts, fails or is aborted. */
export async function runRollout(id: string, hooks: RolloutHooks = {}): Promise<RolloutState> {
  const s = await loadRollout(id);
  if (s.status !== 'running') throw new ScxError('BAD_INPUT', `rollout ${id} is ${s.status}; only a running one can be resumed`);
  if (s.owner && s.owner.pid !== process.pid && ownerAlive(s)) throw new ScxError('BAD_INPUT', `rollout ${id} is being carried out by process ${s.owner.pid}`);
  return new Rollout(s, hooks).run();
}

/** Roll back every host the rollout touched, whatever its status (a running rollout stops at its next step). */
export async function abortRollout(id: string, hooks: RolloutHooks = {}): Promise<RolloutState> {
  const s = await loadRollout(id);
  if (s.status === 'aborted' && Object.values(s.hosts).every((h) => h.phase !== 'deployed')) return s;
  return new Rollout(s, hooks).abort();
}

export const RolloutSummary = z.object({
  id: z.string(),
  status: z.string(),
  build: z.string(),
  reason: z.string().nullable(),
  batches: z.array(z.array(z.string())),
  hosts: z.array(
    z.object({
      name: z.string(),
      phase: z.string(),
      batch: z.number().nullable(),
      kernel: z.string().nullable(),
      state: z.string().nullable(),
      reason: z.string().nullable(),
      recorded: z.string().nullable(),
    }),
  ),
  interrupted: z.boolean().describe('running, but the process carrying it out is gone: resume it or abort it'),
});

export function summarize(s: RolloutState): z.infer<typeof RolloutSummary> {
  return {
    id: s.id,
    status: s.status,
    build: `${s.build.name} (${s.build.id})`,
    reason: s.reason ?? null,
    batches: s.batches,
    hosts: Object.values(s.hosts).map((h) => ({
      name: h.name,
      phase: h.phase,
      batch: h.batch,
      kernel: h.kernel ?? null,
      state: h.state ?? null,
      reason: h.reason ?? null,
      recorded: h.recorded ?? null,
    })),
    interrupted: s.status === 'running' && s.batchIndex >= 0 && !ownerAlive(s),
  };
}
