/**
 * The shell scripts the benchmark workloads run in the sandbox guest (core/bench/scripts/), run here
 * under the host's /bin/sh with stand-in programs on PATH (they log their arguments), so no VM is needed.
 */
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchScript, benchScriptCommand } from '../../core/bench/scripts.js';
import { cyclictestWorkload, parseCyclictestOutput } from '../../core/bench/workloads.js';

let dir: string;

/** Stand-ins: stress-ng runs until it is killed and logs that; cyclictest waits for the hogs, prints a histogram, exits $CYC_RC. */
const STRESS_NG = `#!/bin/sh
trap 'echo "stress-ng stopped" >> "$LOG"; exit 143' TERM
echo "stress-ng $*" >> "$LOG"
while :; do sleep 0.05 >/dev/null 2>&1; done
`;
const CYCLICTEST = `#!/bin/sh
i=0
until grep -q '^stress-ng --' "$LOG" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
echo "cyclictest $*" >> "$LOG"
printf '# /dev/cpu_dma_latency set to 0us\\n000010 000050\\n000020 000049\\n000900 000001\\n# Total: 000000100\\n# Min Latencies: 00010\\n# Max Latencies: 00900\\n# Histogram Overflows: 00000\\n'
exit "\${CYC_RC:-0}"
`;

function stub(name: string, text: string): void {
  writeFileSync(join(dir, 'bin', name), text);
  chmodSync(join(dir, 'bin', name), 0o755);
}

async function runUnderSh(command: string, log: string, env: Record<string, string> = {}) {
  return execa('/bin/sh', ['-c', command], {
    reject: false,
    timeout: 20_000,
    env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, LOG: log, ...env },
    extendEnv: false,
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bench-scripts-'));
  mkdirSync(join(dir, 'bin'));
  stub('stress-ng', STRESS_NG);
  stub('cyclictest', CYCLICTEST);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('core/bench/scripts/cyclictest-beside-stress.sh', () => {
  it('runs cyclictest beside stress-ng hogs, prints its histogram, stops the hogs, exits 0', async () => {
    const log = join(dir, 'ok.log');
    const cmd = cyclictestWorkload({ intervalUs: 2000, loops: 300, stressCpus: 4 }).command(null);
    expect(cmd).toBe(`sh '${benchScript('cyclictest-beside-stress.sh')}' 4 2000 300 100000`);
    const r = await runUnderSh(cmd, log);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'stress-ng --cpu 4 --quiet --timeout 3600s',
      'cyclictest -q -t1 --policy=other -p0 -i 2000 -l 300 -h 100000',
      'stress-ng stopped',
    ]);
    const s = parseCyclictestOutput(r.stdout);
    expect(s.ok).toBe(true);
    expect(s.metrics).toEqual({ p50_us: 10, p99_us: 20, max_us: 900 });
  });

  it("exits with cyclictest's status, and still stops the hogs", async () => {
    const log = join(dir, 'fail.log');
    const r = await runUnderSh(benchScriptCommand('cyclictest-beside-stress.sh', [1, 1000, 10, 500]), log, { CYC_RC: '3' });
    expect(r.exitCode).toBe(3);
    expect(readFileSync(log, 'utf8')).toMatch(/cyclictest -q -t1 --policy=other -p0 -i 1000 -l 10 -h 500\nstress-ng stopped\n$/);
  });

  it('refuses a wrong number of arguments (usage, exit 2) without starting anything', async () => {
    const log = join(dir, 'usage.log');
    const r = await runUnderSh(benchScriptCommand('cyclictest-beside-stress.sh', [4, 2000]), log);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage: .*STRESS_CPUS INTERVAL_US LOOPS HIST_MAX_US/);
    expect(() => readFileSync(log, 'utf8')).toThrow();
  });

  it('a missing script is an error naming it', () => {
    expect(() => benchScript('no-such-script.sh')).toThrow(/no-such-script\.sh is missing/);
  });
});
