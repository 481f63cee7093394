/** The git-versioned library: create, modify (source and patch) with lineage, versions, diff, revert, tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryStore } from '../../core/library/store.js';
import { repoRoot } from '../../core/paths.js';

describe('library store', () => {
  let dir: string;
  let store: LibraryStore;
  const fifo = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scx-store-'));
    store = await LibraryStore.open({ dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is seeded from the repo library and is its own git repository', async () => {
    expect(store.list().length).toBeGreaterThanOrEqual(12);
    expect(execFileSync('git', ['-C', dir, 'log', '--oneline'], { encoding: 'utf8' })).toMatch(/open library/);
    const again = await LibraryStore.open({ dir }); // reopening changes nothing
    expect(again.list().map((e) => e.name)).toEqual(store.list().map((e) => e.name));
  });

  it('create → modify → patch → revert, each a commit with lineage', async () => {
    const base = (await store.get('fifo')).entry;
    const created = await store.create({ entry: { ...base, name: 'my_fifo', title: 'My FIFO', source: 'my_fifo.bpf.c', createdBy: 'agent' }, source: fifo, author: 'agent' });
    expect(created.version).toBe(1);
    const v2 = await store.modify('my_fifo', { source: fifo.replace('slice_us, 5000', 'slice_us, 7000'), message: 'longer slice' });
    expect(v2).toMatchObject({ version: 2, parent: 'my_fifo@1' });
    const cur = (await store.get('my_fifo')).source;
    const patch = [
      '--- a/my_fifo.bpf.c', '+++ b/my_fifo.bpf.c', '@@ -23,1 +23,1 @@',
      '-SCX_PARAM(u64, slice_us, 7000);', '+SCX_PARAM(u64, slice_us, 9000);', '',
    ].join('\n');
    expect(cur.split('\n')[22]).toBe('SCX_PARAM(u64, slice_us, 7000);');
    const v3 = await store.modify('my_fifo', { patch, message: 'even longer' });
    expect(v3.version).toBe(3);
    expect((await store.get('my_fifo')).source).toContain('slice_us, 9000');
    await expect(store.modify('my_fifo', { patch: patch.replace('7000', '1234') })).rejects.toThrow(/does not apply/);

    const versions = await store.versions('my_fifo');
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(await store.diff('my_fifo', 1, 3)).toMatch(/-SCX_PARAM\(u64, slice_us, 5000\);[\s\S]*\+SCX_PARAM\(u64, slice_us, 9000\);/);

    const reverted = await store.revert('my_fifo', 1);
    expect(reverted.version).toBe(4);
    const now = await store.get('my_fifo');
    expect(now.source).toBe(fifo);
    expect(now.entry.parent).toBe('my_fifo@1');
  });

  it('records test results in the entry (and its commit)', async () => {
    await store.recordTest('my_fifo', { kind: 'verifier', kernel: '7.3.4', at: new Date().toISOString(), pass: true, details: { insns: 42 } });
    const tests = JSON.parse(readFileSync(join(dir, 'entries/my_fifo/tests.json'), 'utf8')) as { kind: string; pass: boolean }[];
    expect(tests.at(-1)).toMatchObject({ kind: 'verifier', pass: true });
    expect(execFileSync('git', ['-C', dir, 'log', '-1', '--format=%s'], { encoding: 'utf8' })).toMatch(/test my_fifo v4: verifier pass/);
  });

  it('refuses bad names, duplicates and unknown entries clearly', async () => {
    await expect(store.get('../etc')).rejects.toThrow(/not a valid scheduler name/);
    await expect(store.get('nope')).rejects.toThrow(/no library entry "nope"/);
    const base = (await store.get('fifo')).entry;
    await expect(store.create({ entry: base, source: fifo })).rejects.toThrow(/exists already/);
  });
});
