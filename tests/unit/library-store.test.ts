/**
 * The git-versioned library: seeding, create (from a template) → modify (source, patch)
 * with lineage and test results → versions, diff, revert; validation and clear errors;
 * results and the memory; several store instances (processes) sharing one library.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isScxError } from '../../core/errors.js';
import { LibraryEntry } from '../../core/model/entry.js';
import { searchLibrary } from '../../core/library/search.js';
import { defaultLibraryDir, LibraryStore } from '../../core/library/store.js';
import { repoRoot } from '../../core/paths.js';

const template = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });

function entry(name: string, over: Partial<LibraryEntry> = {}): LibraryEntry {
  return LibraryEntry.parse({
    name,
    title: `Entry ${name}`,
    description: 'a FIFO scheduler for tests',
    algorithm: 'first come first served',
    family: 'fifo',
    tags: ['simple'],
    params: [{ name: 'slice_us', type: 'u64', default: 5000, unit: 'us', description: 'slice' }],
    useCases: ['tests'],
    limitations: ['none'],
    kernelApi: { minKernel: '6.12', kfuncs: [], ops: [] },
    source: `${name}.bpf.c`,
    ...over,
  });
}

function seedWith(dir: string, names: string[]): void {
  for (const n of names) {
    mkdirSync(join(dir, n), { recursive: true });
    writeFileSync(join(dir, n, 'entry.json'), JSON.stringify(entry(n), null, 2));
    writeFileSync(join(dir, n, `${n}.bpf.c`), template);
  }
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return isScxError(e) ? `${e.code}: ${e.message}` : `not an ScxError: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('library store', () => {
  let root: string;
  let dir: string;
  let store: LibraryStore;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'scx-store-'));
    dir = join(root, 'lib');
    store = await LibraryStore.open({ dir }); // the repo's seed library
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is seeded from the repo library, is its own git repository, and reopening changes nothing', async () => {
    expect(store.list().length).toBeGreaterThanOrEqual(1);
    expect(store.problems).toEqual([]);
    expect(git(dir, 'log', '--format=%s')).toMatch(/open library: new library; seed \w+/);
    expect(git(dir, 'config', 'user.name').trim()).toBe('scx-mcp');
    const commits = git(dir, 'rev-list', '--count', 'HEAD');
    const again = await LibraryStore.open({ dir });
    expect(again.list().map((e) => e.name)).toEqual(store.list().map((e) => e.name));
    expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe(commits);
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('create from a template → modify → patch → revert: each a commit, with lineage and test results', async () => {
    const verifier = { kind: 'verifier' as const, kernel: '7.3.4', at: new Date().toISOString(), pass: true, details: { insns: 42 } };
    const created = await store.create({
      entry: entry('my_fifo', { parent: 'template:fifo', createdBy: 'agent' }),
      source: template,
      tests: [verifier],
      author: 'agent',
    });
    expect(created).toMatchObject({ name: 'my_fifo', version: 1 });
    expect(created.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(git(dir, 'log', '-1', '--format=%B')).toMatch(/create my_fifo v1 from template:fifo \(agent\)[\s\S]*verifier on 7\.3\.4: pass/);
    expect(git(dir, 'show', '--stat', '--format=', 'HEAD')).toMatch(/entries\/my_fifo\/tests\.json/);

    const line = template.split('\n').findIndex((l) => l.startsWith('SCX_PARAM(u64, slice_us,'));
    expect(line).toBeGreaterThan(0);
    const old = template.split('\n')[line]!;
    const v2 = await store.modify('my_fifo', { source: template.replace(old, 'SCX_PARAM(u64, slice_us, 7000);'), message: 'longer slice', author: 'agent' });
    expect(v2).toMatchObject({ name: 'my_fifo', version: 2, parent: 'my_fifo@1' });

    const patch = [
      '--- a/my_fifo.bpf.c',
      '+++ b/my_fifo.bpf.c',
      `@@ -${line + 1},1 +${line + 1},1 @@`,
      '-SCX_PARAM(u64, slice_us, 7000);',
      '+SCX_PARAM(u64, slice_us, 9000);',
      '',
    ].join('\n');
    const stress = { kind: 'stress' as const, kernel: '7.3.4', at: new Date().toISOString(), pass: true, numbers: { ejections: 0 } };
    const v3 = await store.modify('my_fifo', { patch, message: 'even longer', tests: [stress], entry: { description: 'a FIFO with a 9 ms slice' } });
    expect(v3).toMatchObject({ version: 3, parent: 'my_fifo@2' });
    const cur = await store.get('my_fifo');
    expect(cur.source).toContain('slice_us, 9000');
    expect(cur.entry).toMatchObject({ version: 3, parent: 'my_fifo@2', description: 'a FIFO with a 9 ms slice' });
    expect(store.tests('my_fifo').map((t) => [t.kind, t.version])).toEqual([
      ['verifier', 1],
      ['stress', 3],
    ]);

    // a patch that does not apply names the failed hunk and changes nothing
    const bad = patch.replace('-SCX_PARAM(u64, slice_us, 7000);', '-SCX_PARAM(u64, slice_us, 1234);').replace('9000', '5555');
    expect(await code(store.modify('my_fifo', { patch: bad }))).toMatch(
      /^BAD_INPUT: .*does not apply[\s\S]*failed: hunk #1 @@ -\d+,1 \+\d+,1 @@ \(-SCX_PARAM\(u64, slice_us, 1234\);\)/,
    );
    expect(await code(store.modify('my_fifo', { patch }))).toMatch(/already applied/);
    expect((await store.get('my_fifo')).entry.version).toBe(3);

    const versions = await store.versions('my_fifo');
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(versions[1]!.message).toMatch(/modify my_fifo v2 from my_fifo@1 \(agent\): longer slice/);
    const d = await store.diff('my_fifo', 1, 3);
    expect(d).toContain(`-${old}`);
    expect(d).toContain('+SCX_PARAM(u64, slice_us, 9000);');
    expect(await store.diff('my_fifo', 2)).toContain('+SCX_PARAM(u64, slice_us, 9000);');

    const reverted = await store.revert('my_fifo', 1);
    expect(reverted.version).toBe(4);
    const now = await store.get('my_fifo');
    expect(now.source).toBe(template);
    expect(now.entry).toMatchObject({ version: 4, parent: 'my_fifo@1', description: 'a FIFO scheduler for tests' });
    expect((await store.versions('my_fifo')).map((v) => v.version)).toEqual([1, 2, 3, 4]);
    // nothing is lost: v3 is still there to go back to
    expect(await store.diff('my_fifo', 3, 4)).toContain('-SCX_PARAM(u64, slice_us, 9000);');
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('records a test result in db, tests.json and a commit', async () => {
    await store.recordTest('my_fifo', {
      kind: 'verifier',
      kernel: '7.3.4',
      at: new Date().toISOString(),
      pass: false,
      details: { reason: 'R1 invalid mem access' },
    });
    const tests = JSON.parse(readFileSync(join(dir, 'entries/my_fifo/tests.json'), 'utf8')) as { kind: string; pass: boolean; version: number }[];
    expect(tests.at(-1)).toMatchObject({ kind: 'verifier', pass: false, version: 4 });
    expect(git(dir, 'log', '-1', '--format=%s')).toMatch(/test my_fifo v4: verifier FAIL on 7\.3\.4/);
  });

  it('refuses bad names, path traversal, invalid entries, duplicates, no-op changes and unknown versions clearly', async () => {
    expect(await code(store.get('../etc'))).toMatch(/^BAD_INPUT: "\.\.\/etc" is not a valid scheduler name/);
    expect(await code(store.get('nope'))).toMatch(/^OBJECT_MISSING: no library entry "nope"/);
    expect(await code(store.create({ entry: entry('my_fifo'), source: template }))).toMatch(/^BAD_INPUT: an entry named "my_fifo" exists already/);
    expect(await code(store.create({ entry: entry('evil', { source: '../../evil.bpf.c' }), source: template }))).toMatch(/^BAD_INPUT: source file name/);
    expect(await code(store.create({ entry: { ...entry('bad_tags'), tags: [] }, source: template }))).toMatch(/^BAD_INPUT: .*tags/);
    expect(await code(store.create({ entry: { ...entry('bad_family'), family: 'magic' as never }, source: template }))).toMatch(/^BAD_INPUT: .*family/);
    expect(await code(store.modify('my_fifo', { source: (await store.get('my_fifo')).source }))).toMatch(/^BAD_INPUT: nothing changed/);
    expect(await code(store.modify('my_fifo', { entry: { name: 'other' } }))).toMatch(/^BAD_INPUT: cannot rename/);
    expect(await code(store.revert('my_fifo', 99))).toMatch(/^BAD_INPUT: my_fifo has no version 99/);
    expect(await code(store.recordResult({ entry: 'nope', target: 'sandbox', workload: { name: 'w' }, metrics: { m: 1 } }))).toMatch(/^OBJECT_MISSING/);
    expect(await code(store.recordResult({ entry: 'my_fifo', target: 'moon' as never, workload: { name: 'w' }, metrics: { m: 1 } }))).toMatch(
      /^BAD_INPUT: not a valid result: target/,
    );
    expect(store.list().some((e) => ['evil', 'bad_tags', 'bad_family'].includes(e.name))).toBe(false);
  });

  it('records results (outcome from the numbers when not given) and rewrites the memory from the whole history', async () => {
    const fingerprint = { cpuBound: 0.9, ioHeavy: 0, latencySensitive: 0.1, unevenness: 0.8, manyShortTasks: 0.3, parallelism: 0.8 };
    const shipped = store.history().length; // the seed library's own measured results (library/*/history.json)
    const a = await store.recordResult({
      entry: 'my_fifo',
      target: 'sandbox',
      params: { slice_us: 9000 },
      workload: { name: 'nightly etl', fingerprint },
      metrics: { makespan_ms: 700 },
      baseline: { makespan_ms: 1000 },
    });
    expect(a.outcome).toBe('improved');
    const b = await store.recordResult({
      entry: 'my_fifo',
      target: 'sandbox',
      workload: { name: 'web p99', fingerprint: { ...fingerprint, latencySensitive: 0.9, cpuBound: 0.3 } },
      metrics: { p99_latency_us: 900, throughput_rps: 950 },
      baseline: { p99_latency_us: 600, throughput_rps: 1000 },
      note: 'long slices delay wakeups',
    });
    expect(b.outcome).toBe('regressed');
    const h = store.history('my_fifo');
    expect(h.map((r) => r.outcome)).toEqual(['improved', 'regressed']);
    expect(h[0]).toMatchObject({ version: 4, params: { slice_us: 9000 } });
    const mem = readFileSync(store.memoryPath, 'utf8');
    expect(mem).toBe(store.memoryMarkdown());
    expect(store.history()).toHaveLength(shipped + 2);
    expect(mem).toMatch(new RegExp(`Rewritten from all ${shipped + 2} recorded result`));
    expect(mem).toMatch(/\*\*my_fifo\*\* with slice_us=9000: makespan_ms \+30 % \(n=1, 1 improved\)/);
    expect(mem).toMatch(/my_fifo v4 on "web p99" \(sandbox\): regressed.*long slices delay wakeups/);
    expect(mem.match(/^# scx-mcp memory/gm)).toHaveLength(1);
    expect(git(dir, 'log', '-1', '--format=%s')).toMatch(/result my_fifo v4: regressed on "web p99"/);
    expect(git(dir, 'show', '--stat', '--format=', 'HEAD')).toMatch(/MEMORY\.md/);
  });

  it("shares one library between processes: each sees the other's writes, concurrent writes are all kept", async () => {
    const other = await LibraryStore.open({ dir });
    await other.create({ entry: entry('from_other'), source: template });
    expect(store.list().some((e) => e.name === 'from_other')).toBe(true);
    expect((await store.get('from_other')).entry.version).toBe(1);
    const before = store.history().length;
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? store : other).recordResult({ entry: 'from_other', target: 'sandbox', workload: { name: `w${i}` }, metrics: { m: i } }),
      ),
    );
    expect(store.history().length).toBe(before + 6);
    expect(other.history().length).toBe(before + 6);
    await store.modify('from_other', { entry: { title: 'changed by the first' } });
    expect((await other.get('from_other')).entry).toMatchObject({ version: 2, title: 'changed by the first' });
  });
});

describe('seeding', () => {
  it("copies new seed entries on later opens, updates untouched seeded entries, and never overwrites an agent's version", async () => {
    const root = mkdtempSync(join(tmpdir(), 'scx-seed-'));
    try {
      const seed = join(root, 'seed');
      const lib = join(root, 'lib');
      seedWith(seed, ['alpha', 'beta']);
      let s = await LibraryStore.open({ dir: lib, seedDir: seed });
      expect(s.list().map((e) => e.name)).toEqual(['alpha', 'beta']);
      await s.modify('beta', { entry: { title: 'agent title' }, author: 'agent' });

      seedWith(seed, ['gamma']);
      writeFileSync(join(seed, 'alpha', 'alpha.bpf.c'), template + '// seed v2\n');
      writeFileSync(join(seed, 'beta', 'beta.bpf.c'), template + '// seed v2\n');
      s = await LibraryStore.open({ dir: lib, seedDir: seed });
      expect(s.list().map((e) => e.name)).toEqual(['alpha', 'beta', 'gamma']);
      const alpha = await s.get('alpha');
      expect(alpha.source).toContain('// seed v2');
      expect(alpha.entry).toMatchObject({ version: 2, parent: 'alpha@1' });
      const beta = await s.get('beta');
      expect(beta.source).not.toContain('// seed v2');
      expect(beta.entry).toMatchObject({ version: 2, title: 'agent title' });

      // a broken seed entry is skipped, not fatal
      mkdirSync(join(seed, 'broken'));
      writeFileSync(join(seed, 'broken', 'entry.json'), '{"name": "broken"');
      cpSync(join(seed, 'gamma', 'gamma.bpf.c'), join(seed, 'broken', 'broken.bpf.c'));
      s = await LibraryStore.open({ dir: lib, seedDir: seed });
      expect(s.list().map((e) => e.name)).toEqual(['alpha', 'beta', 'gamma']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("imports the results a seed entry ships (history.json, presets.json) once, beside what the library has, never replacing an agent's preset", async () => {
    const root = mkdtempSync(join(tmpdir(), 'scx-seedres-'));
    try {
      const seed = join(root, 'seed');
      const lib = join(root, 'lib');
      seedWith(seed, ['alpha']);
      const fingerprint = { cpuBound: 0.9, ioHeavy: 0, latencySensitive: 0.1, unevenness: 0.8, manyShortTasks: 0.5, parallelism: 0.9 };
      const rec = (id: string, entry = 'alpha') => ({
        id,
        entry,
        version: 1,
        params: { slice_us: 20000 },
        target: 'sandbox',
        workload: { name: 'uneven batch', command: 'fixture batch-join', fingerprint },
        metrics: { makespan_ms: 700 },
        baseline: { makespan_ms: 1000 },
        primary: 'makespan_ms',
        outcome: 'improved',
        note: 'npm run bench',
        at: '2026-11-24T22:35:36.167Z',
      });
      writeFileSync(
        join(seed, 'alpha', 'history.json'),
        JSON.stringify([rec('seed-1'), rec('seed-2'), { id: 'seed-bad', entry: 'alpha' }, rec('seed-other', 'beta')]),
      );
      const preset = (name: string, slice: number) => ({
        name,
        params: { slice_us: slice },
        workload: 'uneven batch',
        at: '2026-11-24T22:27:01.819Z',
        improvementPct: 7.1,
        beyondSpread: true,
        trials: 19,
      });
      writeFileSync(join(seed, 'alpha', 'presets.json'), JSON.stringify([preset('tuned-batch-join', 30000), preset('mine', 1000)]));

      let s = await LibraryStore.open({ dir: lib, seedDir: seed });
      expect(s.history().map((h) => h.id)).toEqual(['seed-1', 'seed-2']); // the invalid one and another entry's are skipped
      expect(s.history()[0]).toMatchObject({ entry: 'alpha', outcome: 'improved', workload: { fingerprint } });
      expect(s.presets('alpha').map((p) => [p.name, p.params.slice_us])).toEqual(
        expect.arrayContaining([
          ['tuned-batch-join', 30000],
          ['mine', 1000],
        ]),
      );
      // an agent re-tunes one of them under the same name
      await s.setPreset('alpha', { name: 'mine', params: { slice_us: 2000 }, workload: 'my own', at: new Date().toISOString() });

      // reopening imports nothing twice and keeps the agent's preset; the data files stay out of the entry
      const commits = git(lib, 'rev-list', '--count', 'HEAD');
      s = await LibraryStore.open({ dir: lib, seedDir: seed });
      expect(s.history().map((h) => h.id)).toEqual(['seed-1', 'seed-2']);
      expect(s.presets('alpha').find((p) => p.name === 'mine')?.params).toEqual({ slice_us: 2000 });
      expect(git(lib, 'rev-list', '--count', 'HEAD')).toBe(commits);
      expect(existsSync(join(lib, 'entries', 'alpha', 'history.json'))).toBe(false);
      expect(existsSync(join(lib, 'entries', 'alpha', 'presets.json'))).toBe(false);
      // and search sees the shipped result on a similar workload
      const top = (await searchLibrary(s, { fingerprint, limit: 1 })).results[0];
      expect(top).toMatchObject({ name: 'alpha' });
      expect(top!.parts.history).toBeGreaterThan(0);
      expect(readFileSync(join(lib, 'MEMORY.md'), 'utf8')).toContain('uneven batch');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('turns hand edits found on open into versions, and refuses a directory that is not a library', async () => {
    const root = mkdtempSync(join(tmpdir(), 'scx-hand-'));
    try {
      const seed = join(root, 'seed');
      const lib = join(root, 'lib');
      seedWith(seed, ['alpha']);
      await LibraryStore.open({ dir: lib, seedDir: seed });
      writeFileSync(join(lib, 'entries', 'alpha', 'alpha.bpf.c'), template + '// tuned by hand\n');
      const s = await LibraryStore.open({ dir: lib, seedDir: seed });
      expect((await s.get('alpha')).entry).toMatchObject({ version: 2, parent: 'alpha@1' });
      expect(git(lib, 'log', '-1', '--format=%s')).toMatch(/modify alpha v2 from alpha@1 \(found on open/);
      expect(await s.diff('alpha', 1)).toContain('+// tuned by hand');

      const home = join(root, 'home');
      mkdirSync(home);
      writeFileSync(join(home, 'notes.txt'), 'mine');
      expect(await code(LibraryStore.open({ dir: home, seedDir: seed }))).toMatch(/^BAD_INPUT: .* is not a scheduler library \(it has notes\.txt/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds its directory from SCX_MCP_LIBRARY, else XDG_DATA_HOME, else ~/.local/share', () => {
    const saved = { lib: process.env.SCX_MCP_LIBRARY, xdg: process.env.XDG_DATA_HOME };
    try {
      process.env.SCX_MCP_LIBRARY = '/tmp/some/lib';
      expect(defaultLibraryDir()).toBe('/tmp/some/lib');
      delete process.env.SCX_MCP_LIBRARY;
      process.env.XDG_DATA_HOME = '/tmp/xdg';
      expect(defaultLibraryDir()).toBe('/tmp/xdg/scx-mcp/library');
      delete process.env.XDG_DATA_HOME;
      expect(defaultLibraryDir()).toMatch(/\/\.local\/share\/scx-mcp\/library$/);
    } finally {
      if (saved.lib === undefined) delete process.env.SCX_MCP_LIBRARY;
      else process.env.SCX_MCP_LIBRARY = saved.lib;
      if (saved.xdg === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = saved.xdg;
    }
  });
});
