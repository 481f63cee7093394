/**
 * npm run bench [-- --quick] [--repeats N] [--only WORKLOAD[,WORKLOAD]] [--policies a,b] [--cyclictest]
 *               [--wait-quiet S] [--out docs/results.md] [--no-write] [--no-tuned] [--no-seed]
 *
 * Builds the workload fixtures and the schedulers (the FIFO template and the library's ljf, sjf,
 * interactive, vtime_fair, rr when they exist and compile; sched-ext/scx's scx_* binaries that set-up
 * installed, with their own defaults), boots one sandbox VM and runs every
 * workload under the kernel default and each scheduler, repeats interleaved. Prints a table per
 * workload and writes docs/results.md, docs/results/<workload>.svg and docs/results/results.json.
 *
 * Workloads (ids for --only): batch-join, batch-hash (uneven batch 1x39,39x1), wakeup (wakebench
 * beside CPU hogs), build (buildsim -j2), hackbench; cyclictest with --cyclictest (slow).
 * --quick: one repeat, tiny sizes (a CI smoke run: a few minutes). --wait-quiet S: before each run,
 * wait up to S seconds while another QEMU VM runs on the host (they share its CPUs).
 * Tuned parameter sets from `npm run bench:tune` (docs/results/tuning.json) run as "<entry>+tuned"
 * beside their library default on the workload they were tuned for (--no-tuned: leave them out).
 * Each library scheduler's medians against the kernel default's, with the fixture's fingerprint
 * (profiled in the same boot), go into library/<name>/history.json (replacing that file's records
 * of the same fixtures): the seed library ships measured results, so search_library's history part
 * works from the first query (--no-seed, --quick or --no-write: leave the seed library alone).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { ensureKernel } from '../core/kernel/fetch.js';
import { cacheDir, repoRoot } from '../core/paths.js';
import { otherQemuVms, runBenchmark, SandboxPool, type BenchmarkResult, type Candidate } from '../core/bench/runner.js';
import { installedScxEntries } from '../core/bench/scx-candidates.js';
import { peerSection } from '../core/bench/scx-peers.js';
import { sideBySide, type BatchEnv, type Run } from '../core/bench/batches.js';
import { chartForResult, extractAnalysis, jsonReport, markdownReport, textReport, type ReportMeta } from '../core/bench/report.js';
import { benchPlan, buildSchedulers, withTuned, writeSeedHistory, PREFERRED_LIBRARY } from '../core/bench/suite.js';

/** Samples the host for load that is not ours (other QEMU VMs) and the load average. */
class ContentionMonitor {
  private timer: NodeJS.Timeout | undefined;
  private samples = 0;
  private withOtherVm = 0;
  private maxOtherVms = 0;
  private loads: number[] = [];

  start(intervalMs = 10_000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const others = otherQemuVms();
    this.samples++;
    if (others > 0) this.withOtherVm++;
    this.maxOtherVms = Math.max(this.maxOtherVms, others);
    this.loads.push(loadavg()[0]!);
  }

  summary(): string {
    if (!this.samples) return 'not measured';
    const sorted = [...this.loads].sort((a, b) => a - b);
    const mid = sorted[sorted.length >> 1] ?? 0;
    const vm = this.withOtherVm
      ? `another QEMU VM (not this benchmark's) was running in ${this.withOtherVm} of ${this.samples} samples taken every 10 s (up to ${this.maxOtherVms} at once)`
      : `no other QEMU VM seen in ${this.samples} samples taken every 10 s`;
    return `${vm}; 1-minute load average median ${mid.toFixed(2)}, max ${Math.max(...this.loads).toFixed(2)} (this benchmark's own VM keeps it near 2)`;
  }

  get contended(): boolean {
    return this.withOtherVm > 0;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      only: { type: 'string' },
      policies: { type: 'string' },
      cyclictest: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string' },
      'no-tuned': { type: 'boolean', default: false },
      'no-seed': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      readFileSync(new URL(import.meta.url), 'utf8')
        .split('*/')[0]!
        .replace(/^\/\*\*?|^ \* ?/gm, ''),
    );
    return;
  }
  const quick = values.quick!;
  const repeats = values.repeats !== undefined ? Number(values.repeats) : undefined;
  if (repeats !== undefined && !(Number.isInteger(repeats) && repeats >= 1)) throw new Error('--repeats takes a whole number >= 1');
  const waitQuietS = values['wait-quiet'] !== undefined ? Number(values['wait-quiet']) : 0;
  if (!(waitQuietS >= 0)) throw new Error('--wait-quiet takes seconds >= 0');
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const plan = benchPlan({ quick, repeats, only, cyclictest: values.cyclictest });
  if (!plan.workloads.length) throw new Error(`--only ${values.only} matches no workload (batch-join, batch-hash, wakeup, build, hackbench, cyclictest)`);
  // sched-ext/scx's schedulers that set-up installed run in every benchmark, beside ours (issue 17)
  const policyNames = values.policies
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean) ?? ['fifo', ...PREFERRED_LIBRARY, ...installedScxEntries()];
  const outMd = values.out ?? join(repoRoot, 'docs', 'results.md');
  const chartDir = join(dirname(outMd), 'results');
  const t0 = performance.now();
  const say = (s: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

  say('building workload fixtures (make -C fixtures/workloads)');
  await execa('make', ['-C', join(repoRoot, 'fixtures', 'workloads')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const kernel = await ensureKernel({ log: say });
  const useLoader = existsSync(join(cacheDir(), 'sched-rust-target', 'release', 'scx-loader'));
  const built = await buildSchedulers(kernel, policyNames, { unitMs: plan.batchUnitMs, useLoader, log: say });
  const candidates = built.filter((b) => !b.skipped).map((b) => b.candidate);
  const skipped = built.filter((b) => b.skipped).map((b) => b.skipped!);
  for (const s of skipped) say(`not benchmarked: ${s}`);
  say(`policies: default, ${candidates.map((c) => c.name).join(', ')}; workloads: ${plan.workloads.map((w) => w.id).join(', ')}; ${plan.repeats} repeat(s)`);

  // the tuned parameter sets of `npm run bench:tune`, each beside its library default on the
  // workload it was tuned for (same object, the tuned --param values)
  const tunedFor = new Map<string, Candidate[]>();
  const tuningFile = join(repoRoot, 'docs', 'results', 'tuning.json');
  if (useLoader && !values['no-tuned'] && existsSync(tuningFile)) {
    const tuned = JSON.parse(readFileSync(tuningFile, 'utf8')) as {
      entry: string;
      workload: { id: string };
      best: { params: Record<string, number | boolean> } | null;
      defaults: { params: Record<string, number | boolean> };
    }[];
    for (const t of tuned) {
      if (!t.best || JSON.stringify(t.best.params) === JSON.stringify(t.defaults.params) || !plan.workloads.some((w) => w.id === t.workload.id)) continue;
      let base = candidates.find((c) => c.name === t.entry);
      if (!base) base = (await buildSchedulers(kernel, [t.entry], { unitMs: plan.batchUnitMs, useLoader, log: say }))[0]?.candidate;
      if (!base?.object) continue;
      const list = tunedFor.get(t.workload.id) ?? [];
      list.push({
        ...base,
        name: `${t.entry}+tuned`,
        params: t.best.params,
        source: `library/${t.entry} with tuned ${JSON.stringify(t.best.params)} (docs/tuning.md)`,
      });
      tunedFor.set(t.workload.id, list);
      say(`${t.entry}+tuned on ${t.workload.id}: ${JSON.stringify(t.best.params)}`);
    }
  }

  const monitor = new ContentionMonitor();
  monitor.start();
  const results: BenchmarkResult[] = [];
  const ran: { result: BenchmarkResult; candidates: Candidate[] }[] = [];
  const pool = new SandboxPool({ cpus: 2, log: say });
  try {
    for (const w of plan.workloads) {
      const these = withTuned(candidates, tunedFor.get(w.id) ?? []);
      const r = await runBenchmark({
        workload: w,
        candidates: these,
        repeats: plan.repeats,
        sessions: pool,
        waitQuietS,
        profile: true,
        onProgress: (p) => {
          if (p.phase === 'run') say(`[${p.done + 1}/${p.total}] ${p.message}`);
        },
        log: say,
      });
      results.push(r);
      ran.push({ result: r, candidates: these });
      console.log(`\n${textReport(r)}\n`);
    }
  } finally {
    await pool.close();
    monitor.stop();
  }

  const env = results.find((r) => r.environment.kernel)?.environment;
  const notes: string[] = [];
  if (useLoader)
    notes.push(
      `Library schedulers were loaded with scx-loader (sched-rust); schedulers with a \`unit_us\` parameter got unit_us=${plan.batchUnitMs * 1000} to match the batch's unit. The FIFO template was loaded at its defaults.`,
    );
  else notes.push('scx-loader was not built (npm run setup builds it): no scheduler could be loaded, every run failed.');
  if (plan.workloads.some((w) => w.id.startsWith('batch-')))
    notes.push(
      "The uneven-batch fixtures (batch-join, batch-hash) name every job by its length (job_L039_00), and ljf and sjf read it from the task name (unit_us): their rows check the policies' ordering, not job knowledge, and no headline rests on them. Real programs whose jobs do not name their length: docs/batches.md (npm run bench:batches).",
    );
  for (const s of skipped) notes.push(`Not benchmarked: ${s}.`);
  if (monitor.contended)
    notes.push(
      'Measured while other QEMU VMs shared this 2-core host (see "other load on the host" and the per-policy count of runs beside another VM): absolute times are inflated and noisier than on an idle machine; the interleaved order spreads that over all policies, but a single run can still land in a busy or a quiet moment.',
    );
  const restarts = results.reduce((n, r) => n + r.restarts, 0);
  if (restarts)
    notes.push(
      `The sandbox VM crashed ${restarts} time(s) and was rebooted (same calibration, same work); the policy running at the time got no further runs — see the failures of each workload.`,
    );
  const meta: ReportMeta = {
    date: new Date().toISOString(),
    command: `node dist/bin/run-bench.js${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    hostCpus: env?.hostCpus ?? 0,
    hostModel: env?.hostModel ?? 'unknown',
    kernel: env?.kernel ?? null,
    accelerator: env?.accelerator ?? null,
    acceleratorReason: env?.acceleratorReason ?? null,
    guestCpus: env?.guestCpus ?? null,
    durationMs: Math.round(performance.now() - t0),
    contention: monitor.summary(),
    repeats: plan.repeats,
    quick,
    notes,
  };
  if (values['no-write']) return;
  await mkdir(chartDir, { recursive: true });
  const charts: Record<string, string> = {};
  for (const r of results) {
    const file = join(chartDir, `${r.workload.id}.svg`);
    await writeFile(file, chartForResult(r));
    charts[r.workload.id] = relative(dirname(outMd), file);
  }
  await writeFile(join(chartDir, 'results.json'), jsonReport(results, meta));
  const previous = existsSync(outMd) ? extractAnalysis(readFileSync(outMd, 'utf8')) : null;
  // the side-by-side with sched-ext/scx's schedulers, when they ran (core/bench/scx-peers.ts)
  const peers = peerSection(results, (n) => ran.some((x) => x.candidates.some((c) => c.name === n && c.scx)));
  // the real-program batches' (a)-(d) side by side, from the last npm run bench:batches (docs/results/batches.json)
  const batchesJson = join(dirname(outMd), 'results', 'batches.json');
  const batches = existsSync(batchesJson) ? (JSON.parse(readFileSync(batchesJson, 'utf8')) as { runs: Run[]; env: BatchEnv }) : null;
  const real = batches ? sideBySide(batches.runs, batches.env) : '';
  await writeFile(outMd, markdownReport(results, meta, charts, previous) + (peers ? `\n${peers}` : '') + (real ? `\n${real}` : ''));
  say(`wrote ${relative(process.cwd(), outMd)} and ${relative(process.cwd(), chartDir)}/ (${readdirSync(chartDir).length} files)`);
  if (quick || values['no-seed']) return;
  for (const [entry, n] of Object.entries(await writeSeedHistory(ran, meta.date))) say(`library/${entry}/history.json: ${n} result(s) from this run`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
