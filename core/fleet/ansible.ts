/**
 * The engine that reaches the hosts: ansible-core (from PyPI, in a venv under the cache, set up by
 * scripts/setup.sh) running the project's playbooks in fleet/. Each playbook writes one JSON report
 * per host into a results directory on the controller (fleet/tasks/report.yml); a host with no
 * report did not get that far (unreachable, or Ansible itself failed) and is reported with the tail
 * of ansible-playbook's output.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, repoRoot } from '../paths.js';
import { ScxError } from '../errors.js';

export const fleetDir = join(repoRoot, 'fleet');

export function ansibleBin(name: 'ansible-playbook' | 'ansible-inventory'): string {
  const dir = process.env.SCX_MCP_ANSIBLE ?? join(cacheDir(), 'ansible');
  const p = join(dir, 'bin', name);
  if (!existsSync(p))
    throw new ScxError(
      'TOOL_MISSING',
      `${name} is not installed (looked in ${dir}/bin)`,
      'run npm run setup (it installs ansible-core into the cache), or set SCX_MCP_ANSIBLE to a venv with ansible-core',
    );
  return p;
}

function ansibleEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ANSIBLE_CONFIG: join(fleetDir, 'ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    // the control sockets live in a short path of the controller's own (ssh limits socket paths to ~100 bytes)
    ANSIBLE_SSH_CONTROL_PATH_DIR: process.env.ANSIBLE_SSH_CONTROL_PATH_DIR ?? '/tmp/scx-ansible-cp',
  };
}

function run(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: ansibleEnv(), cwd: fleetDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The hosts of an inventory (any format Ansible reads), through ansible-inventory itself. */
export async function inventoryHosts(inventory: string, pattern = 'all'): Promise<string[]> {
  if (!existsSync(inventory)) throw new ScxError('BAD_INPUT', `no inventory at ${inventory}`, 'give the path of an Ansible inventory (INI or YAML)');
  const r = await run(ansibleBin('ansible-inventory'), ['-i', inventory, '--list', '--limit', pattern], 60_000);
  if (r.code !== 0) throw new ScxError('BAD_INPUT', `ansible-inventory cannot read ${inventory}: ${r.stderr.trim().slice(-500)}`);
  const inv = JSON.parse(r.stdout) as Record<string, { hosts?: string[]; children?: string[] }>;
  const hosts = new Set<string>();
  const walk = (g: string, seen = new Set<string>()) => {
    if (seen.has(g)) return;
    seen.add(g);
    for (const h of inv[g]?.hosts ?? []) hosts.add(h);
    for (const c of inv[g]?.children ?? []) walk(c, seen);
  };
  walk('all');
  return [...hosts];
}

export type PlaybookName = 'check' | 'deploy' | 'observe' | 'rollback';

export interface HostReport {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

export interface PlaybookRun {
  playbook: PlaybookName;
  exitCode: number | null;
  ms: number;
  /** One report per host asked for; hosts Ansible never reached get ok:false with its output's tail. */
  hosts: Record<string, HostReport>;
  /** The last lines of ansible-playbook's output (PLAY RECAP included). */
  tail: string;
}

/**
 * Run fleet/<playbook>.yml on `hosts` of the inventory, with `vars` as extra vars (a JSON file, so
 * a probe command needs no shell quoting), and collect the per-host reports.
 */
export async function runPlaybook(o: {
  playbook: PlaybookName;
  inventory: string;
  hosts: string[];
  vars: Record<string, unknown>;
  workDir: string;
  timeoutMs?: number;
}): Promise<PlaybookRun> {
  const stamp = `${o.playbook}-${Date.now()}`;
  const results = join(o.workDir, 'results', stamp);
  await mkdir(results, { recursive: true });
  const varsFile = join(o.workDir, `${stamp}.vars.json`);
  await writeFile(varsFile, JSON.stringify({ ...o.vars, scx_hosts: o.hosts.join(':'), scx_results_dir: results }), { mode: 0o600 });
  const t0 = Date.now();
  const r = await run(
    ansibleBin('ansible-playbook'),
    ['-i', o.inventory, '-e', `@${varsFile}`, '--limit', o.hosts.join(':'), join(fleetDir, `${o.playbook}.yml`)],
    o.timeoutMs ?? 900_000,
  );
  const ms = Date.now() - t0;
  const out = `${r.stdout}\n${r.stderr}`;
  await writeFile(join(o.workDir, `${stamp}.log`), out);
  const tail = out.trim().split('\n').slice(-25).join('\n');
  const hosts: Record<string, HostReport> = {};
  const files = new Set(await readdir(results).catch(() => [] as string[]));
  for (const h of o.hosts) {
    if (files.has(`${h}.json`)) {
      try {
        hosts[h] = JSON.parse(await readFile(join(results, `${h}.json`), 'utf8')) as HostReport;
        continue;
      } catch (e) {
        hosts[h] = { ok: false, error: `unreadable report: ${(e as Error).message}` };
        continue;
      }
    }
    const unreachable = new RegExp(`^${h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:.*unreachable=[1-9]`, 'm').test(out);
    const line = out
      .split('\n')
      .filter((l) => l.includes(`[${h}]`) && /fatal|UNREACHABLE|FAILED/.test(l))
      .pop();
    hosts[h] = {
      ok: false,
      error: `${unreachable ? 'unreachable' : 'no report'} (ansible-playbook exit ${r.code}): ${(line ?? tail.split('\n').slice(-3).join(' ')).slice(0, 600)}`,
    };
  }
  await rm(varsFile, { force: true });
  return { playbook: o.playbook, exitCode: r.code, ms, hosts, tail };
}
