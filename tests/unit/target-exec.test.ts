/**
 * Target.exec on the host backend (real /bin/sh, real setpriv), the monitor's sample read through
 * it against a stand-in sched_ext sysfs, and the kernel-log query the monitor uses for ejections.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostBackend } from '../../core/targets/host.js';
import { HostCommands } from '../../core/targets/run-as.js';
import { exitSinceEnabled, schedulerExit } from '../../core/targets/kernel-log.js';
import { readSample, sampleScript, SAMPLE_SCRIPT } from '../../core/monitor/sampler.js';
import type { ExecOptions, ExecResult } from '../../core/targets/types.js';
import { restoreEnvAfterAll } from '../env.js';

const agent = { client: 'unit-test 1.0' };

describe('host Target.exec', () => {
  const root = mkdtempSync(join(tmpdir(), 'scx-exec-'));
  restoreEnvAfterAll('SCX_LOADER_SYSFS', 'SCX_MCP_RUN_DIR');
  beforeAll(() => {
    mkdirSync(join(root, 'sysfs', 'root'), { recursive: true });
    writeFileSync(join(root, 'sysfs', 'state'), 'enabled\n');
    writeFileSync(join(root, 'sysfs', 'root', 'ops'), 'fifo\n');
    writeFileSync(join(root, 'sysfs', 'root', 'events'), 'SCX_EV_SELECT_CPU_FALLBACK 7\n');
    process.env.SCX_LOADER_SYSFS = join(root, 'sysfs');
    process.env.SCX_MCP_RUN_DIR = join(root, 'run');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs a command with the server privileges: stdout, stderr and the exit status, unaudited', async () => {
    const host = new HostBackend();
    const r = await host.exec('echo out; echo err >&2; id -u; exit 3', { as: 'server', timeoutS: 10 });
    expect(r).toMatchObject({ exitCode: 3, stdout: `out\n${process.getuid!()}`, stderr: 'err' });
    expect(r.wallMs).toBeGreaterThan(0);
    expect(() => readFileSync(join(root, 'run', 'audit.jsonl'))).toThrow(); // nothing audited
  });

  it('a command past its time limit is killed (exit status -1)', async () => {
    const t0 = Date.now();
    const r = await new HostBackend().exec('sleep 30', { as: 'server', timeoutS: 1 });
    expect(r.exitCode).toBe(-1);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it.skipIf(process.getuid?.() !== 0)('a workload command runs as the run-as user, audited with its purpose', async () => {
    const host = new HostBackend(new HostCommands({ runAs: '65534:65534' }));
    const r = await host.exec('id -u; id -g', { as: 'user', actor: agent, purpose: 'command', timeoutS: 10 });
    expect(r).toMatchObject({ exitCode: 0, stdout: '65534\n65534' });
    const lines = readFileSync(join(root, 'run', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: 'host_command', purpose: 'command', command: 'id -u; id -g', uid: 65534, actor: agent });
    const n = lines.length;
    await host.exec('true', { as: 'user', actor: agent, purpose: 'monitor_probe', audit: false, timeoutS: 10 });
    expect(
      readFileSync(join(root, 'run', 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n').length,
    ).toBe(n); // a repeat: not logged again
  });

  it("the monitor's sample reads the target's own sched_ext sysfs through exec", async () => {
    const host = new HostBackend();
    expect(host.schedExtSysfs).toBe(join(root, 'sysfs'));
    expect(sampleScript('/sys/kernel/sched_ext')).toBe(SAMPLE_SCRIPT);
    expect(sampleScript(host.schedExtSysfs)).not.toContain('/sys/kernel/sched_ext');
    const s = await readSample(host, undefined, agent, 1234);
    expect(s).toMatchObject({ tMs: 1234, state: 'enabled', ops: 'fifo', events: { SCX_EV_SELECT_CPU_FALLBACK: 7 }, probe: null });
    expect(s.ctxt).toBeGreaterThan(0);
  });

  it.skipIf(process.getuid?.() !== 0)('the probe runs as a workload command: its number, or why there is none', async () => {
    const host = new HostBackend(new HostCommands({ runAs: '65534:65534' }));
    const probe = (command: string) => ({ command, timeoutS: 5, maxFailures: 3, better: 'lower' as const });
    expect((await readSample(host, probe('echo "Time: $(id -u).5"'), agent, 0)).probe).toBe(65534.5);
    expect((await readSample(host, probe('exit 2'), agent, 0)).probeError).toBe('probe exited with status 2');
    expect((await readSample(host, probe('echo none'), agent, 0)).probeError).toBe('probe printed no number');
  });
});

describe('kernel log: why a scheduler was disabled', () => {
  const dmesg = [
    '[   10.100000] sched_ext: BPF scheduler "time_bomb" enabled',
    '[   12.000000] sched_ext: BPF scheduler "time_bomb" disabled (runtime error)',
    '[   12.000100] sched_ext: time_bomb: scx_bpf_error (old run)',
    '[   20.000000] sched_ext: BPF scheduler "fifo" enabled',
    '[   30.000000] sched_ext: BPF scheduler "fifo" disabled (unregistered from user space)',
    '[   31.000000] sched_ext: BPF scheduler "time_bomb" enabled',
  ].join('\n');

  it('an exit from an earlier run of the same scheduler is not this run’s', () => {
    expect(exitSinceEnabled(dmesg, 'time_bomb')).toBeNull();
    const later = `${dmesg}\n[   40.000000] sched_ext: BPF scheduler "time_bomb" disabled (runtime error)\n[   40.000100] sched_ext: time_bomb: time bomb went off`;
    expect(exitSinceEnabled(later, 'time_bomb')).toMatchObject({
      scheduler: 'time_bomb',
      reason: 'runtime error',
      message: 'time bomb went off',
      atSeconds: 40,
    });
    expect(exitSinceEnabled(dmesg, 'fifo')).toMatchObject({ kind: 'unregistered', atSeconds: 30 });
    expect(exitSinceEnabled(dmesg, 'rr')).toBeNull();
  });

  it('is read through the target’s exec (dmesg with the server privileges, on the monitor channel); an unreadable log says nothing', async () => {
    const calls: [string, ExecOptions][] = [];
    const fake = (stdout: string, exitCode = 0) => ({
      exec: async (command: string, o: ExecOptions): Promise<ExecResult> => {
        calls.push([command, o]);
        return { exitCode, stdout, stderr: '', wallMs: 1 };
      },
    });
    expect(await schedulerExit(fake(dmesg), 'fifo')).toMatchObject({ scheduler: 'fifo' });
    expect(calls[0]).toEqual(['dmesg', expect.objectContaining({ as: 'server', channel: 'monitor' })]);
    expect(await schedulerExit(fake(dmesg, 1), 'fifo')).toBeNull();
  });
});
