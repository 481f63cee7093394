/**
 * npm run bench:batches [-- --scenarios logs,media] [--scale 1] [--repeats 3] [--no-scx] [--out docs/batches.md]
 *
 * The real-program batch benchmark (core/bench/batches.ts): five scenarios of one long job and
 * twelve short ones, under the kernel default, sjf and ljf with no hints, input-size hints and
 * learned lengths, and the installed sched-ext/scx schedulers, in one sandbox boot, rounds
 * interleaved. Writes the report (docs/batches.md) after every run, and the runs as JSON beside it
 * (docs/results/batches.json).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../core/paths.js';
import { batchReport, runBatches, SCENARIOS, type BatchEnv, type Run, type Scenario } from '../core/bench/batches.js';

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string' },
    scale: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '3' },
    'no-scx': { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'docs', 'batches.md') },
  },
});
const scenarios = (values.scenarios?.split(',') ?? [...SCENARIOS]) as Scenario[];
const unknown = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
if (unknown.length) {
  console.error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const scale = Number(values.scale);
const repeats = Number(values.repeats);
if (!(scale > 0) || !Number.isInteger(repeats) || repeats < 1) {
  console.error('--scale must be a positive number and --repeats a positive integer');
  process.exit(2);
}
const out = values.out!;
const json = join(dirname(out), 'results', 'batches.json');
const loads: number[] = [];
let otherVms = 0;
const write = async (runs: Run[], env: BatchEnv) => {
  for (const r of runs.slice(loads.length)) {
    loads.push(r.load1);
    otherVms = Math.max(otherVms, r.otherVms);
  }
  const l = `host load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (1-min average at each run's start), ${otherVms ? `up to ${otherVms} other VM(s) running` : 'no other VM running'}`;
  await mkdir(dirname(json), { recursive: true });
  await writeFile(out, batchReport(runs, env, { loads: l }));
  await writeFile(json, JSON.stringify({ env, runs }, null, 1) + '\n');
};
const { runs, env } = await runBatches({ scenarios, scale, repeats, noScx: values['no-scx'], log: (l) => console.log(l), progress: write });
await write(runs, env);
console.log(`wrote ${out} and ${json}`);
