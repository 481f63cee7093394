// Runs INSIDE a sandbox guest (node and the checkout come through the host share), as root, on a
// real sched_ext kernel: this project's own server with --allow-host, driven by the MCP SDK client
// over stdio, on target "host". Prints one JSON line per step ({"step", "ok", ...}); the first
// failed check prints {"step", "ok": false, "error"} and exits 1. Driven by host-in-guest.test.ts.
//   env: REPO, IDS (JSON {rr, sjf, one_cpu, fifo}), FOREIGN (a .bpf.o loaded outside scx-mcp)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const repo = process.env.REPO;
const ids = JSON.parse(process.env.IDS);
const sysfs = '/sys/kernel/sched_ext';
const state = () => readFileSync(join(sysfs, 'state'), 'utf8').trim();
const ops = () => (existsSync(join(sysfs, 'root/ops')) ? readFileSync(join(sysfs, 'root/ops'), 'utf8').trim() : '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let current = 'start';
const t0 = Date.now();
function report(extra = {}) {
  console.log(JSON.stringify({ step: current, ok: true, ms: Date.now() - t0, ...extra }));
}
function check(cond, what) {
  if (!cond) throw new Error(`${what} (state ${state()}, ops "${ops()}")`);
}

async function server() {
  const client = new Client({ name: 'guest-agent', version: '1' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(repo, 'dist/server/cli.js'), 'serve', '--allow-host', '--run-as', '65534:65534'],
    cwd: '/tmp',
    env: { ...process.env, SCX_MCP_WORKSPACE: '/tmp', SCX_MCP_RUN_DIR: '/run/scx-mcp' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  await client.connect(transport);
  const call = async (name, args) => {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000, resetTimeoutOnProgress: true });
    const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
    return { error: r.isError ? text : null, text, out: r.structuredContent ?? {} };
  };
  const ok = async (name, args) => {
    const r = await call(name, args);
    if (r.error) throw new Error(`${name} failed: ${r.error}\n${stderr.slice(-800)}`);
    return r.out;
  };
  return { client, transport, call, ok, pid: () => transport.pid, stderr: () => stderr };
}

try {
  current = 'start server A';
  const a = await server();
  report();

  current = 'profile_workload on the host, as the invoking user';
  const prof = await a.ok('profile_workload', { target: 'host', command: 'id -u > /tmp/whoami; stress-ng --cpu 1 --cpu-ops 300 --quiet' });
  check(prof.exitCode === 0 && prof.tasks.seen >= 1, `profile: exit ${prof.exitCode}, ${prof.tasks?.seen} tasks`);
  const who = readFileSync('/tmp/whoami', 'utf8').trim();
  check(who === '65534', `the command ran as uid ${who}, not 65534`);
  report({ uid: who, cpuMs: prof.cpu?.userMs, tasks: prof.tasks.seen });

  current = 'deploy_scx on the host through scx-loader, a build with parameters';
  const d1 = await a.ok('deploy_scx', { buildId: ids.rr, target: 'host', monitor: false });
  check(state() === 'enabled' && ops() === 'rr', 'rr is not what sched_ext runs');
  const loaders = execFileSync('sh', ['-c', 'pgrep -a scx-loader || true']).toString();
  check(/scx-loader run/.test(loaders), `no scx-loader process: ${loaders}`);
  report({ current: d1.status?.current?.name, ops: ops() });

  current = 'deploy_scx on the host with job hints (scx-job-hints)';
  const d2 = await a.ok('deploy_scx', { buildId: ids.sjf, target: 'host', hints: { job_: 40, big_: 4000 }, monitor: false });
  check(ops() === 'sjf' && d2.replaced?.name === 'rr', `sjf did not replace rr (replaced ${d2.replaced?.name})`);
  const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'name', 'job_hints']).toString());
  check(dump.length === 2, `job_hints has ${dump.length} entries, not the 2 hints`);
  report({ ops: ops(), hints: dump.length });

  current = 'rollback to the kernel default';
  const rb = await a.ok('rollback', { target: 'host', to: 'default' });
  check(state() === 'disabled' && rb.from?.name === 'sjf', `rollback left ${state()} (from ${rb.from?.name})`);
  report();

  current = 'the monitor rolls back a harmful scheduler on its own';
  const probe = 's=$(date +%s%N); stress-ng --cpu 2 --cpu-ops 400 --quiet; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))';
  await a.ok('deploy_scx', {
    buildId: ids.one_cpu, target: 'host',
    monitor: { intervalMs: 1000, baselineSamples: 3, rules: [{ metric: 'probe', alertPct: 20, rollbackPct: 35, window: 2 }], probe: { command: probe, timeoutS: 120 } },
  });
  check(ops() === 'one_cpu', 'one_cpu is not running');
  let mon;
  for (let i = 0; i < 240; i++) {
    mon = JSON.parse((await a.client.readResource({ uri: 'scx://monitor/host' })).contents[0].text);
    if (mon.rolledBack) break;
    await sleep(1000);
  }
  check(mon?.rolledBack === true, `the monitor did not roll back: ${JSON.stringify(mon?.timeline?.filter((e) => e.kind !== 'sample').slice(-4))}`);
  check(state() === 'disabled', 'one_cpu still runs after the rollback');
  const regression = mon.timeline.find((e) => e.kind === 'regression');
  const probes = mon.timeline.filter((e) => e.kind === 'sample' || e.kind === 'baseline').map((e) => e.sample?.probe ?? e.metrics?.probe ?? null);
  report({ regression: regression?.message, probes });

  current = 'the stdio client goes away: the scheduler stays deployed';
  await a.ok('deploy_scx', { buildId: ids.fifo, target: 'host', monitor: false });
  check(ops() === 'fifo', 'fifo is not running');
  const serverPid = a.pid();
  await a.client.close();
  for (let i = 0; i < 100 && serverPid && existsSync(`/proc/${serverPid}`); i++) await sleep(100);
  check(!serverPid || !existsSync(`/proc/${serverPid}`), 'server A did not exit when its client went away');
  await sleep(500);
  check(state() === 'enabled' && ops() === 'fifo', 'the scheduler did not outlive server A');
  report();

  current = 'a second server finds the first one\'s loader by its pid file and unloads it';
  const b = await server();
  const rb2 = await b.ok('rollback', { target: 'host', to: 'default' });
  check(rb2.from?.name === 'fifo' && rb2.changed === true && state() === 'disabled', `server B rolled back ${rb2.from?.name} (changed ${rb2.changed}), state ${state()}`);
  check(!/scx-loader run/.test(execFileSync('sh', ['-c', 'pgrep -a scx-loader || true']).toString()), 'a loader is still running');
  report();

  current = 'refusal when a scheduler scx-mcp did not start is active';
  const foreign = spawn('scx-loader', ['run', process.env.FOREIGN], { stdio: 'ignore' });
  for (let i = 0; i < 300 && state() !== 'enabled'; i++) await sleep(100);
  check(state() === 'enabled', 'the foreign scheduler did not start');
  const refused = await b.call('deploy_scx', { buildId: ids.fifo, target: 'host', monitor: false });
  check(refused.error && /another sched_ext scheduler is active/.test(refused.error), `not refused: ${refused.error ?? refused.text}`);
  const noop = await b.ok('rollback', { target: 'host', to: 'default' });
  check(state() === 'enabled' && noop.changed === false, 'rollback touched the foreign scheduler');
  foreign.kill('SIGTERM');
  for (let i = 0; i < 100 && state() !== 'disabled'; i++) await sleep(100);
  report({ refusal: refused.error.split('\n')[0] });

  current = 'audit';
  const audit = readFileSync('/run/scx-mcp/audit.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const kinds = audit.map((l) => `${l.event}:${l.trigger ?? l.outcome ?? ''}`);
  check(audit.filter((l) => l.event === 'deploy' && l.outcome === 'ok').length >= 4, `deploys audited: ${kinds}`);
  check(audit.some((l) => l.event === 'rollback' && /^monitor_/.test(l.trigger)), `no monitor rollback audited: ${kinds}`);
  check(audit.filter((l) => l.event === 'deploy').every((l) => /guest-agent/.test(l.actor?.client ?? '')), 'a deploy not attributed to the MCP client');
  await b.client.close();
  report({ lines: audit.length });
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ step: current, ok: false, error: String(e?.stack ?? e).slice(0, 3000) }));
  process.exit(1);
}
