/**
 * What tools/list costs a client: it reads the whole answer once per session (names, descriptions, input
 * and output schemas). Measured on the server's real answer through the SDK's Client, against budgets set
 * from the measurement plus headroom (docs/improvement-loop.md has the figures): a tool that grows its
 * schemas or description past them fails here, and has to be trimmed or the budget argued up.
 *
 * The output schemas name what an agent reads and let the rest through (tools/shapes.ts), so the structured
 * results must still validate against them: the SDK's Client compiles every output schema at listTools
 * (an unresolvable $ref fails there) and checks each structured result of callTool against its tool's.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { connectInProcess } from '../../server/in-process.js';
import { allTools } from '../../tools/index.js';

/**
 * Bytes of the tools/list result as JSON (what goes over the wire, less the JSON-RPC envelope). Measured
 * 2026-12-01: 97 755 B before the output schemas were shortened (output schemas 55 553 B, descriptions
 * 10 450 B, input schemas 27 771 B; largest tool deploy_scx 14 780 B), 64 173 B after (26 257, 6 624,
 * 27 333; largest tune_scheduler 9 764 B). The budgets are that plus about 12 %.
 */
const BUDGET = {
  total: 72_000,
  outputSchemas: 30_000,
  /** what a client shows a model: descriptions and input schemas */
  descriptionsAndInputs: 38_000,
  perTool: 11_000,
};

const bytes = (x: unknown) => Buffer.byteLength(typeof x === 'string' ? x : JSON.stringify(x ?? null));

describe('tools/list', () => {
  let client: Client;
  let close: () => Promise<void>;
  let tools: Tool[];
  let total = 0;
  beforeAll(async () => {
    ({ client, close } = await connectInProcess(new ScxEngines()));
    const listed = await client.listTools();
    tools = listed.tools;
    total = bytes(listed);
  }, 60_000);
  afterAll(async () => close?.());

  it('lists every tool, within the size budget', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(allTools.map((t) => t.name).sort());
    const rows = tools.map((t) => ({
      tool: t.name,
      bytes: bytes(t),
      description: bytes(t.description),
      input: bytes(t.inputSchema),
      output: bytes(t.outputSchema),
    }));
    const sum = (k: 'description' | 'input' | 'output') => rows.reduce((a, r) => a + r[k], 0);
    const report = `tools/list ${total} B: descriptions ${sum('description')} B, input schemas ${sum('input')} B, output schemas ${sum('output')} B\n${rows
      .sort((a, b) => b.bytes - a.bytes)
      .map((r) => `  ${r.tool}: ${r.bytes} B (description ${r.description}, input ${r.input}, output ${r.output})`)
      .join('\n')}`;
    expect(total, report).toBeLessThanOrEqual(BUDGET.total);
    expect(sum('output'), report).toBeLessThanOrEqual(BUDGET.outputSchemas);
    expect(sum('description') + sum('input'), report).toBeLessThanOrEqual(BUDGET.descriptionsAndInputs);
    for (const r of rows) expect(r.bytes, `${r.tool} is over the per-tool budget\n${report}`).toBeLessThanOrEqual(BUDGET.perTool);
  });

  it('every tool still has an output schema, closed at the top level', () => {
    for (const t of tools) {
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect((t.outputSchema as { additionalProperties?: unknown }).additionalProperties, t.name).toBe(false);
      expect(Object.keys(t.outputSchema?.properties ?? {}).length, t.name).toBeGreaterThan(1);
    }
  });

  it('structured results validate against the shortened output schemas (the Client checks each one)', async () => {
    const calls: [string, Record<string, unknown>][] = [
      ['search_library', { query: 'one long job and many short ones; the whole batch should finish sooner', limit: 3 }],
      ['search_library', { objective: 'tail_latency', constraints: { noUserspace: true } }],
      ['library_versions', { entry: 'ljf' }],
      ['library_versions', { entry: 'ljf', action: 'history' }],
    ];
    for (const [name, args] of calls) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError, `${name}: ${JSON.stringify(r.content).slice(0, 500)}`).toBeFalsy();
      expect(r.structuredContent, name).toBeDefined();
    }
    // the whole object still comes back: fields the schema does not name are there
    const r = (await client.callTool({ name: 'search_library', arguments: { query: 'finish the whole batch sooner' } })) as CallToolResult;
    const top = (r.structuredContent as { results: Record<string, unknown>[] }).results[0]!;
    expect(Object.keys(top)).toEqual(expect.arrayContaining(['name', 'score', 'parts', 'why', 'objective', 'presets']));
  });
});
