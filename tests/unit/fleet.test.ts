/**
 * The fleet's pieces that need no hosts: batch planning, the rollout state on disk, the role scripts'
 * JSON (run here on this machine as they run on a host), and the Kubernetes manifest against the
 * Kubernetes schemas (kubernetes-validate, from scripts/setup.sh; no cluster).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheDir, repoRoot } from '../../core/paths.js';
import { planBatches, stageScript } from '../../core/fleet/rollout.js';

const role = (r: string, f: string) => join(repoRoot, 'fleet', 'roles', r, 'files', f);

describe('fleet', () => {
  it('plans the canary first, then batches', () => {
    expect(planBatches(['a', 'b', 'c', 'd', 'e'], 1, 2)).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    expect(planBatches(['a', 'b', 'c'], ['c'], 5)).toEqual([['c'], ['a', 'b']]);
    expect(() => planBatches(['a'], ['z'], 1)).toThrow(/not in the inventory/);
  });

  it('check.sh prints one JSON object and refuses a kernel the build was not verified on', () => {
    const r = spawnSync('sh', [role('scx_check', 'check.sh'), 'no-such-kernel', process.execPath, join(repoRoot, 'dist/server/cli.js'), '/nonexistent'], {
      encoding: 'utf8',
    });
    const j = JSON.parse(r.stdout) as { ok: boolean; error: string; verified: boolean; loaderPresent: boolean };
    expect(r.status).toBe(1);
    expect(j.ok).toBe(false);
    expect(j.verified).toBe(false);
    expect(j.loaderPresent).toBe(false);
    expect(j.error).toMatch(/not verified on kernel/);
  });

  it("observe.sh reports a monitor's events (samples left out) as JSON", () => {
    const d = mkdtempSync(join(tmpdir(), 'scx-fleet-'));
    try {
      execFileSync('sh', [
        '-c',
        `printf '%s\\n' '{"kind":"baseline","message":"b","metrics":{"probe":5}}' '{"kind":"sample","message":"s","metrics":{"probe":6}}' '{"kind":"regression","message":"probe \\"x\\""}' > ${d}/monitor.jsonl`,
      ]);
      const j = JSON.parse(execFileSync('sh', [role('scx_observe', 'observe.sh'), d, 'node', 'cli'], { encoding: 'utf8' })) as {
        events: { kind: string }[];
        lastSample: { metrics: { probe: number } }[];
        monitorAlive: boolean;
      };
      expect(j.events.map((e) => e.kind)).toEqual(['baseline', 'regression']);
      expect(j.lastSample[0]!.metrics.probe).toBe(6);
      expect(j.monitorAlive).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("deploy.sh starts the monitor with the loader it was given (the host's own, or the copy), whatever the cache", () => {
    const d = mkdtempSync(join(tmpdir(), 'scx-fleet-'));
    try {
      // a stand-in for `node cli.js monitor`: it reports where it would look for the loader, then waits to be stopped
      const cli = join(d, 'monitor.sh');
      writeFileSync(cli, `printf '{"kind":"deployed","loader":"%s","cache":"%s"}\\n' "$SCX_MCP_LOADER_DIR" "\${SCX_MCP_CACHE:-default}"; sleep 30\n`);
      const r = spawnSync(
        'sh',
        [role('scx_deploy', 'deploy.sh'), d, 'abcdef012345', Buffer.from('{}').toString('base64'), 'sh', cli, '/opt/x/release', 'nobody', '10'],
        {
          encoding: 'utf8',
          env: { ...process.env, SCX_MCP_CACHE: '' },
        },
      );
      const j = JSON.parse(r.stdout) as { ok: boolean; pid: number };
      try {
        expect(j.ok).toBe(true);
        expect(JSON.parse(readFileSync(join(d, 'monitor.jsonl'), 'utf8'))).toEqual({ kind: 'deployed', loader: '/opt/x/release', cache: 'default' });
      } finally {
        spawnSync('kill', [String(j.pid)]);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the stage script carries the build to a host byte for byte (no python there)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'scx-fleet-'));
    const saved = process.env.SCX_MCP_STATE;
    try {
      process.env.SCX_MCP_STATE = join(d, 'controller');
      const id = 'abcdef012345';
      const src = join(d, 'controller', 'builds', id);
      mkdirSync(src, { recursive: true });
      const obj = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
      writeFileSync(join(src, 'scheduler.bpf.o'), obj);
      writeFileSync(join(src, 'build.json'), '{"id":"abcdef012345"}');
      const script = await stageScript(d, id);
      const out = execFileSync('sh', [script, join(d, 'host')], { encoding: 'utf8' });
      expect(out).toMatch(/staged abcdef012345: 70000 bytes/);
      expect(readFileSync(join(d, 'host', 'state', 'builds', id, 'scheduler.bpf.o')).equals(obj)).toBe(true);
      expect(readFileSync(join(d, 'host', 'state', 'builds', id, 'build.json'), 'utf8')).toBe('{"id":"abcdef012345"}');
    } finally {
      if (saved === undefined) delete process.env.SCX_MCP_STATE;
      else process.env.SCX_MCP_STATE = saved;
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the DaemonSet manifest passes the Kubernetes schemas (strict)', () => {
    const bin = join(cacheDir(), 'ansible', 'bin', 'kubernetes-validate');
    const r = spawnSync(bin, ['--strict', join(repoRoot, 'fleet/k8s/scx-daemonset.yaml')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/daemonset\/scx-scheduler.*passed|passed.*daemonset\/scx-scheduler/);
  });
});
