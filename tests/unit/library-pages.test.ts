/**
 * Paged lists: library_versions list and history through the tool's handler on a real
 * library (a git repository opened from the seed), offset/limit/next/total.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryStore } from '../../core/library/store.js';
import { repoRoot } from '../../core/paths.js';
import type { ToolContext } from '../../tools/define.js';
import { libraryVersionsTool } from '../../tools/library-versions.js';
import { z } from 'zod';

describe('library_versions pages its lists', () => {
  let root: string;
  let store: LibraryStore;
  let ctx: ToolContext;
  const call = async (args: Record<string, unknown>) => {
    const r = await libraryVersionsTool.handle(z.object(libraryVersionsTool.input).parse(args), ctx);
    z.object(libraryVersionsTool.output).parse(r.structured); // what the server validates against outputSchema
    return r;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'scx-pages-'));
    store = await LibraryStore.open({ dir: join(root, 'lib'), seedDir: join(repoRoot, 'library') });
    for (let i = 0; i < 4; i++) await store.modify('fifo', { entry: { description: `FIFO, edit ${i + 2}` } }); // v2..v5, each a commit
    ctx = { engines: { library: async () => store } as never, progress: async () => {}, log: async () => {}, signal: new AbortController().signal };
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('versions: oldest first, in pages of `limit`, `next` until the last page', async () => {
    const all = await call({ entry: 'fifo', action: 'list', limit: 100 });
    expect(all.structured.total).toBe(5);
    expect(all.structured.next).toBeNull();
    const p1 = await call({ entry: 'fifo', action: 'list', limit: 2 });
    expect(p1.structured.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(p1.structured.next).toBe(2);
    expect(p1.summary).toMatch(/versions 1–2 of 5/);
    expect(p1.summary).toMatch(/3 more: offset 2\./);
    const p3 = await call({ entry: 'fifo', action: 'list', limit: 2, offset: 4 });
    expect(p3.structured.versions.map((v) => v.version)).toEqual([5]);
    expect(p3.structured.next).toBeNull();
    expect(p3.structured.current).toBe(5);
  });

  it("history: the entry's measured results, newest first, paged", async () => {
    const shipped = store.history('ljf');
    expect(shipped.length).toBeGreaterThan(4);
    const p1 = await call({ entry: 'ljf', action: 'history', limit: 4 });
    expect(p1.structured.total).toBe(shipped.length);
    expect(p1.structured.history.map((r) => r.id)).toEqual(
      [...shipped]
        .reverse()
        .slice(0, 4)
        .map((r) => r.id),
    );
    expect(p1.structured.next).toBe(4);
    const p2 = await call({ entry: 'ljf', action: 'history', limit: 4, offset: 4 });
    expect(p2.structured.history.length).toBe(shipped.length - 4);
    expect(p2.structured.next).toBeNull();
    expect(p2.summary).toMatch(/measured results 5–\d+ of \d+, newest first/);
    const none = await call({ entry: 'central', action: 'history' });
    expect(none.structured).toMatchObject({ history: [], total: 0, next: null });
  });
});
