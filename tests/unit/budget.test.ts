/** The output budget (server/budget.ts), the log store (core/logs.ts) and bounded guest replies (core/sandbox/reply.ts). */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { createServer, registerTool } from '../../server/compose.js';
import type { ToolDefinition } from '../../tools/define.js';
import { logPath, readLogPart, saveLog, LOG_PART_CHARS } from '../../core/logs.js';
import { LineReader, repairCutReply } from '../../core/sandbox/reply.js';
import { boundLogData, boundResourceContents, boundToolResult, cutText, LOG_MESSAGE_CHARS, textSize } from '../../server/budget.js';

beforeAll(() => {
  process.env.SCX_MCP_STATE = mkdtempSync(join(tmpdir(), 'scx-budget-'));
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

describe('cutText', () => {
  it('keeps short text, and the head and the end of long text with a marker', () => {
    expect(cutText('short', 100)).toBe('short');
    const long = `HEAD${'x'.repeat(100_000)}THE REASON`;
    const c = cutText(long, 1000, 'scx://logs/abc');
    expect(c.length).toBeLessThanOrEqual(1000);
    expect(c.startsWith('HEAD')).toBe(true);
    expect(c.endsWith('THE REASON')).toBe(true);
    expect(c).toMatch(/\[\.\.\. \d+ of 100014 characters cut here; the whole text: scx:\/\/logs\/abc \.\.\.\]/);
  });
});

describe('tool results within the budget', () => {
  it('a 2 MB field is cut, the whole text kept as a log and linked', async () => {
    const log = `${'0: (79) r1 = *(u64 *)(r0 +0)\n'.repeat(70_000)}R0 invalid mem access 'map_value_or_null'\n`;
    const r = await boundToolResult({ summary: 'FAIL: verifier', structured: { verdict: 'fail', sandbox: { loadFailure: { log } } } }, 64 * 1024);
    expect(textSize(r)).toBeLessThanOrEqual(64 * 1024);
    const cut = (r.structuredContent as { sandbox: { loadFailure: { log: string } } }).sandbox.loadFailure.log;
    expect(cut).toContain("R0 invalid mem access 'map_value_or_null'");
    const link = r.content.find((c) => c.type === 'resource_link');
    expect(link).toMatchObject({ type: 'resource_link', uri: expect.stringMatching(/^scx:\/\/logs\/[a-f0-9]{16}$/) });
    const id = (link as { uri: string }).uri.split('/').pop()!;
    expect(readFileSync(logPath(id), 'utf8')).toBe(log);
    const text = r.content.find((c) => c.type === 'text') as { text: string };
    expect(text.text).toMatch(/structuredContent\.sandbox\.loadFailure\.log: \d+ characters, cut \(whole: scx:\/\/logs\//);
    expect(r.isError).toBeUndefined();
  });

  it('many small fields: long arrays are shortened (first and last items kept) and say so', async () => {
    const steps = Array.from({ length: 5000 }, (_, i) => ({ index: i, label: `step ${i}`, stdout: 'ok '.repeat(20) }));
    const r = await boundToolResult({ summary: 'done', structured: { steps } }, 64 * 1024);
    expect(textSize(r)).toBeLessThanOrEqual(64 * 1024);
    const kept = (r.structuredContent as { steps: { index: number }[] }).steps;
    expect(kept.length).toBeLessThan(5000);
    expect(kept[0]!.index).toBe(0);
    expect(kept[kept.length - 1]!.index).toBe(4999);
    expect((r.content[0] as { text: string }).text).toMatch(/structuredContent\.steps: \d+ of 5000 items left out \(all of them: scx:\/\/logs\//);
  });

  it('a small result is returned as it is', async () => {
    const r = await boundToolResult({ summary: 'PASS', structured: { verdict: 'pass' } });
    expect(r).toEqual({ content: [{ type: 'text', text: 'PASS' }], structuredContent: { verdict: 'pass' } });
  });

  it('an oversized error message is cut too', async () => {
    const r = await boundToolResult({ summary: `boom ${'y'.repeat(500_000)} end`, isError: true }, 64 * 1024);
    expect(r.isError).toBe(true);
    expect(textSize(r)).toBeLessThanOrEqual(64 * 1024);
  });

  it('log messages and resources are bounded', async () => {
    expect(String(boundLogData('z'.repeat(1e6))).length).toBeLessThanOrEqual(LOG_MESSAGE_CHARS);
    const r = await boundResourceContents({ contents: [{ uri: 'scx://x', text: 'q'.repeat(1e6) }] }, 64 * 1024);
    expect(String(r.contents[0]!.text).length).toBeLessThanOrEqual(64 * 1024);
    expect(String(r.contents[0]!.text)).toMatch(/the whole text: scx:\/\/logs\/[a-f0-9]{16}/);
  });
});

describe('the log store', () => {
  it('reads a log in parts, never past the end', async () => {
    const text = 'a'.repeat(LOG_PART_CHARS * 2 + 10);
    const l = await saveLog(text, { buildId: 'abcdef012345', name: 'Verifier Load' });
    expect(l.id).toBe('abcdef012345-verifier-load');
    const p = await readLogPart(l.id, 3);
    expect(p).toMatchObject({ part: 3, parts: 3, text: 'a'.repeat(10) });
    await expect(readLogPart(l.id, 4)).rejects.toThrow(/has 3 part\(s\); part 4 does not exist/);
    expect(() => logPath('../../etc/passwd')).toThrow(/not a log id/);
  });
});

describe('guest replies with bounded memory', () => {
  it('a normal reply line is passed on whole, split across chunks', () => {
    const got: string[] = [];
    const r = new LineReader((l) => got.push(l), 4096);
    r.push('1 DONE 0 1 2 ');
    r.push(`${b64('hello')} -\n2 DO`);
    r.push('NE 0\n');
    expect(got).toEqual([`1 DONE 0 1 2 ${b64('hello')} -`, '2 DONE 0']);
  });

  it('a reply with megabytes of stdout keeps its start and end, stderr whole, in valid base64', () => {
    const out = `START${'x'.repeat(3_000_000)}THE END`;
    const line = `7 DONE 1 100 200 ${b64(out)} ${b64('an error')}\n`;
    const got: Array<[string, number]> = [];
    const r = new LineReader((l, cut) => got.push([l, cut]), 64 * 1024);
    for (let i = 0; i < line.length; i += 65_536) r.push(line.slice(i, i + 65_536));
    expect(got).toHaveLength(1);
    const [l, cut] = got[0]!;
    expect(cut).toBeGreaterThan(3_000_000);
    expect(l.length).toBeLessThan(70 * 1024);
    const f = l.split(' ');
    expect(f.slice(0, 5)).toEqual(['7', 'DONE', '1', '100', '200']);
    const text = unb64(f[5]!);
    expect(text.startsWith('START')).toBe(true);
    expect(text.endsWith('THE END')).toBe(true);
    expect(text).toMatch(/bytes of output cut here by the host/);
    expect(unb64(f[6]!)).toBe('an error');
  });

  it('a huge stderr after a short stdout', () => {
    const line = repairCutReply(`3 DONE 0 1 2 ${b64('fine')} ${b64('E'.repeat(3000)).slice(0, 1000)}`, b64('E'.repeat(3000) + 'LAST').slice(-2000), 5000);
    const f = line.split(' ');
    expect(unb64(f[5]!)).toBe('fine');
    expect(unb64(f[6]!)).toMatch(/^E+\n\[\.\.\. about \d+ bytes of output cut here/);
    expect(unb64(f[6]!).endsWith('LAST')).toBe(true);
  });
});

describe('the budget applied where results are assembled (server/compose.ts)', () => {
  it('a tool that returns 3 MB answers within 64 KB, its log messages too, and the whole text is readable as scx://logs parts', async () => {
    const engines = new ScxEngines();
    const server = createServer(engines);
    const huge = `${'walk line\n'.repeat(300_000)}THE REASON\n`;
    registerTool(server, engines, {
      name: 'flood',
      title: 'flood',
      description: 'returns too much',
      input: { n: z.number().optional() },
      output: { log: z.string(), items: z.array(z.number()) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async handle(_i, ctx) {
        await ctx.log('info', 'x'.repeat(1_000_000));
        return { structured: { log: huge, items: Array.from({ length: 20_000 }, (_, i) => i) }, summary: 'flooded' };
      },
    } as unknown as ToolDefinition);
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    const client = new Client({ name: 't', version: '1' });
    const logs: string[] = [];
    client.setNotificationHandler(
      (await import('@modelcontextprotocol/sdk/types.js')).LoggingMessageNotificationSchema,
      (n) => void logs.push(String(n.params.data)),
    );
    await client.connect(a);
    await client.setLoggingLevel('debug');
    const r = (await client.callTool({ name: 'flood', arguments: {} })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(textSize(r)).toBeLessThanOrEqual(64 * 1024);
    const sc = r.structuredContent as { log: string; items: number[] };
    expect(sc.log).toMatch(/THE REASON\n$/);
    expect(sc.items[0]).toBe(0);
    expect(sc.items[sc.items.length - 1]).toBe(19_999);
    expect(logs.length).toBe(1);
    expect(logs[0]!.length).toBeLessThanOrEqual(LOG_MESSAGE_CHARS);
    const uri = /structuredContent\.log: \d+ characters, cut \(whole: (scx:\/\/logs\/[a-f0-9]+)\)/.exec((r.content[0] as { text: string }).text)![1]!;
    expect(r.content.some((c) => c.type === 'resource_link' && c.uri === uri)).toBe(true);
    const link = { uri };
    const whole = (await client.readResource({ uri: link.uri })).contents[0] as { text: string };
    expect(whole.text.length).toBeLessThanOrEqual(64 * 1024);
    const parts = Number(/in (\d+) parts/.exec(whole.text)![1]);
    expect(whole.text).toMatch(/THE REASON\n$/); // without a part: the end of the log
    let all = '';
    for (let i = 1; i <= parts; i++) {
      const p = (await client.readResource({ uri: `${link.uri}/part/${i}` })).contents[0] as { text: string };
      expect(p.text.length).toBeLessThanOrEqual(64 * 1024);
      all += p.text.replace(/^\[log [^\]]*\]\n/, '');
    }
    expect(all).toBe(huge);
    await expect(client.readResource({ uri: `${link.uri}/part/${parts + 1}` })).rejects.toThrow(/does not exist/);
    await client.close();
  });
});
