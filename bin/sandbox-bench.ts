/**
 * npm run bench:sandbox [-- --runs N]
 * How long the sandbox takes: boot (with the host's filesystem mounted), scheduler load (scx-loader), unload, the whole run, and verify_bpf's whole verification (boot, verifier,
 * 1 s of stress, unload), over N runs; and the guest image's size.
 * A benchmark, not a test: it prints a table and asserts nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureKernel } from '../core/kernel/fetch.js';
import { templatesDir } from '../core/paths.js';
import { ensureGuestImage } from '../core/sandbox/image.js';
import { runSandboxJob } from '../core/sandbox/session.js';
import { buildFile, buildScheduler } from '../core/builds/build.js';
import { verifyBuild } from '../core/builds/verify.js';
import { summarize } from '../core/model/stats.js';
import { formatTable } from '../core/bench/table.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const kernel = await ensureKernel();
const { object: obj } = await buildFile(join(templatesDir, 'fifo', 'fifo.bpf.c'), kernel);

const boot: number[] = [];
const load: number[] = [];
const verify: number[] = [];
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

// verify_bpf's engine on the FIFO template: a VM of its own each time
const fifo = await buildScheduler({
  source: readFileSync(join(templatesDir, 'fifo', 'fifo.bpf.c'), 'utf8'),
  fileName: 'fifo.bpf.c',
  origin: { kind: 'source' },
  kernel,
});
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const v = await verifyBuild(fifo.id, { kernel, stressSeconds: 1 });
  if (v.verdict === 'pass') verify.push(performance.now() - t0);
  process.stderr.write(`verify ${i + 1}/${runs}: ${v.verdict} in ${Math.round(performance.now() - t0)} ms\n`);
}
const imageBytes = statSync(await ensureGuestImage({ kernel })).size;

const row = (name: string, xs: number[]) => {
  const s = summarize(xs);
  return [name, s.n, Math.round(s.min), Math.round(s.median), Math.round(s.max)];
};
console.log(`\nsandbox timings, kernel ${kernel.release}, ${accel}, ${runs} runs (host ms); guest image ${(imageBytes / 1024).toFixed(0)} KiB\n`);
console.log(
  formatTable(
    ['phase', 'n', 'min', 'median', 'max'],
    [
      row('boot (QEMU start → agent ready)', boot),
      row('load fifo, scx-loader (put + attach + state)', load),
      row('unload (remove link → disabled)', unload),
      row('whole run incl. dmesg + shutdown', total),
      row('verify_bpf fifo (boot, verifier, 1 s stress, unload)', verify),
    ],
  ),
);
