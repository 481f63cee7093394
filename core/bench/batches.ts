/**
 * The real-program batch benchmark (issue 18): the five scenarios of fixtures/batches (sqlite3
 * joins, gzip/sort over logs, lame encodes, git add+gc, a python3 unittest suite), each one long
 * job and twelve short ones of the same program, told apart only by their arguments (numbered
 * inputs; the long job at a seeded position), run in one sandbox boot under
 *   default            the kernel's scheduler
 *   sjf/ljf (c)        no hints (history only); the sjf run also learns (scx-job-hints --learn)
 *   sjf/ljf (a)        argv hints an agent writes from the sizes of the inputs each job names
 *                      (core/bench/input-hints.ts); none where the commands name no input
 *   sjf/ljf (b)        lengths learned from the earlier (c) runs of the same batch
 *   scx_* (d)          sched-ext/scx's production schedulers set-up installed, their defaults
 * `repeats` rounds, interleaved: every configuration once per round, the order reversed in every
 * other round (so drift over the boot does not favour the configurations run first). Every run
 * has its own bounds, from the CPU time each job used in that run: makespan bound max(longest job,
 * total / CPUs); the SPT optimum of mean completion (shortest first, list scheduling on the CPUs,
 * optimal for mean flow time on identical machines). The report gives medians, min–max and the
 * median of each run's gap to its bound.
 *
 * The command line is bin/run-batches.ts (npm run bench:batches).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { execa } from 'execa';
import { cacheDir, repoRoot } from '../paths.js';
import { ensureKernel } from '../kernel/fetch.js';
import { buildPaths, buildScheduler } from '../builds/build.js';
import { SandboxSession } from '../sandbox/session.js';
import type { HintRule } from '../job-hints.js';
import { jobsFromLoaderLines, learnedHints, recordJobs } from '../learned-lengths.js';
import { median } from '../model/stats.js';
import { startScxInGuest, stopScxInGuest } from '../scx/guest.js';
import { installedScxCandidates, seedEntry } from './scx-candidates.js';
import { otherQemuVms } from './sessions.js';
import { inputSizeHints } from './input-hints.js';

export const SCENARIOS = ['analytics', 'logs', 'media', 'git', 'tests'] as const;
export type Scenario = (typeof SCENARIOS)[number];

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

/** Bytes of a file, or of everything below a directory; undefined when the path does not exist. */
export function bytesOf(path: string): number | undefined {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return st.size;
    return readdirSync(path).reduce((a, n) => a + (bytesOf(join(path, n)) ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** One configuration of a scenario: a policy and the job knowledge it is given. */
export interface Config {
  policy: string;
  /** '-', '(a) input sizes', '(b) learned', '(c) none', '(d) scx defaults' */
  hints: string;
}

export interface Run {
  scenario: Scenario;
  round: number;
  config: Config;
  m: BatchMetrics | null;
  error?: string;
  /** jobs the scheduler sized from job_lens (scx-job-hints' exec_hinted) */
  hinted?: number;
  rules?: number;
  load1: number;
  otherVms: number;
}

export interface BatchOptions {
  scenarios?: Scenario[];
  scale?: number;
  repeats?: number;
  /** leave out sched-ext/scx's schedulers */
  noScx?: boolean;
  log?: (line: string) => void;
  /** after every run: the runs so far (to write a partial report) */
  progress?: (runs: Run[], env: BatchEnv) => Promise<void>;
}

export interface BatchEnv {
  started: string;
  cpus: number;
  accel: string;
  kernel: string;
  scale: number;
  repeats: number;
  /** per scenario: why its (a) rows are missing, when they are */
  noAgentHints: Partial<Record<Scenario, string>>;
  scx: string[];
}

/** The configurations of one round in run order; the sjf (c) run learns, so it comes before (b) in forward rounds. */
export function roundOrder(configs: Config[], round: number): Config[] {
  return round % 2 === 1 ? configs : [...configs].reverse();
}

export async function runBatches(opts: BatchOptions = {}): Promise<{ runs: Run[]; env: BatchEnv }> {
  const log = opts.log ?? (() => undefined);
  const scenarios = opts.scenarios ?? [...SCENARIOS];
  const scale = opts.scale ?? 1;
  const repeats = Math.max(1, opts.repeats ?? 3);
  const base = join(cacheDir(), 'batches');
  for (const s of scenarios) await execa('python3', [join(repoRoot, 'fixtures/batches/gen.py'), s, join(base, s), '--scale', String(scale)]);
  const kernel = await ensureKernel();
  const objDir = join(tmpdir(), `batches-${process.pid}`);
  const obj: Record<string, string> = {};
  for (const p of ['sjf', 'ljf']) {
    // built like build_scheduler builds the entry at its defaults: static analysis, clang, a build id
    const entry = seedEntry(p);
    if (!entry) throw new Error(`library/${p}/entry.json is missing or not a valid entry`);
    const rec = await buildScheduler({
      source: readFileSync(join(repoRoot, 'library', p, `${p}.bpf.c`), 'utf8'),
      fileName: `${p}.bpf.c`,
      origin: { kind: 'library', entry: p, version: entry.version },
      paramSpecs: entry.params,
      kernel,
    });
    if (!rec.ok) throw new Error(`${p} did not build (build ${rec.id}, stage ${rec.stage})`);
    obj[p] = buildPaths(rec.id).object;
  }
  const scx = opts.noScx ? [] : installedScxCandidates();
  const learnedPath = join(objDir, 'learned.json');
  const agent: Partial<Record<Scenario, HintRule[]>> = {};
  const env: BatchEnv = {
    started: new Date().toISOString(),
    cpus: 2,
    accel: '',
    kernel: kernel.release,
    scale,
    repeats,
    noAgentHints: {},
    scx: scx.map((c) => c.name),
  };
  for (const s of scenarios) {
    const commands = readFileSync(join(base, s, 'jobs.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    // the agent sizes what the jobs read: the batch's inputs, under its directory (not the git
    // directories the jobs write, which set-up makes afresh in the guest)
    const dir = join(base, s);
    const h = inputSizeHints(commands, (p) => (p.startsWith(`${dir}/`) ? bytesOf(p) : undefined));
    if (h.none) env.noAgentHints[s] = h.none;
    else agent[s] = h.rules;
  }
  const session = await SandboxSession.start({ kernel });
  env.accel = session.accel.accel;
  const runs: Run[] = [];
  try {
    env.cpus = Number((await session.step({ kind: 'run', command: 'nproc', timeoutS: 30 })).stdout?.trim()) || 2;
    for (let round = 1; round <= repeats; round++) {
      for (const s of scenarios) {
        const cmd = `sh ${join(repoRoot, 'fixtures/batches/run-batch.sh')} ${join(base, s)}`;
        const configs: Config[] = [
          { policy: 'default', hints: '-' },
          { policy: 'sjf', hints: '(c) none' },
          { policy: 'ljf', hints: '(c) none' },
          ...(agent[s] ? ['sjf', 'ljf'].map((policy) => ({ policy, hints: '(a) input sizes' })) : []),
          { policy: 'sjf', hints: '(b) learned' },
          { policy: 'ljf', hints: '(b) learned' },
          ...scx.map((c) => ({ policy: c.name, hints: '(d) scx defaults' })),
        ];
        for (const config of roundOrder(configs, round)) {
          const run: Run = { scenario: s, round, config, m: null, load1: loadavg()[0]!, otherVms: otherQemuVms() };
          const learn = config.policy === 'sjf' && config.hints === '(c) none';
          const hints =
            config.hints === '(a) input sizes' ? agent[s] : config.hints === '(b) learned' ? await learnedHints(s, { path: learnedPath }) : undefined;
          if (hints) run.rules = hints.length;
          const peer = scx.find((c) => c.name === config.policy)?.scx;
          let proc: Awaited<ReturnType<typeof startScxInGuest>>['proc'] = null;
          try {
            if (peer) {
              const st = await startScxInGuest(session, { ...peer, label: `start ${config.policy}` });
              proc = st.proc;
              if (!st.step.ok) throw new Error(st.step.error ?? `${config.policy} did not start`);
            } else if (config.policy !== 'default') {
              const load = await session.step({
                kind: 'load',
                object: obj[config.policy]!,
                statsIntervalMs: 60_000,
                ...(hints?.length ? { hints } : {}),
                ...(learn ? { learn } : {}),
              });
              if (!load.ok) throw new Error(`load ${config.policy}: ${load.error}`);
            }
            const r = await session.step({ kind: 'run', command: cmd, timeoutS: 900 });
            const jobs = parseBatchOutput(r.stdout ?? '');
            if (jobs.length === 0) throw new Error(`no job lines: ${(r.stderr ?? '').slice(0, 300)}`);
            run.m = batchMetrics(jobs, env.cpus);
            if (peer && proc) {
              await stopScxInGuest(session, proc);
              proc = null;
            } else if (config.policy !== 'default') {
              const un = await session.step({ kind: 'unload' });
              const lines = (un.loader?.lines ?? []) as Record<string, unknown>[];
              const st = lines.filter((l) => l.type === 'stats').at(-1)?.stats as Record<string, number> | undefined;
              run.hinted = st?.exec_hinted;
              if (learn) await recordJobs(s, jobsFromLoaderLines(lines), { path: learnedPath });
            }
          } catch (e) {
            run.error = (e as Error).message;
            if (proc) await stopScxInGuest(session, proc).catch(() => undefined);
            else if (config.policy !== 'default') await session.step({ kind: 'unload' }).catch(() => undefined);
          }
          runs.push(run);
          log(
            JSON.stringify({
              ...run,
              m: run.m && { makespanS: run.m.makespanS, boundS: run.m.boundS, meanCompletionS: run.m.meanCompletionS, sptMeanS: run.m.sptMeanS },
            }),
          );
          await opts.progress?.(runs, env);
        }
      }
    }
  } finally {
    await session.finish();
  }
  return { runs, env };
}

/** A configuration's runs summarized: medians, min–max, and the median of each run's own gaps. */
export interface Row {
  scenario: Scenario;
  config: Config;
  n: number;
  errors: string[];
  makespan: { median: number; min: number; max: number };
  /** median over runs of makespan / that run's bound − 1 */
  vsBound: number;
  mean: { median: number; min: number; max: number };
  /** median over runs of mean completion / that run's SPT optimum − 1 */
  vsSpt: number;
  hinted?: number;
  rules?: number;
  failedJobs: number;
}

export function summarizeRuns(runs: Run[]): Row[] {
  const rows: Row[] = [];
  const key = (r: Run) => `${r.scenario}\0${r.config.policy}\0${r.config.hints}`;
  const groups = new Map<string, Run[]>();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  for (const g of groups.values()) {
    const ok = g.filter((r) => r.m);
    const ms = ok.map((r) => r.m!);
    const span = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
    const hinted = g.flatMap((r) => (r.hinted === undefined ? [] : [r.hinted]));
    const rules = g.flatMap((r) => (r.rules === undefined ? [] : [r.rules]));
    rows.push({
      scenario: g[0]!.scenario,
      config: g[0]!.config,
      n: ok.length,
      errors: g.flatMap((r) => (r.error ? [r.error] : [])),
      makespan: span(ms.map((m) => m.makespanS)),
      vsBound: median(ms.map((m) => m.makespanS / m.boundS - 1)),
      mean: span(ms.map((m) => m.meanCompletionS)),
      vsSpt: median(ms.map((m) => m.meanCompletionS / m.sptMeanS - 1)),
      ...(hinted.length ? { hinted: median(hinted) } : {}),
      ...(rules.length ? { rules: median(rules) } : {}),
      failedJobs: ms.reduce((a, m) => a + m.failed, 0),
    });
  }
  return rows;
}

const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %` : '');

/** The row with the lowest `f` (the best, for times), if any. */
const lowest = (rows: Row[], f: (r: Row) => number) => rows.reduce<Row | undefined>((b, r) => (!b || f(r) < f(b) ? r : b), undefined);

/** The issue's bar, per scenario, from the summarized rows: what (a)/(b) reached, and the best scx peer. */
export function barLines(rows: Row[]): string[] {
  const out: string[] = [];
  for (const s of SCENARIOS) {
    const rs = rows.filter((r) => r.scenario === s && r.n > 0);
    const def = rs.find((r) => r.config.policy === 'default');
    if (!def) continue;
    const informed = (p: string) => rs.filter((r) => r.config.policy === p && /^\((a|b)\)/.test(r.config.hints));
    const l = lowest(informed('ljf'), (r) => r.makespan.median);
    const j = lowest(informed('sjf'), (r) => r.mean.median);
    const peer = lowest(
      rs.filter((r) => r.config.hints.startsWith('(d)')),
      (r) => r.makespan.median,
    );
    const peerMean = lowest(
      rs.filter((r) => r.config.hints.startsWith('(d)')),
      (r) => r.mean.median,
    );
    const vsDef = (a: number, b: number) => pct(a / b - 1);
    const parts = [
      l
        ? `ljf ${l.config.hints}: makespan ${pct(l.vsBound)} vs bound (bar ≤ +10 %), ${vsDef(l.makespan.median, def.makespan.median)} vs default (bar ≤ −25 %): ${l.vsBound <= 0.1 && l.makespan.median <= 0.75 * def.makespan.median ? 'met' : 'not met'}`
        : 'ljf: no (a)/(b) run',
      j ? `sjf ${j.config.hints}: mean completion ${pct(j.vsSpt)} vs SPT (bar ≤ +10 %): ${j.vsSpt <= 0.1 ? 'met' : 'not met'}` : 'sjf: no (a)/(b) run',
      peer
        ? `best scx by makespan ${peer.config.policy} ${peer.makespan.median.toFixed(2)} s (${vsDef(peer.makespan.median, def.makespan.median)} vs default)`
        : '',
      peerMean ? `by mean completion ${peerMean.config.policy} ${peerMean.mean.median.toFixed(2)} s (${vsDef(peerMean.mean.median, def.mean.median)})` : '',
    ].filter(Boolean);
    out.push(`- **${s}**: ${parts.join('; ')}.`);
  }
  return out;
}

export function batchReport(runs: Run[], env: BatchEnv, extra: { loads?: string } = {}): string {
  const rows = summarizeRuns(runs);
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '');
  const spread = (x: { median: number; min: number; max: number }) => `${f(x.median)} (${f(x.min)}–${f(x.max)})`;
  const out = [
    '# Real-program batches: default vs sjf vs ljf vs the scx schedulers, with and without job knowledge',
    '',
    `Measured by \`npm run bench:batches\` (bin/run-batches.ts, core/bench/batches.ts) from ${env.started}: kernel ${env.kernel}, ${env.cpus} vCPUs, ${env.accel}, scale ${env.scale}, ${env.repeats} rounds in one boot, interleaved (every other round in reverse order)${extra.loads ? `; ${extra.loads}` : ''}.`,
    'Each scenario (fixtures/batches/gen.py) is one long job and twelve short ones of the same real program, started at once by fixtures/batches/run-batch.sh. The inputs are numbered, not named by length, and the long job sits at a seeded place in the list.',
    "Bounds come from the CPU time each job used in that same run: makespan bound = max(longest job, total CPU / CPUs); SPT = mean completion of shortest-first list scheduling on the CPUs. Times are medians over the rounds, with min–max; 'vs bound' and 'vs SPT' are the medians of each run's own gap.",
    '(a) argv hints an agent writes from the sizes of the inputs each command names (core/bench/input-hints.ts: expected length ∝ input bytes); (b) lengths learned from the earlier sjf (c) runs of the same batch (scx-job-hints --learn; the median of those runs); (c) no hints; (d) sched-ext/scx schedulers with their defaults. `exec_hinted`: jobs the scheduler sized from job_lens (median).',
    '',
    ...Object.entries(env.noAgentHints).map(([s, why]) => `No (a) rows for ${s}: ${why}.`),
    '',
    '## Against the bar (issue 18: with (a) or (b), ljf makespan within 10 % of the bound and 25 % below the default; sjf mean completion within 10 % of SPT)',
    '',
    ...barLines(rows),
    '',
    '| scenario | policy | hints | runs | makespan s | vs bound | vs default | mean completion s | vs SPT | vs default | exec_hinted | jobs failed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const d = rows.find((x) => x.scenario === r.scenario && x.config.policy === 'default');
    const rel = (a: number, b: number | undefined) => (b && r.config.policy !== 'default' ? pct(a / b - 1) : '');
    const hints = r.rules !== undefined && r.config.hints === '(b) learned' ? `(b) learned (${r.rules} rules)` : r.config.hints;
    if (!r.n) {
      out.push(`| ${r.scenario} | ${r.config.policy} | ${hints} | 0 | failed: ${(r.errors[0] ?? '?').replace(/\|/g, '/').slice(0, 200)} ||||||||`);
      continue;
    }
    out.push(
      `| ${r.scenario} | ${r.config.policy} | ${hints} | ${r.n}${r.errors.length ? ` (${r.errors.length} failed)` : ''} | ${spread(r.makespan)} | ${pct(r.vsBound)} | ${rel(r.makespan.median, d?.makespan.median)} | ${spread(r.mean)} | ${pct(r.vsSpt)} | ${rel(r.mean.median, d?.mean.median)} | ${r.hinted ?? ''} | ${r.failedJobs} |`,
    );
  }
  return out.join('\n') + '\n';
}

/**
 * (a)–(d) side by side for docs/results.md: per scenario, the kernel default and the best row of
 * each kind of job knowledge, on makespan (against the bound) and on mean completion (against SPT).
 */
export function sideBySide(runs: Run[], env: BatchEnv): string {
  const rows = summarizeRuns(runs).filter((r) => r.n > 0);
  const kinds = ['(c) none', '(a) input sizes', '(b) learned', '(d) scx defaults'];
  const table = (title: string, value: (r: Row) => number, gap: (r: Row) => number, gapName: string) => {
    const out = [
      `**${title}** (median s, its gap to ${gapName}, and the change against the default; the best row of each kind)`,
      '',
      `| scenario | kernel default | ${kinds.join(' | ')} |`,
      `|---|---|${kinds.map(() => '---').join('|')}|`,
    ];
    for (const s of SCENARIOS) {
      const rs = rows.filter((r) => r.scenario === s);
      const d = rs.find((r) => r.config.policy === 'default');
      if (!d) continue;
      const cell = (r: Row | undefined) =>
        r
          ? `${r.config.policy === 'default' ? '' : `${r.config.policy} `}${value(r).toFixed(2)} (${pct(gap(r))}${r === d ? '' : `; ${pct(value(r) / value(d) - 1)}`})`
          : '–';
      out.push(
        `| ${s} | ${cell(d)} | ${kinds
          .map((k) =>
            cell(
              lowest(
                rs.filter((r) => r.config.hints === k),
                value,
              ),
            ),
          )
          .join(' | ')} |`,
      );
    }
    return out;
  };
  return [
    '## Real-program batches: (a)–(d) side by side',
    '',
    `From \`npm run bench:batches\` (${env.started}, ${env.repeats} rounds interleaved in one boot, ${env.accel}; every row and the host load in docs/batches.md). Jobs are real programs told apart only by their arguments (sqlite3, gzip/sort, lame, git, python3 unittest). (a) hints from input sizes, (b) learned lengths, (c) none, (d) sched-ext/scx with their defaults.`,
    '',
    ...table(
      'Makespan',
      (r) => r.makespan.median,
      (r) => r.vsBound,
      'the bound',
    ),
    '',
    ...table(
      'Mean completion',
      (r) => r.mean.median,
      (r) => r.vsSpt,
      'the SPT optimum',
    ),
    '',
  ].join('\n');
}
