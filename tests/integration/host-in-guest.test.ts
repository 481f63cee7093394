/**
 * The host path, for real: the sandbox boots with the host's filesystem, and inside it, as root on
 * a real sched_ext kernel, this project's own server runs with --allow-host (node and the checkout
 * come through the share), driven over stdio by an MCP client in the guest on target "host":
 * profile_workload, deploy_scx through scx-loader with parameters and with job hints, the monitor
 * rolling back a harmful scheduler on its own, rollback, a scheduler that outlives its server's
 * client, a second server that finds the first one's loader by its pid file and unloads it, and
 * refusal while a scheduler scx-mcp did not start is active (guest/host-scenario.mjs).
 *
 * The builds are made and verified here (verify_bpf's engine, in its own sandbox VMs) into a state
 * directory the guest sees; the guest server's own writes stay in the guest.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDir, repoRoot } from '../../core/paths.js';
import { SandboxSession } from '../../core/sandbox/session.js';
import { compileBpf } from '../../core/toolchain/compile.js';
import { buildScheduler } from '../../core/builds/build.js';
import { verifyBuild } from '../../core/builds/verify.js';
import { kernel } from '../helpers.js';

const dir = join(repoRoot, '.scx-work', `host-in-guest-${randomBytes(4).toString('hex')}`);
const saved = process.env.SCX_MCP_STATE;
const src = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

describe('the host path on a real sched_ext kernel: the server inside the guest, target host', () => {
  const ids: Record<string, string> = {};
  let foreign = '';
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    process.env.SCX_MCP_STATE = join(dir, 'state'); // a host path the guest sees (not /tmp: the guest has its own)
    const k = await kernel();
    const rrSpecs = JSON.parse(src('library/rr/entry.json')).params;
    const builds = {
      rr: {
        source: src('library/rr/rr.bpf.c'),
        fileName: 'rr.bpf.c',
        origin: { kind: 'library', entry: 'rr', version: 1 },
        params: { slice_us: 5000 },
        paramSpecs: rrSpecs,
      },
      sjf: { source: src('library/sjf/sjf.bpf.c'), fileName: 'sjf.bpf.c', origin: { kind: 'library', entry: 'sjf', version: 1 } },
      one_cpu: { source: src('fixtures/bad/one_cpu.bpf.c'), fileName: 'one_cpu.bpf.c', origin: { kind: 'source' } },
      fifo: { source: src('bpf-templates/fifo/fifo.bpf.c'), fileName: 'fifo.bpf.c', origin: { kind: 'source' } },
    } as const;
    for (const [name, b] of Object.entries(builds)) {
      const rec = await buildScheduler({ ...b, kernel: k } as Parameters<typeof buildScheduler>[0]);
      expect(rec.ok, name).toBe(true);
      const v = await verifyBuild(rec.id, { stressSeconds: 1 });
      expect(v.verdict, `${name}: ${v.reasons.join('; ')}`).toBe('pass');
      ids[name] = rec.id;
    }
    foreign = join(dir, 'foreign.bpf.o');
    expect((await compileBpf({ source: join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), out: foreign, kernel: k })).ok).toBe(true);
  }, 600_000);
  afterAll(() => {
    if (saved === undefined) delete process.env.SCX_MCP_STATE;
    else process.env.SCX_MCP_STATE = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'profile, deploy with parameters and hints, monitor rollback, rollback, a second server, refusal of a foreign scheduler',
    { timeout: 900_000 },
    async () => {
      const s = await SandboxSession.start({ memoryMb: 2048, writable: [dir] });
      let out = '';
      try {
        expect(s.vm.hostShared).toBe(true);
        const env = {
          REPO: repoRoot,
          IDS: JSON.stringify(ids),
          FOREIGN: foreign,
          SCX_MCP_STATE: join(dir, 'state'),
          SCX_MCP_CACHE: cacheDir(),
          SCX_MCP_LIBRARY: '/tmp/scx-lib',
        };
        const exports = Object.entries(env)
          .map(([k, v]) => `export ${k}='${v}'`)
          .join('\n');
        const r = await s.vm.run(`${exports}\ncd ${repoRoot}\nnode tests/integration/guest/host-scenario.mjs`, {
          guestTimeoutS: 840,
          timeoutMs: 900_000,
          what: 'host scenario in the guest',
        });
        out = r.stdout;
        const steps = out
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { step: string; ok: boolean; error?: string });
        const failed = steps.find((x) => !x.ok);
        expect(failed?.error ?? null, `${failed?.step}\n${r.stderr.slice(-2000)}`).toBeNull();
        expect(steps.map((x) => x.step)).toEqual([
          'start server A',
          'profile_workload on the host, as the invoking user',
          'deploy_scx on the host through scx-loader, a build with parameters',
          'deploy_scx on the host with job hints (scx-job-hints)',
          'rollback to the kernel default',
          'the monitor rolls back a harmful scheduler on its own',
          'the stdio client goes away: the scheduler stays deployed',
          "a second server finds the first one's loader by its pid file and unloads it",
          'refusal when a scheduler scx-mcp did not start is active',
          'audit',
        ]);
        expect(r.exitCode).toBe(0);
      } finally {
        if (out) console.log(out);
        await s.finish();
      }
    },
  );
});
