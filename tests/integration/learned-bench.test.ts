/**
 * Learned lengths through benchmark_schedulers: the same batch (fixtures/batches logs scenario:
 * gzip and sort over generated logs, one long job and twelve short ones) benchmarked twice. The
 * first call has no hints: sjf runs under scx-job-hints --learn and the call records each
 * program's CPU time for this batch. The second call, again without hints, gets them back as argv
 * hints and says so (hints.from = "learned").
 */
import { join } from 'node:path';
import { execa } from 'execa';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { ScxEngines } from '../../server/engines.js';
import { cacheDir, repoRoot } from '../../core/paths.js';
import { connectInProcess } from '../../server/in-process.js';

describe('benchmark_schedulers learns job lengths of a recurring batch', () => {
  const engines = new ScxEngines({ allowHost: false });
  afterAll(() => engines.close());

  it('the second run of the batch gets argv hints learned from the first', async () => {
    const dir = join(cacheDir(), 'batches', 'logs-test');
    await execa('python3', [join(repoRoot, 'fixtures/batches/gen.py'), 'logs', dir, '--scale', '0.3']);
    const { client, close } = await connectInProcess(engines);
    try {
      const call = async (name: string, args: Record<string, unknown>) => {
        const r = (await client.callTool({ name, arguments: args }, undefined, { timeout: 1_200_000, resetTimeoutOnProgress: true })) as CallToolResult;
        if (r.isError) throw new Error(`${name}: ${r.content.map((c) => (c.type === 'text' ? c.text : '')).join(' ')}`);
        return { s: r.structuredContent as Record<string, any>, text: r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n') };
      };
      const b = (await call('build_scheduler', { entry: 'sjf' })).s;
      expect(b.ok).toBe(true);
      const args = { buildIds: [b.buildId], command: `sh ${join(repoRoot, 'fixtures/batches/run-batch.sh')} ${dir}`, repeats: 1, record: false };
      const first = await call('benchmark_schedulers', args);
      expect(first.s.error).toBeNull();
      expect(first.s.hints).toMatchObject({ from: 'none', rules: 0 });
      expect(first.s.hints.learnedNow).toBeGreaterThanOrEqual(13); // the 13 jobs, and whatever else ran long enough
      const second = await call('benchmark_schedulers', args);
      expect(second.s.error).toBeNull();
      expect(second.s.hints.from).toBe('learned');
      expect(second.s.hints.rules).toBeGreaterThanOrEqual(13);
      expect(second.text).toMatch(/learned from earlier runs of this batch/);
      console.log(second.text);
    } finally {
      await close();
    }
  });
});
