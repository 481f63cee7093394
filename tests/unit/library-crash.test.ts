/** Killing the process in the middle of writes loses no entry and leaves a readable library. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LibraryStore } from '../../core/library/store.js';
import { repoRoot } from '../../core/paths.js';

describe('crash safety', () => {
  it('a writer SIGKILLed mid-way: every entry it finished is intact, the db parses, the store reopens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scx-crash-'));
    const script = join(dir, 'writer.mjs');
    writeFileSync(script, `
      import { LibraryStore } from ${JSON.stringify(join(repoRoot, 'dist/core/library/store.js'))};
      const store = await LibraryStore.open({ dir: process.argv[2] });
      const base = (await store.get('fifo')).entry;
      const src = (await store.get('fifo')).source;
      for (let i = 0; ; i++) {
        await store.create({ entry: { ...base, name: 'crash_' + i, source: 'crash_' + i + '.bpf.c' }, source: src + '\\n// ' + 'x'.repeat(20000) });
        await store.recordResult({ entry: 'crash_' + i, params: {}, target: 'sandbox', workload: { name: 'w' + i }, metrics: { m: i }, outcome: 'neutral', at: new Date().toISOString() });
        process.stdout.write('done ' + i + '\\n');
      }
    `);
    const lib = join(dir, 'lib');
    const child = spawn(process.execPath, [script, lib], { stdio: ['ignore', 'pipe', 'pipe'] });
    let done = -1;
    child.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/done (\d+)/g)) done = Number(m[1]);
    });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (done >= 5) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
    });
    await new Promise((r) => child.on('exit', r));
    const store = await LibraryStore.open({ dir: lib });
    for (let i = 0; i <= done; i++) {
      const e = await store.get(`crash_${i}`);
      expect(e.source.length).toBeGreaterThan(20000);
      expect(store.history(`crash_${i}`)).toHaveLength(1);
    }
    // whatever was half-written when it died is either whole or absent, never corrupt
    for (const s of store.list()) await store.get(s.name);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
