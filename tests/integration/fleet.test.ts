/**
 * A fleet, for real: three sandbox VMs (the sched_ext kernel, one vCPU each, the host's filesystem)
 * with ssh on loopback-forwarded ports, driven by ansible-core through the project's playbooks.
 * The FIFO library build goes to a canary (h1), then to the rest (h2, h3). On h3 the operator's SLO
 * probe fails under sched_ext (a marker file there stands for "this host's workload suffers"): its
 * monitor rolls it back, the rollout rolls it back too and halts (threshold 0). Then
 * `scx-mcp rollout status` and `scx-mcp rollout abort`, run as new processes (the state comes from
 * disk, as after a restart), show the halt and restore every host. The audit log on each host and
 * the library history show what happened.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../core/paths.js';
import { SandboxSession } from '../../core/sandbox/session.js';
import { buildScheduler } from '../../core/builds/build.js';
import { verifyBuild } from '../../core/builds/verify.js';
import { LibraryStore } from '../../core/library/store.js';
import { planRollout, runRollout } from '../../core/fleet/rollout.js';
import { kernel } from '../helpers.js';

const dir = join(repoRoot, '.scx-work', `fleet-${randomBytes(4).toString('hex')}`);
const saved = { state: process.env.SCX_MCP_STATE, lib: process.env.SCX_MCP_LIBRARY };
const HOSTS = ['h1', 'h2', 'h3'] as const;
const base = 22_000 + Math.floor(Math.random() * 2000) * 3;
const port = (i: number) => base + i;
const key = join(dir, 'id_ed25519');
const MARKER = '/tmp/scx-fleet-test-regress';
const PROBE = `if [ "$(cat /sys/kernel/sched_ext/state)" = enabled ] && [ -e ${MARKER} ]; then echo "this host's workload suffers under sched_ext" >&2; exit 1; fi; echo 5`;

function ssh(i: number, cmd: string): string {
  return execFileSync(
    'ssh',
    ['-i', key, '-p', String(port(i)), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', cmd],
    { encoding: 'utf8', timeout: 120_000 },
  );
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(repoRoot, 'dist/server/cli.js'), ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a fleet of three sandbox VMs through Ansible', () => {
  const vms: SandboxSession[] = [];
  let buildId = '';
  let inventory = '';
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    process.env.SCX_MCP_STATE = join(dir, 'state');
    process.env.SCX_MCP_LIBRARY = join(dir, 'library');
    const t0 = Date.now();
    const rec = await buildScheduler({
      source: readFileSync(join(repoRoot, 'library/fifo/fifo.bpf.c'), 'utf8'),
      fileName: 'fifo.bpf.c',
      origin: { kind: 'library', entry: 'fifo', version: 1 },
      paramSpecs: JSON.parse(readFileSync(join(repoRoot, 'library/fifo/entry.json'), 'utf8')).params,
      kernel: await kernel(),
    } as Parameters<typeof buildScheduler>[0]);
    expect(rec.ok).toBe(true);
    const v = await verifyBuild(rec.id, { stressSeconds: 1 });
    expect(v.verdict, v.reasons.join('; ')).toBe('pass');
    buildId = rec.id;
    console.log(`build ${buildId} verified in ${Date.now() - t0} ms`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const t1 = Date.now();
    vms.push(...(await Promise.all(HOSTS.map((_, i) => SandboxSession.start({ sshPort: port(i), cpus: 1, memoryMb: 768 })))));
    await Promise.all(vms.map((s) => s.startSsh(readFileSync(`${key}.pub`, 'utf8'))));
    console.log(`3 VMs booted with ssh in ${Date.now() - t1} ms`);
    await vms[2]!.vm.run(`touch ${MARKER}`, { timeoutMs: 60_000, what: 'mark h3' });
    inventory = join(dir, 'inventory.ini');
    writeFileSync(
      inventory,
      [
        '[fleet]',
        ...HOSTS.map((h, i) => `${h} ansible_host=127.0.0.1 ansible_port=${port(i)}`),
        '[fleet:vars]',
        'ansible_user=root',
        `ansible_ssh_private_key_file=${key}`,
        // the test fleet's host keys are made at boot: no checking them
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
        // dropbear has no sftp-server, and scp speaks sftp nowadays: files go through dd over ssh
        'ansible_ssh_transfer_method=piped',
        'ansible_python_interpreter=/usr/bin/python3',
        '',
      ].join('\n'),
    );
  }, 600_000);
  afterAll(async () => {
    await Promise.all(vms.map((s) => s.finish().catch(() => undefined)));
    if (saved.state === undefined) delete process.env.SCX_MCP_STATE;
    else process.env.SCX_MCP_STATE = saved.state;
    if (saved.lib === undefined) delete process.env.SCX_MCP_LIBRARY;
    else process.env.SCX_MCP_LIBRARY = saved.lib;
    rmSync(dir, { recursive: true, force: true });
  });

  it('canary, then the rest; the regressing host rolls back and halts the rollout; abort restores every host', { timeout: 1_200_000 }, async () => {
    const library = await LibraryStore.open({ dir: join(dir, 'library') });
    const t0 = Date.now();
    const planned = await planRollout({
      buildId,
      inventory,
      canary: 1,
      batchSize: 2,
      soakS: 15,
      pollS: 5,
      maxFailures: 0,
      runAs: 'nobody',
      monitor: {
        intervalMs: 1000,
        baselineSamples: 2,
        probe: { command: PROBE, timeoutS: 20, maxFailures: 2 },
        workload: { name: 'fleet test: probe latency' },
      },
    });
    expect(planned.batches).toEqual([['h1'], ['h2', 'h3']]);
    const lines: string[] = [];
    const s = await runRollout(planned.id, {
      onEvent: (e) => {
        const l = `${e.t.toFixed(1).padStart(6)} s  ${(e.host ?? '-').padEnd(3)} ${e.event}${e.detail ? `: ${e.detail}` : ''}`;
        lines.push(l);
        console.log(l);
      },
      recordResult: (r) => library.recordResult(r),
    });
    console.log(`rollout ${s.id}: ${s.status} after ${Date.now() - t0} ms — ${s.reason}`);
    expect(s.status, s.reason).toBe('halted');
    expect(s.hosts.h1!.phase).toBe('deployed');
    expect(s.hosts.h2!.phase).toBe('deployed');
    expect(s.hosts.h3!.phase).toBe('regressed');
    expect(s.hosts.h3!.reason).toMatch(/probe|regression/);
    const ev = (host: string, event: string) => s.timeline.findIndex((e) => e.host === host && e.event === event);
    expect(ev('h1', 'deployed')).toBeGreaterThan(-1);
    expect(ev('h1', 'deployed')).toBeLessThan(ev('h2', 'deployed'));
    expect(ev('h3', 'regressed')).toBeLessThan(ev('h3', 'rolled_back'));
    expect(s.timeline.at(-1)?.event === 'halted' || s.timeline.some((e) => e.event === 'halted')).toBe(true);
    // what the hosts run now: the canary and h2 keep fifo (halted, not aborted); h3 is back at the kernel default
    expect(ssh(0, 'cat /sys/kernel/sched_ext/state; cat /sys/kernel/sched_ext/root/ops').trim().split('\n')).toEqual(['enabled', 'fifo']);
    expect(ssh(2, 'cat /sys/kernel/sched_ext/state').trim()).toBe('disabled');

    // a new process (as after a restart of the server) reads the rollout from disk, then aborts it
    const st = await cli(['rollout', 'status', s.id]);
    expect(JSON.parse(st.stdout).status).toBe('halted');
    const t1 = Date.now();
    const ab = await cli(['rollout', 'abort', s.id]);
    console.log(`abort in ${Date.now() - t1} ms\n${ab.stderr}`);
    const aborted = JSON.parse(ab.stdout) as {
      status: string;
      hosts: { name: string; phase: string }[];
      timeline: { t: number; host?: string; event: string; detail: string }[];
    };
    expect(aborted.status).toBe('aborted');
    for (const e of aborted.timeline.slice(s.timeline.length))
      lines.push(`${e.t.toFixed(1).padStart(6)} s  ${(e.host ?? '-').padEnd(3)} ${e.event}${e.detail ? `: ${e.detail}` : ''}`);
    expect(aborted.hosts.map((h) => h.phase)).toEqual(['rolled_back', 'rolled_back', 'rolled_back']);
    for (let i = 0; i < 3; i++) expect(ssh(i, 'cat /sys/kernel/sched_ext/state').trim(), HOSTS[i]).toBe('disabled');

    // the audit log on each host: the deploy by the monitor, and the rollbacks (h3: the monitor's probe rule first)
    const audit = HOSTS.map((_, i) =>
      ssh(i, 'cat /run/scx-mcp/audit.jsonl')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    for (const [i, a] of audit.entries()) {
      console.log(
        `${HOSTS[i]} audit: ${a.map((x) => `${String(x.kind ?? x.action ?? x.event)}${x.trigger ? `(${JSON.stringify(x.trigger)})` : ''}`).join(', ')}`,
      );
      expect(JSON.stringify(a)).toMatch(/deploy/);
      expect(JSON.stringify(a)).toMatch(/rollback/);
    }
    expect(JSON.stringify(audit[2])).toMatch(/monitor/);

    // the library history: one result per host of the rollout, h3 regressed
    const db = JSON.parse(readFileSync(join(dir, 'library', 'db.json'), 'utf8')) as {
      history: { entry: string; outcome: string; note?: string; workload: { description?: string } }[];
    };
    const ours = db.history.filter((h) => h.note?.includes(s.id));
    console.log(ours.map((h) => `${h.workload.description}: ${h.outcome}`).join('\n'));
    expect(ours).toHaveLength(3);
    expect(ours.find((h) => h.note!.includes(' on h3:'))?.outcome).toBe('regressed');
    expect(ours.every((h) => h.entry === 'fifo')).toBe(true);
    writeFileSync(join(repoRoot, '.scx-work', 'fleet-timeline.txt'), `${lines.join('\n')}\n`);
    console.log(`timeline:\n${lines.join('\n')}`);
  });
});
