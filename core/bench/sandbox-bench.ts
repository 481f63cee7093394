/**
 * npm run bench:sandbox [-- --runs N]
 * How long the sandbox takes: boot, scheduler load, unload and whole run, over N runs.
 * A benchmark, not a test: it prints a table and asserts nothing.
 */
import { join } from 'node:path';
import { ensureKernel } from '../kernel/fetch.js';
import { stateDir, templatesDir } from '../paths.js';
import { runSandboxJob } from '../sandbox/session.js';
import { compileBpf } from '../toolchain/compile.js';
import { formatTable, summarize } from './stats.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const kernel = await ensureKernel();
const obj = join(stateDir(), 'builds', 'bench', 'fifo.bpf.o');
const build = await compileBpf({ source: join(templatesDir, 'fifo', 'fifo.bpf.c'), out: obj, kernel });
if (!build.ok) throw new Error('FIFO template does not compile');

const boot: number[] = [];
const load: number[] = [];
const unload: number[] = [];
const total: number[] = [];
let accel = '';
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = await runSandboxJob([{ kind: 'load', object: obj }, { kind: 'unload' }]);
  total.push(performance.now() - t0);
  if (!r.ok) {
    console.error(`run ${i + 1} failed: ${r.error?.message ?? r.steps.find((s) => !s.ok)?.error}`);
    continue;
  }
  accel = `${r.accelerator.kind} (${r.accelerator.reason})`;
  boot.push(r.timings.bootMs);
  load.push(r.steps[0]!.hostMs);
  unload.push(r.steps[1]!.hostMs);
  process.stderr.write(`run ${i + 1}/${runs}: boot ${r.timings.bootMs} ms, load ${r.steps[0]!.hostMs} ms, total ${Math.round(total.at(-1)!)} ms\n`);
}

const row = (name: string, xs: number[]) => {
  const s = summarize(xs);
  return [name, s.n, Math.round(s.min), Math.round(s.median), Math.round(s.max)];
};
console.log(`\nsandbox timings, kernel ${kernel.release}, ${accel}, ${runs} runs (host ms)\n`);
console.log(formatTable(['phase', 'n', 'min', 'median', 'max'], [
  row('boot (QEMU start → agent ready)', boot),
  row('load fifo (put + register + state)', load),
  row('unload (remove link → disabled)', unload),
  row('whole run incl. dmesg + shutdown', total),
]));
