#!/usr/bin/env node
/**
 * scx-mcp command line.
 *   scx-mcp kernel [--refresh] [--release R]   fetch/check the sandbox kernel
 *   scx-mcp demo                               build the FIFO template, run it in the sandbox, print results
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { isScxError } from '../core/errors.js';
import { ensureKernel } from '../core/kernel/fetch.js';
import { cacheDir, templatesDir } from '../core/paths.js';
import { runSandboxJob } from '../core/sandbox/session.js';
import { compileBpf } from '../core/toolchain/compile.js';

const program = new Command();
program.name('scx-mcp').description('MCP server and tools for building, verifying and deploying sched_ext schedulers');

program
  .command('kernel')
  .description('fetch (or verify the cached) Debian kernel with sched_ext that the sandbox boots')
  .option('--refresh', 'resolve the newest kernel again even if one is cached')
  .option('--release <release>', 'a specific kernel release, e.g. 7.3.4+deb13-amd64 (also $SCX_MCP_KERNEL)')
  .option('--quiet', 'print only errors')
  .action(async (o: { refresh?: boolean; release?: string; quiet?: boolean }) => {
    const k = await ensureKernel({ refresh: o.refresh, release: o.release, log: o.quiet ? undefined : (l) => console.error(`[kernel] ${l}`) });
    if (!o.quiet) {
      console.log(`sandbox kernel ${k.release} (${k.manifest.packageVersion}, Debian ${k.manifest.suite}) in ${k.dir}`);
      console.log(`  ${k.manifest.kfuncs.length} sched_ext kfuncs; vmlinux.h sha256 ${k.manifest.files['vmlinux.h']!.sha256.slice(0, 16)}…`);
    }
  });

program
  .command('demo')
  .description('build the FIFO template and run it in the sandbox: hackbench under the kernel default and under FIFO')
  .action(async () => {
    const log = (l: string) => console.error(`[demo] ${l}`);
    const kernel = await ensureKernel({ log });
    const out = join(cacheDir(), 'builds', 'demo', 'fifo.bpf.o');
    const build = await compileBpf({ source: join(templatesDir, 'fifo', 'fifo.bpf.c'), out, kernel });
    if (!build.ok) throw new Error(`FIFO template failed to compile:\n${build.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n')}`);
    log(`compiled fifo.bpf.c in ${build.durationMs} ms`);
    const bench = 'hackbench -g 4 -l 200';
    const result = await runSandboxJob([
      { kind: 'state' },
      { kind: 'run', command: bench, timeoutS: 120, label: 'hackbench, kernel default' },
      { kind: 'load', object: out },
      { kind: 'run', command: bench, timeoutS: 120, label: 'hackbench, fifo' },
      { kind: 'run', command: 'stress-ng --cpu 2 --timeout 5s --metrics-brief', timeoutS: 60, label: 'stress-ng 5 s, fifo' },
      { kind: 'unload' },
    ], { log });
    const resultsDir = join(cacheDir(), 'results');
    await mkdir(resultsDir, { recursive: true });
    const file = join(resultsDir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(result, null, 2));

    const t = result.timings;
    console.log(`\nscx-mcp sandbox demo — kernel ${result.kernel.release}, ${result.kernel.cpus} vCPUs, ${result.accelerator.kind} (${result.accelerator.reason})`);
    console.log(`boot ${t.bootMs} ms, load ${t.loadMs} ms, total ${t.totalMs} ms`);
    for (const s of result.steps) {
      const secs = /Time: ([\d.]+)/.exec(s.stdout ?? '')?.[1];
      console.log(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.label.padEnd(34)} ${String(Math.round(s.guestMs ?? s.hostMs)).padStart(7)} ms` +
        `${secs ? `   hackbench time ${secs} s` : ''}  state=${s.state?.state ?? '-'}${s.state?.ops ? ` (${s.state.ops})` : ''}${s.error ? `  ${s.error}` : ''}`);
    }
    console.log(`state transitions: ${result.transitions.map((x) => `${x.from}→${x.to}${x.ops ? `(${x.ops})` : ''}`).join(', ')}`);
    for (const e of result.exits) console.log(`kernel: scheduler "${e.scheduler}" disabled: ${e.reason} [${e.kind}]`);
    console.log(`full results: ${file}`);
    if (!result.ok) process.exitCode = 1;
  });

program.parseAsync().catch((e: unknown) => {
  if (isScxError(e)) {
    console.error(`scx-mcp: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
  } else {
    console.error(`scx-mcp: ${(e as Error)?.stack ?? e}`);
  }
  process.exit(1);
});
