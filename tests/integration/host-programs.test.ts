/**
 * The sandbox is the user's machine: the guest sees the host's filesystem read-only, so programs
 * the old guest image never had (python3, make driving gcc, git, xz) run as workloads under a
 * library scheduler, measured by benchmark_schedulers against the kernel default in one boot.
 * Writes stay in the guest (tmpfs and overlays) except in the run directory shared back.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { repoRoot } from '../../core/paths.js';
import { SandboxSession } from '../../core/sandbox/session.js';
import { connectInProcess } from '../../server/in-process.js';

// a project in the checkout's scratch dir, made writable for the guest (an overlay)
const project = join(repoRoot, '.scx-work', `hostprog-${randomBytes(4).toString('hex')}`);
mkdirSync(project, { recursive: true });
// and a program the user keeps in the host's /tmp (a clone in /tmp, say): the guest's /tmp shows it
const inTmp = join(tmpdir(), `scx-hostvis-${randomBytes(4).toString('hex')}`);
mkdirSync(inTmp, { recursive: true });
writeFileSync(join(inTmp, 'hello.sh'), '#!/bin/sh\necho from-host-tmp\n');
chmodSync(join(inTmp, 'hello.sh'), 0o755);
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
  rmSync(inTmp, { recursive: true, force: true });
});

describe('the guest sees the host', () => {
  it('runs host programs, writes only to tmpfs, overlays and the share, and never to the host tree', async () => {
    const s = await SandboxSession.start({ writable: [project] });
    try {
      expect(s.vm.hostShared).toBe(true);
      const r = await s.vm.run(
        [
          'python3 -c "import sys; print(sys.version_info[0])"',
          'git --version | cut -d" " -f1',
          'xz --version | head -1 | cut -d" " -f1', // the host's xz, not busybox's applet
          'command -v scx-loader scx-profile batch >/dev/null && echo project-programs',
          `test -f ${join(repoRoot, 'package.json')} && echo checkout`,
          'touch /usr/scx-should-fail 2>/dev/null && echo WROTE-USR || echo usr-read-only',
          `touch "$HOME/.scx-home-write" && echo home-writable`,
          `echo made-in-guest > ${project}/from-guest && echo project-writable`,
          `${inTmp}/hello.sh`,
          `echo in-guest > ${inTmp}/w && echo tmp-writable`,
          'echo back-to-host > /run/scx/share/out.txt',
        ].join('\n'),
        { timeoutMs: 120_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual([
        '3',
        'git',
        'xz',
        'project-programs',
        'checkout',
        'usr-read-only',
        'home-writable',
        'project-writable',
        'from-host-tmp',
        'tmp-writable',
      ]);
      expect(readFileSync(join(s.vm.shareDir, 'out.txt'), 'utf8')).toBe('back-to-host\n');
      // the overlays kept the guest's writes in the guest
      expect(existsSync(join(project, 'from-guest'))).toBe(false);
      expect(existsSync(join(homedir(), '.scx-home-write'))).toBe(false);
      expect(existsSync(join(inTmp, 'w'))).toBe(false);
    } finally {
      await s.finish();
    }
  });
});

describe('benchmark_schedulers on host programs', () => {
  const engines = new ScxEngines({ allowHost: false });
  afterAll(() => engines.close());

  it('python3, make+gcc, git and xz under vtime_fair vs the kernel default, one boot, interleaved', async () => {
    const { client, close } = await connectInProcess(engines);
    try {
      const call = async (name: string, args: Record<string, unknown>) => {
        const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 1_200_000, resetTimeoutOnProgress: true })) as CallToolResult;
        if (r.isError) throw new Error(`${name}: ${r.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ')}`);
        return r.structuredContent as Record<string, any>;
      };
      const b = await call('build_scheduler', { entry: 'vtime_fair' });
      expect(b.ok).toBe(true);
      const res = await call('benchmark_schedulers', {
        buildIds: [b.buildId],
        command: `sh ${join(repoRoot, 'fixtures/hostprog/run.sh')} .`,
        cwd: project,
        printed: { better: 'higher', unit: 'programs' },
        repeats: 2,
        record: false,
      });
      expect(res.error).toBeNull();
      expect(res.environment.bootMs).toBeGreaterThan(0);
      expect(res.policies.map((p: { name: string }) => p.name)).toEqual(['default', 'vtime_fair']);
      for (const p of res.policies) {
        expect(p.status, JSON.stringify(p.failures)).toBe('ok');
        expect(p.metrics.value).toMatchObject({ n: 2, median: 5, min: 5, max: 5 }); // every program did its part in every run
        expect(p.metrics.wall_ms.median).toBeGreaterThan(0);
      }
      expect(res.policies[1].metrics.wall_ms.vsDefaultPct).not.toBeNull();
      expect(readdirSync(project)).toEqual([]); // the build happened in the guest's overlay
    } finally {
      await close();
    }
  });
});
