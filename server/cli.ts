#!/usr/bin/env node
/**
 * scx-mcp command line.
 *   scx-mcp kernel [--refresh] [--release R]   fetch/check the sandbox kernel
 *   scx-mcp demo                               build the FIFO template, run it in the sandbox, print results
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ScxEngines } from './engines.js';
import { MonitorConfig } from '../core/monitor/rules.js';
import { isScxError, ScxError } from '../core/errors.js';
import { callTool } from './in-process.js';
import { createServer } from './compose.js';
import { startHttp } from './http.js';
import { hostToken, tokenNotice, userTokenPath } from './token.js';
import { ensureKernel } from '../core/kernel/fetch.js';
import { stateDir, templatesDir } from '../core/paths.js';
import { runSandboxJob } from '../core/sandbox/session.js';
import { buildFile } from '../core/builds/build.js';

const RUN_AS = [
  '--run-as <user>',
  'whom workload commands on the host run as (USER|UID[:GROUP|GID]; "root" only if really meant); default: the sudo user (SUDO_UID/SUDO_GID), or the server\'s own user when it is not root',
] as const;

/** Decide whom host commands run as now, so a bad --run-as stops the start; without one, say if host commands will be refused. */
function checkRunAs(engines: ScxEngines, o: { allowHost?: boolean; runAs?: string }): void {
  if (o.runAs !== undefined) {
    const u = engines.targets.hostCommands.who();
    console.error(`scx-mcp: host commands run as uid ${u.uid} gid ${u.gid}${u.name ? ` (${u.name})` : ''}`);
  } else if (o.allowHost) {
    try {
      const u = engines.targets.hostCommands.who();
      console.error(`scx-mcp: host commands run as uid ${u.uid} gid ${u.gid}${u.name ? ` (${u.name})` : ''}, from ${u.source}`);
    } catch (e) {
      console.error(`scx-mcp: warning: host commands will be refused: ${(e as Error).message}${isScxError(e) && e.hint ? `\n  hint: ${e.hint}` : ''}`);
    }
  }
}

const program = new Command();
program.name('scx-mcp').description('MCP server and tools for building, verifying and deploying sched_ext schedulers');

program
  .command('serve')
  .description('run the MCP server: stdio by default, or Streamable HTTP (+ legacy SSE) with --http PORT')
  .option('--http <port>', 'listen for MCP over HTTP on this port (0 = any free port)')
  .option('--host <host>', 'address to bind with --http', '127.0.0.1')
  .option('--token <token>', 'bearer token required from HTTP clients (required off loopback; also $SCX_MCP_TOKEN)')
  .option(
    '--allow-host',
    'allow deploy_scx (and profiling commands) on this machine; needs root and a sched_ext kernel; over HTTP it always needs a bearer token (generated if not given)',
  )
  .option(...RUN_AS)
  .option(
    '--monitor-hook <command>',
    'host command run on every monitor alert, regression and rollback, with the event as JSON in $SCX_MONITOR_EVENT (e.g. one that starts an agent)',
  )
  .action(async (o: { http?: string; host: string; token?: string; allowHost?: boolean; runAs?: string; monitorHook?: string }) => {
    const engines = new ScxEngines({
      allowHost: Boolean(o.allowHost),
      runAs: o.runAs,
      monitorHook: o.monitorHook,
      log: (l) => console.error(`[scx-mcp] ${l}`),
    });
    checkRunAs(engines, o);
    let closing = false;
    const shutdown = async () => {
      if (closing) return;
      closing = true;
      await engines.close();
      process.exit(0);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    if (o.http !== undefined) {
      const given = o.token ?? (process.env.SCX_MCP_TOKEN || undefined);
      // no request without the token, on loopback too: with --allow-host the server loads kernel code
      // and runs host commands; without it, its sandbox guest still reads the host's filesystem
      const t = o.allowHost ? hostToken(given) : hostToken(given, userTokenPath());
      const h = await startHttp(engines, { port: Number(o.http), host: o.host, token: t.token, requireToken: true });
      console.error(`scx-mcp: Streamable HTTP on ${h.url}/mcp, legacy SSE on ${h.url}/sse`);
      console.error(tokenNotice(`${h.url}/mcp`, t));
    } else {
      const server = createServer(engines);
      const transport = new StdioServerTransport();
      transport.onclose = () => void shutdown();
      process.stdin.on('end', () => void shutdown());
      await server.connect(transport);
    }
  });

program
  .command('call')
  .description('call one tool with JSON arguments through the MCP server (same code path), printing progress and the result')
  .argument('<tool>', 'tool name, e.g. build_scheduler')
  .argument('[json]', 'arguments as JSON', '{}')
  .option('--allow-host', 'as for serve')
  .option(...RUN_AS)
  .action(async (tool: string, json: string, o: { allowHost?: boolean; runAs?: string }) => {
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(json) as Record<string, unknown>;
    } catch (e) {
      throw new ScxError('BAD_INPUT', `arguments are not valid JSON: ${(e as Error).message}`);
    }
    const engines = new ScxEngines({ allowHost: Boolean(o.allowHost), runAs: o.runAs });
    checkRunAs(engines, o);
    try {
      const result = await callTool(engines, tool, args, (m) => process.stderr.write(`[${tool}] ${m}\n`));
      console.log(JSON.stringify(result.structuredContent ?? result.content, null, 2));
      const text = result.content.find((c) => c.type === 'text');
      if (text && text.type === 'text') process.stderr.write(`\n${text.text}\n`);
      if (result.isError) process.exitCode = 1;
    } finally {
      await engines.close();
    }
  });

program
  .command('monitor')
  .description('deploy a verified build with the monitor and keep watching (unattended operation); events print as JSON lines')
  .requiredOption('--build <id>', 'a build that passed verify_bpf')
  .option('--target <target>', 'sandbox or host', 'sandbox')
  .option('--config <json>', 'monitor settings as JSON (intervalMs, baselineSamples, rules, probe, hook, rollbackTo)', '{}')
  .option('--allow-host', 'as for serve')
  .option(...RUN_AS)
  .action(async (o: { build: string; target: string; config: string; allowHost?: boolean; runAs?: string }) => {
    if (o.target !== 'sandbox' && o.target !== 'host') throw new ScxError('BAD_INPUT', `unknown target "${o.target}"`, 'use sandbox or host');
    let raw: unknown;
    try {
      raw = JSON.parse(o.config);
    } catch (e) {
      throw new ScxError('BAD_INPUT', `--config is not valid JSON: ${(e as Error).message}`);
    }
    const parsed = MonitorConfig.safeParse(raw);
    if (!parsed.success)
      throw new ScxError('BAD_INPUT', `bad monitor config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const engines = new ScxEngines({ allowHost: Boolean(o.allowHost), runAs: o.runAs, log: (l) => console.error(`[scx-mcp] ${l}`) });
    checkRunAs(engines, o);
    engines.onMonitorEvent((target, e) => console.log(JSON.stringify({ target, ...e })));
    const stop = async () => {
      engines.stopMonitor(o.target as 'sandbox' | 'host');
      await engines.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    await engines.deployMonitored(o.build, o.target, parsed.data);
  });

program
  .command('rollout')
  .description('roll a verified build out to a fleet through Ansible: start | status [ID] | abort ID (same engine as rollout_scx)')
  .argument('<action>', 'start, status or abort')
  .argument('[id]', 'rollout id (status, abort; start --resume)')
  .option('--build <id>', "start: a build verified on the fleet's kernels")
  .option('--inventory <path>', 'start: an Ansible inventory')
  .option('--config <json>', 'start: more rollout settings as JSON (limit, canary, batchSize, soakS, pollS, maxFailures, monitor, runAs, remoteDir)', '{}')
  .option('--resume', 'start: carry on the interrupted rollout ID')
  .action(async (action: string, id: string | undefined, o: { build?: string; inventory?: string; config: string; resume?: boolean }) => {
    const fleet = await import('../core/fleet/rollout.js');
    const st = await import('../core/fleet/state.js');
    const engines = new ScxEngines({ allowHost: false });
    const hooks = {
      onEvent: (e: { t: number; host?: string; event: string; detail: string }) =>
        console.error(`[rollout] ${e.t}s ${e.host ?? '-'} ${e.event}${e.detail ? `: ${e.detail}` : ''}`),
      recordResult: async (r: Parameters<Awaited<ReturnType<ScxEngines['library']>>['recordResult']>[0]) => (await engines.library()).recordResult(r),
    };
    try {
      let s;
      if (action === 'start') {
        if (o.resume) {
          if (!id) throw new ScxError('BAD_INPUT', '--resume needs the rollout id');
          s = await fleet.runRollout(id, hooks);
        } else {
          let extra: Record<string, unknown>;
          try {
            extra = JSON.parse(o.config) as Record<string, unknown>;
          } catch (e) {
            throw new ScxError('BAD_INPUT', `--config is not valid JSON: ${(e as Error).message}`);
          }
          const planned = await fleet.planRollout({
            ...extra,
            buildId: o.build ?? String(extra.buildId ?? ''),
            inventory: o.inventory ?? String(extra.inventory ?? ''),
          } as never);
          console.error(`[rollout] ${planned.id}: ${planned.batches.map((b, i) => `${i === 0 ? 'canary' : `batch ${i}`} [${b.join(', ')}]`).join(' → ')}`);
          s = await fleet.runRollout(planned.id, hooks);
        }
      } else if (action === 'status') {
        if (!id) {
          console.log(JSON.stringify((await st.listRollouts()).map(fleet.summarize), null, 2));
          return;
        }
        s = await st.loadRollout(id);
      } else if (action === 'abort') {
        if (!id) throw new ScxError('BAD_INPUT', 'abort needs the rollout id');
        s = await fleet.abortRollout(id, hooks);
      } else {
        throw new ScxError('BAD_INPUT', `unknown rollout action "${action}"`, 'start, status or abort');
      }
      console.log(JSON.stringify({ ...fleet.summarize(s), timeline: s.timeline }, null, 2));
      if (['failed', 'halted'].includes(s.status)) process.exitCode = 1;
    } finally {
      await engines.close();
    }
  });

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
    const { record, object: out } = await buildFile(join(templatesDir, 'fifo', 'fifo.bpf.c'), kernel);
    log(`built fifo.bpf.c as ${record.id} (static analysis, clang)`);
    const bench = 'hackbench -g 4 -l 200';
    const result = await runSandboxJob(
      [
        { kind: 'state' },
        { kind: 'run', command: bench, timeoutS: 120, label: 'hackbench, kernel default' },
        { kind: 'load', object: out },
        { kind: 'run', command: bench, timeoutS: 120, label: 'hackbench, fifo' },
        { kind: 'run', command: 'stress-ng --cpu 2 --timeout 5s --metrics-brief', timeoutS: 60, label: 'stress-ng 5 s, fifo' },
        { kind: 'unload' },
      ],
      { log },
    );
    const resultsDir = join(stateDir(), 'results');
    await mkdir(resultsDir, { recursive: true });
    const file = join(resultsDir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(result, null, 2));

    const t = result.timings;
    console.log(
      `\nscx-mcp sandbox demo — kernel ${result.kernel.release}, ${result.kernel.cpus} vCPUs, ${result.accelerator.kind} (${result.accelerator.reason})`,
    );
    console.log(`boot ${t.bootMs} ms, load ${t.loadMs} ms, total ${t.totalMs} ms`);
    for (const s of result.steps) {
      const secs = /Time: ([\d.]+)/.exec(s.stdout ?? '')?.[1];
      console.log(
        `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.label.padEnd(34)} ${String(Math.round(s.guestMs ?? s.hostMs)).padStart(7)} ms` +
          `${secs ? `   hackbench time ${secs} s` : ''}  state=${s.state?.state ?? '-'}${s.state?.ops ? ` (${s.state.ops})` : ''}${s.error ? `  ${s.error}` : ''}`,
      );
    }
    console.log(`state transitions: ${result.transitions.map((x) => `${x.from}→${x.to}${x.ops ? `(${x.ops})` : ''}`).join(', ')}`);
    for (const e of result.exits) console.log(`kernel: scheduler "${e.scheduler}" disabled: ${e.reason} [${e.kind}]`);
    console.log(`full results: ${file}`);
    if (!result.ok) process.exitCode = 1;
  });

// The server survives whatever one call does: every tool error is already an error result, and a
// stray rejection outside a call (a timer, a stream) is logged, not fatal to the other clients.
process.on('unhandledRejection', (e: unknown) => {
  console.error(`scx-mcp: unhandled rejection (the server goes on): ${(e as Error)?.stack ?? e}`);
});

program.parseAsync().catch((e: unknown) => {
  if (isScxError(e)) {
    console.error(`scx-mcp: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
  } else {
    console.error(`scx-mcp: ${(e as Error)?.stack ?? e}`);
  }
  process.exit(1);
});
