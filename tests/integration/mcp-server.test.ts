/**
 * The MCP server driven by the SDK's own Client: over stdio (the real CLI process)
 * and over Streamable HTTP and legacy SSE. Bad input of every kind must come back
 * as a clear tool error with the server still serving.
 */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { repoRoot } from '../../core/paths.js';
import { startHttp } from '../../server/http.js';

const TOOLS = [
  'benchmark_schedulers',
  'build_scheduler',
  'deploy_scx',
  'library_versions',
  'profile_workload',
  'record_result',
  'rollback',
  'rollout_abort',
  'rollout_scx',
  'rollout_status',
  'search_library',
  'tune_scheduler',
  'verify_bpf',
];
const workspace = mkdtempSync(join(tmpdir(), 'scx-ws-'));
const library = mkdtempSync(join(tmpdir(), 'scx-lib-'));
const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

async function stdioClient(): Promise<Client> {
  const client = new Client({ name: 'scx-test', version: '1' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [join(repoRoot, 'dist/server/cli.js'), 'serve'],
      cwd: workspace,
      env: { ...process.env, SCX_MCP_WORKSPACE: workspace, SCX_MCP_LIBRARY: library } as Record<string, string>,
      stderr: 'pipe',
    }),
  );
  return client;
}

describe('over stdio', () => {
  let client: Client;
  beforeAll(async () => {
    client = await stdioClient();
  });
  afterAll(async () => {
    await client?.close();
  });

  it('lists the ten tools with input and output schemas and annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.description!.length).toBeGreaterThan(80);
      expect(typeof t.annotations?.readOnlyHint).toBe('boolean');
      expect(typeof t.annotations?.destructiveHint).toBe('boolean');
    }
    expect(tools.find((t) => t.name === 'search_library')!.annotations!.readOnlyHint).toBe(true);
    expect(tools.find((t) => t.name === 'deploy_scx')!.annotations!.destructiveHint).toBe(true);
  });

  it('every tool rejects malformed arguments with a schema error, and the server stays up', async () => {
    const bad: Record<string, Record<string, unknown>> = {
      build_scheduler: { params: 'fast' },
      verify_bpf: { buildId: 'not-an-id' },
      deploy_scx: { buildId: 42 },
      rollback: { to: 'yesterday' },
      profile_workload: { seconds: -1 },
      search_library: { limit: 'all' },
      record_result: { metrics: 'good' },
      tune_scheduler: { entry: 'rr', workload: 'not-a-fixture', objective: 'makespan_ms' },
      benchmark_schedulers: { buildIds: [], workload: 'batch-join' },
    };
    for (const [name, args] of Object.entries(bad)) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError, name).toBe(true);
      expect(text(r), name).toMatch(/validation|invalid|Expected|expected/i);
    }
    expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
  });

  it('a scheduler that fails static analysis never compiles, and says where and how to fix it', async () => {
    const source = readFileSync(join(repoRoot, 'fixtures/bad/null_deref.bpf.c'), 'utf8');
    const r = (await client.callTool({ name: 'build_scheduler', arguments: { source, fileName: 'mine.bpf.c' } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as { ok: boolean; stage: string; buildId: string; findings: { rule: string; line: number; file: string }[] };
    expect(s).toMatchObject({ ok: false, stage: 'static' });
    expect(s.findings[0]).toMatchObject({ rule: 'null-check', line: 19, file: 'mine.bpf.c' });
    expect(text(r)).toMatch(/mine\.bpf\.c:19/);
    // and such a build is refused by verify and deploy
    const v = (await client.callTool({ name: 'verify_bpf', arguments: { buildId: s.buildId } })) as CallToolResult;
    expect(v.isError).toBe(true);
    expect(text(v)).toMatch(/did not build/);
    const d = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: s.buildId } })) as CallToolResult;
    expect(d.isError).toBe(true);
  });

  it('C that does not compile returns clang diagnostics with file:line', async () => {
    const source = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8').replace('return cpu;', 'return cpu +;');
    const r = (await client.callTool({ name: 'build_scheduler', arguments: { source } })) as CallToolResult;
    const s = r.structuredContent as { ok: boolean; stage: string; diagnostics: { file: string; line: number; severity: string }[] };
    expect(s.ok).toBe(false);
    expect(s.stage).toBe('compile');
    expect(s.diagnostics.find((d) => d.severity === 'error')).toMatchObject({ file: 'agent.bpf.c' });
  });

  it('refuses unknown and unverified builds, host deploys without opt-in, and paths outside the workspace', async () => {
    const unknown = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: 'abcdefabcdef' } })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/no build abcdefabcdef/);

    const fifo = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
    const built = (await client.callTool({
      name: 'build_scheduler',
      arguments: { source: fifo, fileName: 'fifo.bpf.c', params: { slice_us: 3000 } },
    })) as CallToolResult;
    const b = built.structuredContent as { ok: boolean; buildId: string; params: Record<string, number> };
    expect(b.ok).toBe(true);
    expect(b.params).toEqual({ slice_us: 3000 });
    const unverified = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: b.buildId } })) as CallToolResult;
    expect(unverified.isError).toBe(true);
    expect(text(unverified)).toMatch(/has not been verified/);
    // the host is refused for what it is (no --allow-host), before anything about the build
    for (const monitor of [false, {}]) {
      const host = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: b.buildId, target: 'host', monitor } })) as CallToolResult;
      expect(host.isError).toBe(true);
      expect(text(host)).toMatch(/refusing to deploy on the host: host deployment is off: start the server with --allow-host/);
    }
    // a monitor hook is a host command: never taken from a client
    const hook = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: b.buildId, monitor: { hook: 'touch /tmp/pwned' } } })) as CallToolResult;
    expect(hook.isError).toBe(true);
    expect(text(hook)).toMatch(/monitor.hook runs a command on the machine that runs the server[\s\S]*--monitor-hook/);

    const outside = (await client.callTool({ name: 'build_scheduler', arguments: { path: '/etc/passwd' } })) as CallToolResult;
    expect(outside.isError).toBe(true);
    expect(text(outside)).toMatch(/outside the workspace/);
    // a path outside that does not exist gets the same answer (no probing the host's files)
    const missing = (await client.callTool({ name: 'build_scheduler', arguments: { path: '../../no/such/file.bpf.c' } })) as CallToolResult;
    expect(text(missing)).toMatch(/outside the workspace/);
    const inside = join(workspace, 'mine.bpf.c');
    writeFileSync(inside, fifo);
    const ok = (await client.callTool({ name: 'build_scheduler', arguments: { path: 'mine.bpf.c' } })) as CallToolResult;
    expect((ok.structuredContent as { ok: boolean }).ok).toBe(true);

    const badParam = (await client.callTool({ name: 'build_scheduler', arguments: { source: fifo, params: { slice_ms: 1 } } })) as CallToolResult;
    expect(badParam.isError).toBe(true);
    expect(text(badParam)).toMatch(/unknown parameter "slice_ms"[\s\S]*slice_us/);

    const hostProfile = (await client.callTool({ name: 'profile_workload', arguments: { target: 'host', command: 'true' } })) as CallToolResult;
    expect(hostProfile.isError).toBe(true);
    expect(text(hostProfile)).toMatch(/--allow-host/);
    expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
  });

  it('rollback on a target that runs the default is a no-op', async () => {
    const r = (await client.callTool({ name: 'rollback', arguments: { target: 'sandbox', to: 'default' } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ changed: false, to: null });
  });

  it('search_library answers from the seeded library and explains its ranking', async () => {
    const r = (await client.callTool({
      name: 'search_library',
      arguments: { query: 'one very long job and many short ones; finish the whole batch sooner', limit: 3 },
    })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as { results: { name: string; why: string[]; parts: Record<string, number> }[] };
    expect(s.results.length).toBeGreaterThan(0);
    expect(s.results[0]!.why.length).toBeGreaterThan(0);
  });

  it('exposes the memory and library entries as resources, and the tuning prompt', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('scx://memory');
    const mem = await client.readResource({ uri: 'scx://memory' });
    expect(mem.contents[0]).toMatchObject({ mimeType: 'text/markdown' });
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain('improve_workload');
  });
});

describe('over HTTP', () => {
  let engines: ScxEngines;
  let http: Awaited<ReturnType<typeof startHttp>>;
  beforeAll(async () => {
    process.env.SCX_MCP_LIBRARY = library;
    engines = new ScxEngines();
    http = await startHttp(engines, { port: 0 });
  });
  afterAll(async () => {
    await http?.close();
    await engines?.close();
  });

  it('Streamable HTTP: lists tools and calls one', async () => {
    const client = new Client({ name: 'scx-http', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${http.url}/mcp`)));
    expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
    const r = (await client.callTool({ name: 'rollback', arguments: {} })) as CallToolResult;
    expect(r.structuredContent).toMatchObject({ changed: false });
    await client.close();
  });

  it('legacy HTTP+SSE: lists tools', async () => {
    const client = new Client({ name: 'scx-sse', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${http.url}/sse`)));
    expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
    await client.close();
  });

  it('refuses a foreign Origin', async () => {
    const r = await fetch(`${http.url}/mcp`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(r.status).toBe(403);
  });

  it('will not bind off loopback without a token, and checks the token when it has one', async () => {
    await expect(startHttp(engines, { port: 0, host: '0.0.0.0' })).rejects.toThrow(/without a token/);
    const guarded = await startHttp(engines, { port: 0, host: '127.0.0.1', token: 's3cret-token' });
    try {
      expect((await fetch(`${guarded.url}/health`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/health`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}/health`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
      const client = new Client({ name: 'scx-token', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${guarded.url}/mcp`), { requestInit: { headers: { authorization: 'Bearer s3cret-token' } } }),
      );
      expect((await client.listTools()).tools).toHaveLength(TOOLS.length);
      await client.close();
    } finally {
      await guarded.close();
    }
  });
});

describe('the whole flow on a fixture, for real (stdio)', () => {
  let client: Client;
  beforeAll(async () => {
    client = await stdioClient();
  });
  afterAll(async () => {
    await client?.close();
  });
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 900_000 })) as CallToolResult;
    expect(r.isError, `${name}: ${text(r)}`).toBeFalsy();
    return r.structuredContent as Record<string, any>;
  };
  const workload = 'batch --kind hash --jobs 1x8,8x1 --unit-ms 40 --json';

  it('profile → search → build → verify → deploy → run → record → rollback', async () => {
    // 1. baseline profile in the sandbox (kernel default)
    const base = await call('profile_workload', { target: 'sandbox', command: workload, timeoutS: 300 });
    expect(base.exitCode).toBe(0);
    expect(base.tasks.seen).toBeGreaterThanOrEqual(9);
    let status = await call('rollback', { target: 'sandbox', to: 'default' });
    expect(status.status.schedExt).toMatchObject({ state: 'disabled', ops: null });

    // 2. search with the profile's fingerprint and a description of the goal
    const found = await call('search_library', {
      query: 'one long job and many short jobs, finish the whole batch sooner',
      fingerprint: base.fingerprint,
      limit: 5,
    });
    const names = found.results.map((r: { name: string }) => r.name);
    expect(names).toContain('ljf');

    // 3. build the longest-job-first entry, 4. verify it in a throwaway VM
    const built = await call('build_scheduler', { entry: 'ljf' });
    expect(built.ok).toBe(true);
    // (with a progress token: the client hears each stage)
    const progress: string[] = [];
    const vr = (await client.callTool({ name: 'verify_bpf', arguments: { buildId: built.buildId, stressSeconds: 3 } }, undefined, {
      timeout: 900_000,
      onprogress: (p) => void progress.push(`${p.progress}/${p.total}: ${p.message}`),
    })) as CallToolResult;
    expect(vr.isError, text(vr)).toBeFalsy();
    const verified = vr.structuredContent as Record<string, any>;
    expect(progress).toEqual(expect.arrayContaining(['1/5: loading (kernel verifier)', '5/5: verdict: pass']));
    expect(verified.verdict, verified.reasons.join('; ')).toBe('pass');
    expect(verified.programs.length).toBeGreaterThan(0);
    // veristat-style numbers for every program, from the verifier's own statistics (the loader's --verifier-stats)
    for (const p of verified.programs) {
      // ljf's own callbacks (ljf_exit) and the job-length core's it points at (joblen_*, bpf-templates/scx_joblen.bpf.h)
      expect(p.name, JSON.stringify(p)).toMatch(/^(ljf|joblen)_/);
      expect(p.verifiedInsns).toBeGreaterThan(0);
      expect(p.totalStates).toBeGreaterThanOrEqual(0);
      expect(p.peakStates).toBeGreaterThanOrEqual(0);
      expect(p.verificationTimeUs).toBeGreaterThan(0);
    }
    expect(verified.programs.some((p: { totalStates: number }) => p.totalStates > 0)).toBe(true);

    // 5. deploy to the long-lived sandbox, subscribed to its monitor: the client hears the monitor's
    // events as log messages, and resources/updated for the URI it subscribed to (only that one)
    const updated: string[] = [];
    const logged: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logged.push(`${n.params.logger}: ${String(n.params.data)}`));
    await client.setLoggingLevel('info');
    await client.subscribeResource({ uri: 'scx://monitor/sandbox' });
    const dep = await call('deploy_scx', {
      buildId: built.buildId,
      target: 'sandbox',
      monitor: { intervalMs: 1000, baselineSamples: 2, workload: { name: 'hash batch 1x8,8x1', fingerprint: base.fingerprint } },
    });
    expect(dep.status.schedExt).toMatchObject({ state: 'enabled', ops: 'ljf' });
    expect(dep.replaced).toBeNull();
    expect(dep.monitor.timeline.map((e: { kind: string }) => e.kind)).toEqual(['baseline', 'deployed']);
    await new Promise((r) => setTimeout(r, 500));
    expect(updated.length).toBeGreaterThanOrEqual(2);
    expect(new Set(updated)).toEqual(new Set(['scx://monitor/sandbox']));
    expect(logged).toEqual(expect.arrayContaining([expect.stringMatching(/^monitor\/sandbox: deployed: ljf deployed/)]));
    await client.unsubscribeResource({ uri: 'scx://monitor/sandbox' });

    // 6. run the workload under it
    const under = await call('profile_workload', { target: 'sandbox', command: workload, timeoutS: 300 });
    expect(under.exitCode).toBe(0);
    status = (await client.readResource({ uri: 'scx://targets/sandbox' })).contents[0] as never;
    expect(JSON.parse((status as unknown as { text: string }).text).schedExt).toMatchObject({ state: 'enabled', ops: 'ljf' });

    // 7. record the result against the baseline
    const rec = await call('record_result', {
      buildId: built.buildId,
      target: 'sandbox',
      workload: { name: 'hash batch 1x8,8x1', command: workload, fingerprint: base.fingerprint },
      metrics: { wall_ms: under.wallMs },
      baseline: { wall_ms: base.wallMs },
    });
    expect(rec.entry).toBe('ljf');
    expect(rec.recordId).toBeTruthy();
    const mem = await client.readResource({ uri: 'scx://memory' });
    expect((mem.contents[0] as { text: string }).text).toMatch(/ljf/);

    // the whole system for a second (no command): the same measurements, system-wide
    const system = await call('profile_workload', { target: 'sandbox', seconds: 1 });
    expect(system.mode).toBe('system');
    expect(system.wallMs).toBeGreaterThanOrEqual(900);
    expect(system.tasks.seen).toBeGreaterThan(0);

    // 8. roll back to the kernel default
    const rb = await call('rollback', { target: 'sandbox', to: 'default' });
    expect(rb).toMatchObject({ changed: true, to: null });
    expect(rb.from.name).toBe('ljf');
    expect(rb.status.schedExt).toMatchObject({ state: 'disabled', ops: null });
  });

  it('tune_scheduler: real trials within the budget, recorded in the history; a preset (if the defaults were beaten) builds', async () => {
    const bad = (await client.callTool({
      name: 'tune_scheduler',
      arguments: { entry: 'rr', workload: 'wakeup', objective: 'makespan_ms', quick: true },
    })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/no metric "makespan_ms"/);
    const r = (await client.callTool(
      {
        name: 'tune_scheduler',
        arguments: {
          entry: 'rr',
          workload: 'wakeup',
          objective: 'wakeup_p99_us',
          only: ['slice_us'],
          budget: 4,
          quick: true,
          preset: 'test-wakeup',
        },
      },
      undefined,
      { timeout: 900_000 },
    )) as CallToolResult;
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.content.some((c) => c.type === 'image' && c.mimeType === 'image/png')).toBe(true);
    const t = r.structuredContent as Record<string, any>;
    expect(t.trialsRun).toBeLessThanOrEqual(4);
    expect(t.trialsRun).toBeGreaterThanOrEqual(3);
    expect(t.searched.map((d: { name: string }) => d.name)).toEqual(['slice_us']);
    expect(t.environment.kernel).toMatch(/^\d+\.\d+/);
    // the defaults first, every trial measured for real beside the kernel default, and recorded
    expect(t.trials[0].candidate).toBe(0);
    for (const tr of t.trials) {
      if (tr.ok) expect(tr.metrics.wakeup_p99_us).toBeGreaterThan(0);
      expect(tr.kernelDefault.wakeup_p99_us).toBeGreaterThan(0);
      expect(tr.recordId).toMatch(/[0-9a-f-]{36}/);
    }
    expect(t.kernelDefault.trials).toBeGreaterThanOrEqual(2);
    expect(t.defaults.metrics.wakeup_p99_us.n).toBeGreaterThanOrEqual(2);
    const mem = await client.readResource({ uri: 'scx://library/rr' });
    const doc = (mem.contents[0] as { text: string }).text;
    if (t.preset) {
      expect(t.improvement.vsDefaultsPct).toBeGreaterThan(0);
      expect(doc).toContain('test-wakeup');
      const built = await call('build_scheduler', { entry: 'rr', preset: 'test-wakeup' });
      expect(built.params).toMatchObject(t.preset.params);
    } else {
      // no preset of that name (the library's own shipped presets, e.g. tuned-wakeup, are listed regardless)
      expect(doc).not.toContain('test-wakeup');
    }
  });

  it('a command as the workload: benchmark_schedulers and tune_scheduler measure its wall time, for real, and record it under the command', async () => {
    const command = 'stress-ng --cpu 2 --cpu-ops 100 --quiet';
    const rr = await call('build_scheduler', { entry: 'rr' });
    const b = await call('benchmark_schedulers', { buildIds: [rr.buildId], command, repeats: 1 });
    expect(b.workload).toMatchObject({ id: 'command', primary: 'wall_ms' });
    for (const p of b.policies) expect(p.metrics.wall_ms.median, JSON.stringify(p.failures)).toBeGreaterThan(0);
    const t = await call('tune_scheduler', { entry: 'rr', command, objective: 'wall_ms', only: ['slice_us'], budget: 2 });
    expect(t.trialsRun).toBe(2);
    for (const tr of t.trials) {
      expect(tr.ok, tr.failure ?? '').toBe(true);
      expect(tr.metrics.wall_ms).toBeGreaterThan(0);
      expect(tr.kernelDefault.wall_ms).toBeGreaterThan(0);
    }
    const doc = ((await client.readResource({ uri: 'scx://library/rr' })).contents[0] as { text: string }).text;
    expect(doc).toContain('on "command `stress-ng --cpu 2 --cpu-ops 100 --quiet`"');
    const neither = (await client.callTool({ name: 'tune_scheduler', arguments: { entry: 'rr', objective: 'wall_ms' } })) as CallToolResult;
    expect(neither.isError).toBe(true);
    expect(text(neither)).toMatch(/no workload: give workload \(a fixture id\) or command/);
  });

  it('benchmark_schedulers: builds against the kernel default in one boot, bounds and prediction, recorded in the history', async () => {
    const ljf = await call('build_scheduler', { entry: 'ljf', params: { unit_us: 10000 } });
    const sjf = await call('build_scheduler', { entry: 'sjf', params: { unit_us: 10000 } });
    const b = await call('benchmark_schedulers', { buildIds: [ljf.buildId, sjf.buildId], workload: 'batch-join', repeats: 1, quick: true });
    expect(b.policies.map((p: { name: string }) => p.name)).toEqual(['default', 'ljf', 'sjf']);
    for (const p of b.policies) {
      expect(p.status, JSON.stringify(p.failures)).toBe('ok');
      expect(p.metrics.makespan_ms.median).toBeGreaterThan(0);
      // each run is bounded by the CPU time its own jobs took: nothing beats the bound
      expect(p.metrics.makespan_ms.gapToBoundPct).toBeGreaterThan(-2);
    }
    expect(b.sameWork).toBe(true);
    expect(b.predictions.map((x: { metric: string }) => x.metric)).toEqual(['makespan_ms', 'mean_completion_ms']);
    expect(b.markdown).toMatch(/\| policy \|/);
    expect(b.recorded.map((r: { entry: string }) => r.entry)).toEqual(['ljf', 'sjf']);
    // the fixture was profiled under the kernel default in the same boot: its fingerprint is in the
    // records, so a search with a similar profile finds them (the history part of the score)
    // (what it says of the tiny quick batch varies from run to run: only its presence is checked here;
    // tests/unit/profile.test.ts checks the derivation on recorded real profiles)
    expect(b.profile.fingerprint).not.toBeNull();
    expect(b.profile.fingerprint.cpuBound).toBeGreaterThan(0);
    expect(b.profile.wallMs).toBeGreaterThan(0);
    const found = await call('search_library', { fingerprint: b.profile.fingerprint, limit: 40 }); // every entry, scx binaries too
    const scored = found.results.filter((r: { name: string }) => r.name === 'ljf' || r.name === 'sjf');
    expect(scored.length).toBe(2);
    // each ranked with results on similar workloads as evidence (`why` quotes the strongest one: for sjf
    // that is this benchmark's or the seed's batch result; ljf also has the flow test's hash batch above)
    const why = (name: string) => scored.find((r: { name: string }) => r.name === name)!.why.join(' ');
    expect(why('sjf')).toMatch(/on a similar workload "uneven batch \(join/);
    expect(why('ljf')).toMatch(/on a similar workload "(uneven batch \(join|hash batch 1x8,8x1)/);
    const entry = ((await client.readResource({ uri: 'scx://library/ljf' })).contents[0] as { text: string }).text;
    expect(entry).toMatch(/## Measured results[\s\S]*on "uneven batch \(join[^"]*\)"[\s\S]*benchmark_schedulers: median of 1 run/);
    const bad = (await client.callTool({ name: 'benchmark_schedulers', arguments: { buildIds: ['000000000000'], workload: 'wakeup' } })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/no build 000000000000/);
  });

  it('modify (a patch, verified, saved as a new version) → list → diff → revert; create (agent source saved as a new entry)', async () => {
    const original = readFileSync(join(repoRoot, 'library/rr/rr.bpf.c'), 'utf8');
    const changed = original.replace(/SCX_PARAM\(u64, slice_us, (\d+)\)/, (_m, d: string) => `SCX_PARAM(u64, slice_us, ${Number(d) * 2})`);
    expect(changed).not.toBe(original);
    const dir = mkdtempSync(join(tmpdir(), 'scx-patch-'));
    writeFileSync(join(dir, 'a'), original);
    writeFileSync(join(dir, 'b'), changed);
    const patch = (await execa('diff', ['-u', '--label', 'a/rr.bpf.c', '--label', 'b/rr.bpf.c', 'a', 'b'], { cwd: dir, reject: false })).stdout + '\n';
    const patched = await call('build_scheduler', { entry: 'rr', patch });
    expect(patched.origin).toMatchObject({ kind: 'patch', entry: 'rr', version: 1 });
    expect((await call('verify_bpf', { buildId: patched.buildId, stressSeconds: 1 })).verdict).toBe('pass');
    const saved = await call('record_result', {
      buildId: patched.buildId,
      saveAs: 'new-version',
      target: 'sandbox',
      workload: { name: 'wakeup benchmark' },
      metrics: { wakeup_p99_us: 900 },
      baseline: { wakeup_p99_us: 800 },
    });
    expect(saved.saved).toMatchObject({ name: 'rr', version: 2 });
    expect(saved.outcome).toBe('regressed');

    const list = await call('library_versions', { entry: 'rr' });
    expect(list.current).toBe(2);
    expect(list.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(list.versions[1].message).toMatch(/new version of rr from build/);
    const d = await call('library_versions', { entry: 'rr', action: 'diff', from: 1 });
    expect(d.diff).toMatch(/^-SCX_PARAM\(u64, slice_us, \d+\);?/m);
    expect(d.diff).toMatch(/^\+SCX_PARAM\(u64, slice_us, \d+\);?/m);
    const back = await call('library_versions', { entry: 'rr', action: 'revert', to: 1 });
    expect(back).toMatchObject({ current: 3, reverted: { to: 1, asVersion: 3 } });
    const rebuilt = await call('build_scheduler', { entry: 'rr' });
    expect(rebuilt.origin).toMatchObject({ entry: 'rr', version: 3 });
    const res = ((await client.readResource({ uri: 'scx://library/rr' })).contents[0] as { text: string }).text;
    expect(res).toContain(original.split('\n').find((l) => l.includes('SCX_PARAM(u64, slice_us'))!);
    expect(res).toMatch(/"parent": "rr@1"/);
    const bad = (await client.callTool({ name: 'library_versions', arguments: { entry: 'rr', action: 'revert', to: 9 } })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/rr has no version 9[\s\S]*its versions: 1, 2, 3/);

    // create: an agent's own scheduler (the FIFO template), verified, becomes a library entry
    const fifo = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
    const mine = await call('build_scheduler', { source: fifo, fileName: 'my_fifo.bpf.c' });
    expect((await call('verify_bpf', { buildId: mine.buildId, stressSeconds: 1 })).verdict).toBe('pass');
    const created = await call('record_result', {
      buildId: mine.buildId,
      saveAs: 'new-entry',
      target: 'sandbox',
      workload: { name: 'hackbench' },
      metrics: { time_s: 0.5 },
      baseline: { time_s: 0.6 },
      entry: {
        name: 'my_fifo',
        title: 'My FIFO',
        description: 'A global FIFO written by an agent from the template.',
        algorithm: 'one shared queue, first come first served',
        family: 'fifo',
        tags: ['simple'],
        useCases: ['tests'],
        limitations: ['no fairness'],
      },
    });
    expect(created.saved).toMatchObject({ name: 'my_fifo', version: 1 });
    expect((await call('library_versions', { entry: 'my_fifo' })).versions).toEqual([
      expect.objectContaining({ version: 1, message: expect.stringMatching(/create my_fifo from build/) }),
    ]);
    expect((await call('search_library', { query: 'global FIFO written by an agent', limit: 3 })).results[0].name).toBe('my_fifo');
  });

  it("C that static analysis only warns about but the verifier rejects: verify_bpf fails at the right line with the kernel's reason and a fix; deploy refuses it", async () => {
    const source = readFileSync(join(repoRoot, 'fixtures/bad/computed_key.bpf.c'), 'utf8');
    const b = await call('build_scheduler', { source, fileName: 'computed_key.bpf.c' });
    expect(b.ok).toBe(true);
    const bugLine = source.split('\n').findIndex((l) => l.includes('BUG')) + 1;
    expect(b.findings).toEqual([expect.objectContaining({ rule: 'null-check', severity: 'warning', line: bugLine })]);
    const v = await call('verify_bpf', { buildId: b.buildId, stressSeconds: 1 });
    expect(v.verdict).toBe('fail');
    expect(v.reasons).toEqual([`verifier/load: R0 invalid mem access 'map_value_or_null' at computed_key.bpf.c:${bugLine}`]);
    expect(v.sandbox.loadFailure).toMatchObject({
      stage: 'verifier',
      program: 'computed_key_enqueue',
      file: 'computed_key.bpf.c',
      line: bugLine,
      insnLimitHit: false,
    });
    expect(v.sandbox.loadFailure.hint).toMatch(/check it/);
    expect(v.sandbox.loadFailure.explanation ?? '').not.toMatch(/\.\./);
    const d = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: b.buildId } })) as CallToolResult;
    expect(d.isError).toBe(true);
    expect(text(d)).toMatch(/failed verification: verifier\/load/);
  });

  it("a scheduler that stalls fails verification with the kernel's reason and is never deployed", async () => {
    const source = readFileSync(join(repoRoot, 'fixtures/bad/stall.bpf.c'), 'utf8');
    const built = await call('build_scheduler', { source, fileName: 'stall.bpf.c' });
    expect(built.ok).toBe(true); // a warning, not an error: it compiles
    expect(built.findings.map((f: { rule: string }) => f.rule)).toContain('enqueue-drops-task');
    const v = await call('verify_bpf', { buildId: built.buildId, stressSeconds: 2 });
    expect(v.verdict).toBe('fail');
    expect(v.reasons.join(' ')).toMatch(/runnable task stall/);
    const d = (await client.callTool({ name: 'deploy_scx', arguments: { buildId: built.buildId } })) as CallToolResult;
    expect(d.isError).toBe(true);
    expect(text(d)).toMatch(/failed verification/);
  });
});
