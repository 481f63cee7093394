/**
 * The real-program batch benchmark (issue 18): the five scenarios of fixtures/batches (sqlite3
 * joins, gzip/sort over logs, lame encodes, git add+gc, a python3 unittest suite), each one long
 * job and many short ones of the same program, run in one sandbox boot under
 *   default            the kernel's scheduler
 *   sjf/ljf (c)        no hints (history only); the sjf run also learns (scx-job-hints --learn)
 *   sjf/ljf (a)        argv hints as an agent writes them from the file names
 *   sjf/ljf (b)        learned lengths from the previous (c) run of the same batch
 * Every run has its own bounds, from the CPU time each job used in that run: makespan bound
 * max(longest job, total / CPUs); the SPT optimum of mean completion (shortest first, list
 * scheduling on the CPUs, optimal for mean flow time on identical machines).
 *
 *   node dist/core/bench/batches.js [--scenarios logs,media] [--scale 1] [--out docs/batches.md]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { cacheDir, repoRoot } from '../paths.js';
import { ensureKernel } from '../kernel/fetch.js';
import { compileBpf } from '../toolchain/compile.js';
import { SandboxSession } from '../sandbox/session.js';
import type { HintRule } from '../job-hints.js';
import { jobsFromLoaderLines, learnedHints, recordJobs } from '../learned-lengths.js';

export const SCENARIOS = ['analytics', 'logs', 'media', 'git', 'tests'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** What an agent writes after reading the job list: the file with "long" in its name is the long one. */
const AGENT_HINTS: Record<Scenario, HintRule[]> = {
  analytics: [
    { argv: 'sqlite3 * orders-long.csv *', expect_ms: 20000, source: 'agent' },
    { argv: 'sqlite3 *', expect_ms: 500, source: 'agent' },
  ],
  logs: [
    { argv: '* */access-long.log', expect_ms: 20000, source: 'agent' },
    { argv: 'gzip *', expect_ms: 500, source: 'agent' },
    { argv: 'sort *', expect_ms: 500, source: 'agent' },
  ],
  media: [
    { argv: 'lame * */take-long.wav -', expect_ms: 20000, source: 'agent' },
    { argv: 'lame *', expect_ms: 500, source: 'agent' },
  ],
  git: [
    { argv: '*repo-long*', expect_ms: 20000, source: 'agent' },
    { argv: 'git *', expect_ms: 500, source: 'agent' },
  ],
  tests: [
    { argv: 'python3 -m unittest -q suite.test_long', expect_ms: 20000, source: 'agent' },
    { argv: 'python3 -m unittest *', expect_ms: 500, source: 'agent' },
  ],
};

export interface JobRun {
  index: number;
  rc: number;
  endS: number;
  cpuS: number;
}
export interface BatchMetrics {
  makespanS: number;
  meanCompletionS: number;
  boundS: number;
  sptMeanS: number;
  totalCpuS: number;
  jobs: number;
  failed: number;
}

/** "0m1.230000s" (dash's times) → seconds. */
export function parseTimes(t: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(t.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

export function parseBatchOutput(stdout: string): JobRun[] {
  return stdout.split('\n').flatMap((l) => {
    const f = l.trim().split(/\s+/);
    if (f[0] !== 'job' || f.length < 7) return [];
    const t0 = Number(f[3]);
    return [{ index: Number(f[1]), rc: Number(f[2]), endS: Number(f[4]) - t0, cpuS: parseTimes(f[5]!) + parseTimes(f[6]!) }];
  });
}

/** SPT list schedule on m machines: mean completion time (optimal for mean flow time). */
export function sptMean(cpu: number[], m: number): number {
  const free = new Array<number>(Math.max(1, m)).fill(0);
  let sum = 0;
  for (const c of [...cpu].sort((a, b) => a - b)) {
    let k = 0;
    for (let i = 1; i < free.length; i++) if (free[i]! < free[k]!) k = i;
    free[k]! += c;
    sum += free[k]!;
  }
  return cpu.length ? sum / cpu.length : 0;
}

export function batchMetrics(jobs: JobRun[], cpus: number): BatchMetrics {
  const cpu = jobs.map((j) => j.cpuS);
  const total = cpu.reduce((a, b) => a + b, 0);
  return {
    makespanS: Math.max(0, ...jobs.map((j) => j.endS)),
    meanCompletionS: jobs.length ? jobs.reduce((a, j) => a + j.endS, 0) / jobs.length : 0,
    boundS: Math.max(Math.max(0, ...cpu), total / cpus),
    sptMeanS: sptMean(cpu, cpus),
    totalCpuS: total,
    jobs: jobs.length,
    failed: jobs.filter((j) => j.rc !== 0).length,
  };
}

interface Row {
  scenario: Scenario;
  policy: string;
  hints: string;
  m: BatchMetrics | null;
  error?: string;
  hinted?: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (n: string) => {
    const i = args.indexOf(n);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const scenarios = (opt('--scenarios')?.split(',') ?? [...SCENARIOS]) as Scenario[];
  const scale = Number(opt('--scale') ?? '1');
  const out = opt('--out') ?? join(repoRoot, 'docs', 'batches.md');
  const base = join(cacheDir(), 'batches');
  for (const s of scenarios) await execa('python3', [join(repoRoot, 'fixtures/batches/gen.py'), s, join(base, s), '--scale', String(scale)]);
  const kernel = await ensureKernel();
  const objDir = join(tmpdir(), `batches-${process.pid}`);
  const obj: Record<string, string> = {};
  for (const p of ['sjf', 'ljf']) {
    const r = await compileBpf({ source: join(repoRoot, 'library', p, `${p}.bpf.c`), out: join(objDir, `${p}.bpf.o`), kernel });
    if (!r.ok) throw new Error(`${p} did not compile`);
    obj[p] = join(objDir, `${p}.bpf.o`);
  }
  const learnedPath = join(objDir, 'learned.json');
  const session = await SandboxSession.start({ kernel });
  const rows: Row[] = [];
  const started = new Date().toISOString();
  let cpus = 2;
  try {
    cpus = Number((await session.step({ kind: 'run', command: 'nproc', timeoutS: 30 })).stdout?.trim()) || 2;
    for (const s of scenarios) {
      const dir = join(base, s);
      const cmd = `sh ${join(repoRoot, 'fixtures/batches/run-batch.sh')} ${dir}`;
      const runOnce = async (policy: string, hintsName: string, hints?: HintRule[], learn = false): Promise<void> => {
        const row: Row = { scenario: s, policy, hints: hintsName, m: null };
        try {
          if (policy !== 'default') {
            const load = await session.step({
              kind: 'load',
              object: obj[policy]!,
              via: 'loader',
              statsIntervalMs: 60_000,
              ...(hints?.length ? { hints } : {}),
              ...(learn ? { learn } : {}),
            });
            if (!load.ok) throw new Error(`load ${policy}: ${load.error}`);
          }
          const r = await session.step({ kind: 'run', command: cmd, timeoutS: 900 });
          const jobs = parseBatchOutput(r.stdout ?? '');
          if (jobs.length === 0) throw new Error(`no job lines: ${(r.stderr ?? '').slice(0, 300)}`);
          row.m = batchMetrics(jobs, cpus);
          if (policy !== 'default') {
            const un = await session.step({ kind: 'unload' });
            const lines = (un.loader?.lines ?? []) as Record<string, unknown>[];
            const st = lines.filter((l) => l.type === 'stats').at(-1)?.stats as Record<string, number> | undefined;
            row.hinted = st?.exec_hinted;
            if (learn) await recordJobs(s, jobsFromLoaderLines(lines), { path: learnedPath });
          }
        } catch (e) {
          row.error = (e as Error).message;
          await session.step({ kind: 'unload' }).catch(() => undefined);
        }
        rows.push(row);
        console.log(JSON.stringify(row));
      };
      await runOnce('default', '-');
      await runOnce('sjf', '(c) none', undefined, true);
      await runOnce('ljf', '(c) none');
      await runOnce('sjf', '(a) argv', AGENT_HINTS[s]);
      await runOnce('ljf', '(a) argv', AGENT_HINTS[s]);
      const learned = await learnedHints(s, { path: learnedPath });
      await runOnce('sjf', `(b) learned (${learned.length} rules)`, learned);
      await runOnce('ljf', `(b) learned (${learned.length} rules)`, learned);
      await writeFile(out, report(rows, { started, cpus, accel: session.accel.accel, kernel: kernel.release, scale }));
    }
  } finally {
    await session.finish();
  }
  await writeFile(out, report(rows, { started, cpus, accel: session.accel.accel, kernel: kernel.release, scale }));
  console.log(`wrote ${out}`);
}

function report(rows: Row[], env: { started: string; cpus: number; accel: string; kernel: string; scale: number }): string {
  const f = (x: number) => x.toFixed(2);
  const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)} %`;
  const out = [
    '# Real-program batches: default vs sjf vs ljf, with and without job knowledge',
    '',
    `Measured by \`node dist/core/bench/batches.js\` (core/bench/batches.ts) on ${env.started}: kernel ${env.kernel}, ${env.cpus} vCPUs, ${env.accel}, scale ${env.scale}, one run per row (no repeats: read small differences as noise).`,
    'Each scenario (fixtures/batches/gen.py) is one long job and twelve short ones of the same real program, all started at once by fixtures/batches/run-batch.sh.',
    'Bounds come from the CPU time each job used in that same run: makespan bound = max(longest job, total CPU / CPUs); SPT = mean completion of shortest-first list scheduling on the CPUs.',
    '(a) argv hints an agent writes from the file names; (b) lengths learned from the sjf (c) run just before (scx-job-hints --learn); (c) no hints. `exec_hinted`: jobs the scheduler sized from job_lens.',
    '',
    '| scenario | policy | hints | makespan s | vs bound | vs default | mean completion s | vs SPT | vs default | exec_hinted | jobs failed |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const d = rows.find((x) => x.scenario === r.scenario && x.policy === 'default')?.m;
    if (!r.m) {
      out.push(`| ${r.scenario} | ${r.policy} | ${r.hints} | failed: ${r.error ?? '?'} |||||||||`);
      continue;
    }
    out.push(
      `| ${r.scenario} | ${r.policy} | ${r.hints} | ${f(r.m.makespanS)} | ${pct(r.m.makespanS, r.m.boundS)} | ${d && r.policy !== 'default' ? pct(r.m.makespanS, d.makespanS) : ''} | ${f(r.m.meanCompletionS)} | ${pct(r.m.meanCompletionS, r.m.sptMeanS)} | ${d && r.policy !== 'default' ? pct(r.m.meanCompletionS, d.meanCompletionS) : ''} | ${r.hinted ?? ''} | ${r.m.failed} |`,
    );
  }
  return out.join('\n') + '\n';
}

if (process.argv[1] && process.argv[1].endsWith('batches.js') && existsSync(process.argv[1])) {
  await mkdir(join(repoRoot, 'docs'), { recursive: true });
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
