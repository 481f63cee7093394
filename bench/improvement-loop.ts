/**
 * npm run bench:loop [-- --label run1] [--scenario logs] [--scale 1] [--measure profile|benchmark|control]
 *
 * Issue 21, item 6: the tool-call budget of one improvement loop. A scripted agent starts the
 * real server over stdio (the SDK's StdioClientTransport, as an MCP client would) and goes
 *   profile_workload → search_library → build_scheduler → verify_bpf → deploy_scx (sandbox)
 *   → profile_workload again (or benchmark_schedulers) → record_result [→ rollback if worse]
 * (or, with --measure benchmark, the merged loop: … verify_bpf → benchmark_schedulers, which measures the
 * build beside the kernel default in one boot of its own and records the result itself: no deploy, no record_result)
 * (--measure control: only profile_workload, four times under the kernel default: how much the order of runs alone moves it)
 * for one real workload: a real-program batch of fixtures/batches (default: `logs`, gzip -9 and
 * sort over generated web-server logs, one long job and twelve short ones, all started at once).
 * Every call after the first is decided from what earlier results said (their structured
 * content): the entry comes from the search's ranking, the build id from the build, the metrics
 * from the profiles. Nothing is asserted: it reports per call and in total the number of calls,
 * the wall time of each, the bytes of tool output the agent had to read (text blocks, resource
 * links and the structured content as JSON; images apart) and ≈ tokens (bytes / 4), and the
 * largest single result. A benchmark, not a test.
 *
 * It uses a state and a library directory of its own (defaults .scx-work/loop-state and
 * .scx-work/loop-lib, inside the checkout because the sandbox guest does not see the host's /tmp),
 * so a second run sees the first's recorded history. It waits while /tmp/scx-quiet exists (a
 * timing-sensitive test run). Output: a markdown table on stdout and <out>/<label>.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

// ---- where things are --------------------------------------------------------------------------

/** The checkout: the nearest directory above this file whose package.json is scx-mcp's (dist/bench/ → root). */
const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'scx-mcp') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the scx-mcp checkout above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
})();

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const label = arg('label', `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const scenario = arg('scenario', 'logs');
const scale = arg('scale', '1');
const measure = arg('measure', 'profile') as 'profile' | 'benchmark' | 'control';
const outDir = resolve(arg('out', join(root, '.scx-work', 'loop-runs')));
const state = resolve(process.env.SCX_MCP_STATE ?? join(root, '.scx-work', 'loop-state'));
const library = resolve(process.env.SCX_MCP_LIBRARY ?? join(root, '.scx-work', 'loop-lib'));
const QUIET = '/tmp/scx-quiet';
mkdirSync(outDir, { recursive: true });
mkdirSync(state, { recursive: true });

// ---- the workload: a real-program batch, generated once (deterministic) -------------------------

const batchDir = join(root, '.scx-work', 'loop-work', `${scenario}-x${scale}`);
if (!existsSync(join(batchDir, 'jobs.txt'))) {
  execFileSync('python3', [join(root, 'fixtures/batches/gen.py'), scenario, batchDir, '--scale', scale], { stdio: 'inherit' });
}
const command = `sh ${join(root, 'fixtures/batches/run-batch.sh')} ${batchDir}`;
const jobs = readFileSync(join(batchDir, 'jobs.txt'), 'utf8').split('\n').filter(Boolean);
const programs = [...new Set(jobs.map((j) => j.split(' ')[0]))];
// what the user asked for, in words (the agent's brief); the objective follows from it
const goal = `a batch of ${jobs.length} ${programs.join('/')} jobs started at once, one long and ${jobs.length - 1} short; finish the whole batch sooner`;
const workloadName = `${scenario} batch (${programs.join('+')}, 1 long + ${jobs.length - 1} short, scale ${scale})`;

// ---- the client and the accounting ---------------------------------------------------------------

interface Call {
  n: number;
  tool: string;
  args: string;
  why: string;
  wallMs: number;
  isError: boolean;
  textBytes: number;
  structuredBytes: number;
  linkBytes: number;
  imageBytes: number;
  readBytes: number;
  tokens: number;
  /** The largest top-level fields of the structured content, by JSON size. */
  heaviest: { field: string; bytes: number }[];
  progress: number;
  quietSeen: boolean;
}
const calls: Call[] = [];
const notifications = { count: 0, bytes: 0 };
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const json = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));

function shortArgs(a: Record<string, unknown>): string {
  const s = JSON.stringify(a, (k, v) => (k === 'fingerprint' ? '{…profile fingerprint…}' : typeof v === 'string' && v.length > 90 ? `${v.slice(0, 60)}…` : v));
  return s.length > 200 ? `${s.slice(0, 197)}…` : s;
}

async function waitQuiet(): Promise<void> {
  let said = false;
  while (existsSync(QUIET)) {
    if (!said) console.error(`[loop] ${QUIET} exists (a timing-sensitive test run): waiting before booting a VM`);
    said = true;
    await new Promise((r) => setTimeout(r, 60_000));
  }
}

const serverLog = createWriteStream(join(outDir, `${label}.server.log`));
const env = { ...process.env, SCX_MCP_STATE: state, SCX_MCP_LIBRARY: library, SCX_MCP_WORKSPACE: process.env.SCX_MCP_WORKSPACE ?? root } as Record<
  string,
  string
>;
const transport = new StdioClientTransport({ command: process.execPath, args: [join(root, 'dist/server/cli.js'), 'serve'], cwd: root, env, stderr: 'pipe' });
transport.stderr?.on('data', (d: Buffer) => serverLog.write(d));
const client = new Client({ name: 'scx-improvement-loop', version: '1' });
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
  notifications.count++;
  notifications.bytes += bytes(json(n.params));
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type S = Record<string, any>;

async function call(tool: string, args: Record<string, unknown>, why: string): Promise<{ s: S; r: CallToolResult }> {
  await waitQuiet();
  let progress = 0;
  const t0 = performance.now();
  const r = (await client.callTool({ name: tool, arguments: args }, undefined, {
    timeout: 1_800_000,
    resetTimeoutOnProgress: true,
    maxTotalTimeout: 3_600_000,
    onprogress: () => void progress++,
  })) as CallToolResult;
  const wallMs = performance.now() - t0;
  let textBytes = 0;
  let linkBytes = 0;
  let imageBytes = 0;
  for (const c of r.content ?? []) {
    if (c.type === 'text') textBytes += bytes(c.text);
    else if (c.type === 'image') imageBytes += c.data.length;
    else linkBytes += bytes(json(c));
  }
  const structuredBytes = r.structuredContent ? bytes(json(r.structuredContent)) : 0;
  const readBytes = textBytes + structuredBytes + linkBytes;
  const heaviest = Object.entries(r.structuredContent ?? {})
    .map(([field, v]) => ({ field, bytes: bytes(json(v)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3);
  const c: Call = {
    n: calls.length + 1,
    tool,
    args: shortArgs(args),
    why,
    wallMs,
    isError: Boolean(r.isError),
    textBytes,
    structuredBytes,
    linkBytes,
    imageBytes,
    readBytes,
    tokens: Math.round(readBytes / 4),
    heaviest,
    progress,
    quietSeen: existsSync(QUIET),
  };
  calls.push(c);
  writeFileSync(join(outDir, `${label}.call${c.n}-${tool}.json`), JSON.stringify(r, null, 1));
  const text = (r.content ?? []).map((x) => (x.type === 'text' ? x.text : '')).join('\n');
  console.error(
    `[loop] ${c.n}. ${tool} ${(wallMs / 1000).toFixed(1)} s, ${readBytes} B read${r.isError ? ' (ERROR)' : ''}: ${text.split('\n')[0]!.slice(0, 160)}`,
  );
  return { s: (r.structuredContent ?? {}) as S, r };
}

class Stop extends Error {}
const fail = (what: string, r: CallToolResult) => {
  throw new Stop(
    `${what}: ${(r.content ?? [])
      .map((x) => (x.type === 'text' ? x.text : ''))
      .join(' ')
      .slice(0, 400)}`,
  );
};

// ---- the agent ---------------------------------------------------------------------------------------

const started = new Date();
const load0 = loadavg();
await waitQuiet();
const t0 = performance.now();
await client.connect(transport);
const connectMs = performance.now() - t0;
const tl0 = performance.now();
const listed = await client.listTools();
const listMs = performance.now() - tl0;
const catalogueBytes = bytes(json(listed));
// what of it a model is shown (name, description, input schema: the output schemas are for the client's validation)
const catalogueParts = {
  descriptions: listed.tools.reduce((a, t) => a + bytes(t.description ?? ''), 0),
  inputSchemas: listed.tools.reduce((a, t) => a + bytes(json(t.inputSchema)), 0),
  outputSchemas: listed.tools.reduce((a, t) => a + bytes(json(t.outputSchema)), 0),
  largestOutputSchema: listed.tools.map((t) => ({ tool: t.name, bytes: bytes(json(t.outputSchema)) })).sort((a, b) => b.bytes - a.bytes)[0],
};
const trace: string[] = [];
let outcome = 'stopped';
let chosen: string | null = null;
let measuredMs: { baseline: number | null; under: number | null } = { baseline: null, under: null };
let environment: { kernel: string | null; accelerator: string | null } = { kernel: null, accelerator: null };

try {
  // 1. the workload under the kernel default, in the sandbox
  const base = await call('profile_workload', { target: 'sandbox', command, timeoutS: 900 }, 'baseline under the kernel default');
  if (base.r.isError || base.s.exitCode !== 0) fail('baseline profile', base.r);
  measuredMs.baseline = base.s.wallMs;
  trace.push(`baseline ${base.s.wallMs.toFixed(0)} ms, tags ${base.s.tags.join(', ')}`);

  // the control (--measure control): the same command again and again under the kernel default, nothing deployed,
  // to see how much of a before/after difference is the order of the runs (the first reads its inputs cold over 9p)
  if (measure === 'control') {
    const walls = [base.s.wallMs as number];
    for (let i = 2; i <= 4; i++) {
      const again = await call('profile_workload', { target: 'sandbox', command, timeoutS: 900 }, `control: run ${i} under the kernel default`);
      walls.push(again.s.wallMs);
    }
    trace.push(
      `control, kernel default every time: ${walls.map((w) => `${w.toFixed(0)} ms`).join(', ')} (run 2 is ${((1 - walls[1]! / walls[0]!) * 100).toFixed(1)} % faster than run 1)`,
    );
    throw new Stop('control done');
  }

  // 2. search: the user's goal in words, its objective (the batch's end: makespan), the profile's fingerprint
  const found = await call(
    'search_library',
    { query: goal, objective: 'makespan', fingerprint: base.s.fingerprint },
    "rank entries for the goal, with the profile's fingerprint",
  );
  if (found.r.isError) fail('search', found.r);
  // candidates in rank order: the ones that serve the objective and can run here
  const candidates = (found.s.results as S[]).filter(
    (x) => ['main', 'serves'].includes(x.objective.match) && !x.why.some((w: string) => w.startsWith('unavailable')),
  );
  trace.push(`search ranked ${(found.s.results as S[]).map((x) => x.name).join(' > ')}; candidates ${candidates.map((x) => x.name).join(', ')}`);

  // 3-4. build and verify the best candidate; on a failure, the next one (and the next page when this one is used up)
  let buildId: string | null = null;
  let page = found.s;
  for (let i = 0; ; i++) {
    if (i === candidates.length) {
      if (page.next == null) break;
      const more = await call(
        'search_library',
        { query: goal, objective: 'makespan', fingerprint: base.s.fingerprint, offset: page.next },
        'every candidate on the page failed: the next page',
      );
      if (more.r.isError) break;
      page = more.s;
      candidates.push(
        ...(page.results as S[]).filter((x) => ['main', 'serves'].includes(x.objective.match) && !x.why.some((w: string) => w.startsWith('unavailable'))),
      );
      continue;
    }
    const cand = candidates[i]!;
    const built = await call('build_scheduler', { entry: cand.name }, `the best-ranked candidate left: ${cand.name}`);
    if (built.r.isError || !built.s.ok) {
      trace.push(`${cand.name} did not build`);
      continue;
    }
    // the same input is the same build: one that passed verify_bpf on its kernel before says so (run 2 onwards)
    environment.kernel ??= built.s.kernel ?? null;
    const before = built.s.verification as { verdict: string; kernel: string; reasons: string[] } | null;
    if (before && before.kernel === built.s.kernel && before.verdict === 'pass') {
      trace.push(`${cand.name} (${built.s.buildId}) was verified before on ${before.kernel}: no verify_bpf`);
      buildId = built.s.buildId;
      chosen = cand.name;
      break;
    }
    if (before && before.kernel === built.s.kernel && before.verdict === 'fail') {
      trace.push(`${cand.name} failed verification before: ${before.reasons.join('; ')}`);
      continue;
    }
    const verified = await call('verify_bpf', { buildId: built.s.buildId }, `verify ${built.s.buildId} (${cand.name})`);
    environment = { kernel: verified.s.sandbox?.kernel?.release ?? null, accelerator: verified.s.sandbox?.accelerator?.kind ?? null };
    if (verified.r.isError || verified.s.verdict !== 'pass') {
      trace.push(`${cand.name} failed verification: ${(verified.s.reasons ?? []).join('; ')}`);
      continue;
    }
    buildId = built.s.buildId;
    chosen = cand.name;
    break;
  }
  if (!buildId) throw new Stop('no candidate built and verified');

  // 5. deploy on the long-lived sandbox, the monitor told which workload it is (the benchmark variant measures in a
  // VM of its own, beside the kernel default: deploying first would measure nothing, so it does not)
  const workload = { name: workloadName, command, fingerprint: base.s.fingerprint };
  if (measure === 'profile') {
    const dep = await call(
      'deploy_scx',
      { buildId, target: 'sandbox', monitor: { workload: { name: workload.name, fingerprint: workload.fingerprint } } },
      `deploy ${chosen} (${buildId})`,
    );
    if (dep.r.isError || dep.s.status?.schedExt?.state !== 'enabled') fail('deploy', dep.r);
  }

  let benchRecorded: string | null = null;
  // 6. measure under it: the same profile (README step 6), or a side-by-side benchmark
  let metrics: Record<string, number>;
  let baseline: Record<string, number>;
  if (measure === 'profile') {
    const under = await call('profile_workload', { target: 'sandbox', command, timeoutS: 900 }, `the workload under ${chosen}`);
    if (under.r.isError || under.s.exitCode !== 0) fail('profile under the scheduler', under.r);
    measuredMs.under = under.s.wallMs;
    metrics = { makespan_ms: under.s.wallMs };
    baseline = { makespan_ms: base.s.wallMs };
  } else {
    const b = await call('benchmark_schedulers', { buildIds: [buildId], command }, `${chosen} beside the kernel default, interleaved`);
    if (b.r.isError) fail('benchmark', b.r);
    const row = (name: string) => (b.s.policies as S[]).find((p) => p.name === name)?.metrics?.wall_ms?.median as number | undefined;
    const d = row('default');
    const u = (b.s.policies as S[]).find((p) => p.name !== 'default')?.metrics?.wall_ms?.median as number | undefined;
    if (d == null || u == null) fail('benchmark medians', b.r);
    measuredMs = { baseline: d!, under: u! };
    trace.push(`benchmark_schedulers recorded: ${((b.s.recorded ?? []) as S[]).map((x) => `${x.entry} ${x.outcome}`).join(', ') || 'nothing'}`);
    benchRecorded = ((b.s.recorded ?? []) as S[])[0]?.outcome ?? null;
    environment.accelerator ??= b.s.environment?.accelerator ?? null;
    metrics = { makespan_ms: u! };
    baseline = { makespan_ms: d! };
  }
  trace.push(`makespan ${measuredMs.baseline!.toFixed(0)} ms default → ${measuredMs.under!.toFixed(0)} ms under ${chosen}`);

  // 7. record it against the baseline (benchmark_schedulers records library builds itself: skip the duplicate)
  let recorded: S | null = null;
  if (measure === 'profile') {
    const rec = await call('record_result', { buildId, target: 'sandbox', workload, metrics, baseline }, 'store the result: search and memory learn');
    if (rec.r.isError) fail('record', rec.r);
    recorded = rec.s;
    outcome = rec.s.outcome;
  } else {
    outcome = String(benchRecorded ?? 'not recorded');
  }
  trace.push(`recorded: ${recorded ? `${recorded.outcome} ${JSON.stringify(recorded.improvements)}` : 'by benchmark_schedulers'}`);

  // 8. worse than the kernel default: undo it (README step 8)
  if (outcome === 'regressed' && measure === 'profile') {
    await call('rollback', { target: 'sandbox', to: 'default' }, `${chosen} regressed: back to the kernel default`);
  }
} catch (e) {
  if (!(e instanceof Stop)) throw e;
  trace.push(`stopped: ${e.message}`);
}
const totalMs = performance.now() - t0;
await client.close().catch(() => undefined);
serverLog.end();

// ---- the report ----------------------------------------------------------------------------------------

const sum = (f: (c: Call) => number) => calls.reduce((a, c) => a + f(c), 0);
const largest = calls.reduce<Call | null>((a, c) => (!a || c.readBytes > a.readBytes ? c : a), null);
const kvm = existsSync('/dev/kvm');
const report = {
  label,
  started: started.toISOString(),
  command,
  scenario,
  scale,
  measure,
  goal,
  state,
  library,
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', kvmDevice: kvm, loadavgStart: load0, loadavgEnd: loadavg(), node: process.version },
  environment,
  chosen,
  outcome,
  measuredMs,
  trace,
  connectMs,
  catalogue: { listToolsMs: listMs, bytes: catalogueBytes, tokens: Math.round(catalogueBytes / 4), tools: listed.tools.length, ...catalogueParts },
  calls,
  notifications,
  totals: {
    calls: calls.length,
    wallMs: totalMs,
    callMs: sum((c) => c.wallMs),
    readBytes: sum((c) => c.readBytes),
    tokens: Math.round(sum((c) => c.readBytes) / 4),
    textBytes: sum((c) => c.textBytes),
    structuredBytes: sum((c) => c.structuredBytes),
    imageBytes: sum((c) => c.imageBytes),
    largest: largest ? { n: largest.n, tool: largest.tool, bytes: largest.readBytes, tokens: largest.tokens } : null,
  },
};
writeFileSync(join(outDir, `${label}.json`), JSON.stringify(report, null, 1));

const kb = (b: number) => (b / 1024).toFixed(1);
const md = [
  `### ${label}`,
  '',
  `${started.toISOString()}, ${report.machine.cpus} cores (${report.machine.model}), ${kvm ? '/dev/kvm present' : 'no /dev/kvm'}, sandbox ${environment.accelerator ?? '(accelerator: no verify_bpf this run)'} on ${environment.kernel ?? '?'}, load ${load0.map((x) => x.toFixed(1)).join('/')} at the start, ${report.machine.loadavgEnd.map((x) => x.toFixed(1)).join('/')} at the end.`,
  `Workload: \`${command}\` (${jobs.length} jobs: ${programs.join(', ')}). Measure: ${measure}. Chosen: ${chosen ?? '-'}; outcome ${outcome}.`,
  '',
  '| # | tool | decided from | wall s | text B | structured B | read B | ≈ tokens | heaviest fields (B) |',
  '|---|---|---|---|---|---|---|---|---|',
  ...calls.map(
    (c) =>
      `| ${c.n} | ${c.tool}${c.isError ? ' (error)' : ''} | ${c.why} | ${(c.wallMs / 1000).toFixed(1)} | ${c.textBytes} | ${c.structuredBytes} | ${c.readBytes} | ${c.tokens} | ${c.heaviest.map((h) => `${h.field} ${h.bytes}`).join(', ')} |`,
  ),
  `| | **total** | ${calls.length} calls | **${(totalMs / 1000).toFixed(1)}** | ${report.totals.textBytes} | ${report.totals.structuredBytes} | **${report.totals.readBytes}** | **${report.totals.tokens}** | largest: #${largest?.n} ${largest?.tool} ${largest?.readBytes} B |`,
  '',
  `Connect (server start + initialize) ${(connectMs / 1000).toFixed(1)} s; tools/list ${kb(catalogueBytes)} KB (≈ ${report.catalogue.tokens} tokens, ${listed.tools.length} tools), read once per session: descriptions ${kb(catalogueParts.descriptions)} KB, input schemas ${kb(catalogueParts.inputSchemas)} KB (what a model is shown: ≈ ${Math.round((catalogueParts.descriptions + catalogueParts.inputSchemas) / 4)} tokens), output schemas ${kb(catalogueParts.outputSchemas)} KB (largest: ${catalogueParts.largestOutputSchema?.tool} ${kb(catalogueParts.largestOutputSchema?.bytes ?? 0)} KB). Images (base64, not counted above): ${report.totals.imageBytes} B. Log notifications: ${notifications.count} (${notifications.bytes} B).`,
  '',
  ...trace.map((t) => `- ${t}`),
  '',
].join('\n');
writeFileSync(join(outDir, `${label}.md`), md);
console.log(md);
