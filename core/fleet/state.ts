/**
 * A rollout as it is kept on disk: <state dir>/rollouts/<id>/state.json, rewritten (atomically) after
 * every step, so status and abort work from another process and after a restart of the server, and
 * an interrupted rollout can be resumed where it stopped.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MonitorConfig } from '../monitor/rules.js';
import { stateDir } from '../paths.js';
import { ScxError } from '../errors.js';
import { BuildId } from '../model/names.js';

export const RolloutOptions = z.object({
  buildId: BuildId,
  inventory: z.string().min(1).describe('path of an Ansible inventory (INI or YAML) on the machine running scx-mcp'),
  limit: z.string().default('all').describe('an Ansible host pattern within the inventory'),
  canary: z
    .union([z.number().int().min(1), z.array(z.string()).min(1)])
    .default(1)
    .describe('how many hosts (the first in inventory order), or which, get the build first'),
  batchSize: z.number().int().min(1).default(5).describe('hosts per batch after the canary'),
  soakS: z.number().min(0).max(86_400).default(60).describe('seconds every touched host must stay healthy before the next batch'),
  pollS: z.number().min(1).max(600).default(10).describe('how often the hosts are observed while soaking'),
  maxFailures: z.number().int().min(0).default(0).describe('circuit breaker: the rollout halts when more hosts than this have failed or regressed'),
  monitor: MonitorConfig.omit({ hook: true }).prefault({}).describe('the monitor on every host: rules, SLO probe, interval, baseline samples'),
  runAs: z.string().min(1).default('nobody').describe('whom the SLO probe runs as on each host (scx-mcp --run-as)'),
  remoteDir: z
    .string()
    .regex(/^\/[\w./-]+$/)
    .default('/var/tmp/scx-fleet')
    .describe("where each host keeps the build, the monitor's events and scx-mcp state"),
  deployTimeoutS: z.number().int().min(10).max(3600).default(300),
});
export type RolloutOptions = z.infer<typeof RolloutOptions>;
export type RolloutInput = z.input<typeof RolloutOptions>;

export const HostPhase = z.enum(['pending', 'checked', 'deploying', 'deployed', 'regressed', 'failed', 'rolled_back']);
export type HostPhase = z.infer<typeof HostPhase>;

export const TimelineEntry = z.object({
  at: z.string(),
  t: z.number().describe('seconds since the rollout started'),
  host: z.string().optional(),
  batch: z.number().optional().describe('0 = canary'),
  event: z.string(),
  detail: z.string().default(''),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const HostState = z.object({
  name: z.string(),
  phase: HostPhase,
  batch: z.number().nullable(),
  kernel: z.string().optional(),
  reason: z.string().optional(),
  baseline: z.record(z.string(), z.number()).optional(),
  last: z.record(z.string(), z.number()).optional(),
  monitorEvents: z.array(z.object({ kind: z.string(), message: z.string(), at: z.string().optional() })).default([]),
  audit: z.array(z.record(z.string(), z.unknown())).default([]),
  state: z.string().optional().describe('sched_ext state at the last look'),
  recorded: z.string().optional().describe('id of the history record made for this host'),
});
export type HostState = z.infer<typeof HostState>;

export const RolloutStatusName = z.enum(['running', 'completed', 'halted', 'failed', 'aborting', 'aborted']);

export const RolloutState = z.object({
  id: z.string(),
  status: RolloutStatusName,
  build: z.object({
    id: z.string(),
    name: z.string(),
    entry: z.string().optional(),
    version: z.number().optional(),
    params: z.record(z.string(), z.union([z.number(), z.boolean()])).default({}),
  }),
  options: RolloutOptions,
  batches: z.array(z.array(z.string())),
  /** -1: preflight not done; otherwise the batch being deployed or soaked. */
  batchIndex: z.number(),
  failures: z.number(),
  reason: z.string().optional(),
  owner: z.object({ pid: z.number(), since: z.string() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  hosts: z.record(z.string(), HostState),
  timeline: z.array(TimelineEntry),
  playbooks: z.array(z.object({ playbook: z.string(), hosts: z.array(z.string()), ms: z.number(), exitCode: z.number().nullable() })).default([]),
});
export type RolloutState = z.infer<typeof RolloutState>;

export function rolloutsDir(): string {
  return join(stateDir(), 'rollouts');
}

export function rolloutDir(id: string): string {
  if (!/^r-[a-z0-9-]{6,40}$/.test(id)) throw new ScxError('BAD_INPUT', `"${id}" is not a rollout id`, 'pass the rolloutId that rollout_scx returned (r-…)');
  return join(rolloutsDir(), id);
}

export function newRolloutId(): string {
  return `r-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
}

export async function saveRollout(s: RolloutState): Promise<void> {
  s.updatedAt = new Date().toISOString();
  const dir = rolloutDir(s.id);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(s, null, 2), { mode: 0o600 });
  await rename(tmp, join(dir, 'state.json'));
}

export async function loadRollout(id: string): Promise<RolloutState> {
  const f = join(rolloutDir(id), 'state.json');
  if (!existsSync(f)) throw new ScxError('OBJECT_MISSING', `no rollout ${id} in ${rolloutsDir()}`, 'rollout_status without an id lists the rollouts');
  return RolloutState.parse(JSON.parse(await readFile(f, 'utf8')));
}

export async function listRollouts(): Promise<RolloutState[]> {
  const names = await readdir(rolloutsDir()).catch(() => [] as string[]);
  const out: RolloutState[] = [];
  for (const n of names) {
    try {
      out.push(await loadRollout(n));
    } catch {
      // not a rollout (or half-written by a crashed process): skip it
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Whether the process that runs this rollout is alive (else it was interrupted and can be resumed). */
export function ownerAlive(s: RolloutState): boolean {
  if (!s.owner) return false;
  try {
    process.kill(s.owner.pid, 0);
    return true;
  } catch {
    return false;
  }
}
