/**
 * Killing the server in the middle of writes loses no entry and leaves a readable library:
 * a child node process runs create / modify / recordResult in a loop on a library and is
 * SIGKILLed at a random moment; the library is then reopened and checked. The child runs
 * the compiled store from dist/ (npm test builds it first, as the server runs it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LibraryDb } from '../../core/library/history.js';
import { LibraryEntry } from '../../core/model/entry.js';
import { LibraryStore } from '../../core/library/store.js';
import { repoRoot } from '../../core/paths.js';

const template = readFileSync(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'), 'utf8');
const PAD = 'x'.repeat(300_000); // big sources widen the window in which a write can be cut
const srcV1 = (i: number) => `${template}\n// crash_${i} v1 ${PAD}\n`;
const srcV2 = (i: number) => `${template}\n// crash_${i} v2 ${PAD}\n`;

function writeSeed(dir: string): void {
  const entry = LibraryEntry.parse({
    name: 'base',
    title: 'Base',
    description: 'seed entry for the crash test',
    algorithm: 'fifo',
    family: 'fifo',
    tags: ['simple'],
    params: [],
    useCases: ['tests'],
    limitations: ['none'],
    kernelApi: { minKernel: '6.12', kfuncs: [], ops: [] },
    source: 'base.bpf.c',
  });
  mkdirSync(join(dir, 'base'), { recursive: true });
  writeFileSync(join(dir, 'base', 'entry.json'), JSON.stringify(entry));
  writeFileSync(join(dir, 'base', 'base.bpf.c'), template);
}

/** The writer: the compiled store, writing until it is killed. */
function writerScript(): string {
  const dist = pathToFileURL(join(repoRoot, 'dist/core/library/store.js')).href;
  return `
    const [lib, seed, startArg] = process.argv.slice(2);
    const m = await import(${JSON.stringify(dist)});
    const store = await m.LibraryStore.open({ dir: lib, seedDir: seed });
    const base = (await store.get('base')).entry;
    const { readFileSync } = await import('node:fs');
    const template = readFileSync(${JSON.stringify(join(repoRoot, 'bpf-templates/fifo/fifo.bpf.c'))}, 'utf8');
    const PAD = 'x'.repeat(300000);
    process.stdout.write('ready\\n');
    for (let i = Number(startArg); ; i++) {
      const name = 'crash_' + i;
      await store.create({ entry: { ...base, name, title: name, source: name + '.bpf.c' }, source: template + '\\n// ' + name + ' v1 ' + PAD + '\\n' });
      await store.modify(name, { source: template + '\\n// ' + name + ' v2 ' + PAD + '\\n', message: 'v2' });
      await store.recordResult({ entry: name, target: 'sandbox', workload: { name: 'w' + i }, metrics: { makespan_ms: 900 }, baseline: { makespan_ms: 1000 } });
      process.stdout.write('done ' + i + '\\n');
    }
  `;
}

/** Run the writer until it has finished `minDone` iterations, then SIGKILL it after a random delay. */
async function runAndKill(script: string, lib: string, seed: string, start: number, minDone: number): Promise<number> {
  const child = spawn(process.execPath, [script, lib, seed, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let done = start - 1;
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    for (const m of d.toString().matchAll(/done (\d+)/g)) done = Number(m[1]);
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`the writer exited by itself: ${err.slice(-2000)}`));
      } else if (done >= start + minDone - 1) {
        clearInterval(t);
        // somewhere inside the next iteration: create, modify or recordResult
        setTimeout(
          () => {
            child.kill('SIGKILL');
            resolve();
          },
          Math.floor(Math.random() * 250),
        );
      }
    }, 5);
  });
  await exited;
  return done;
}

function checkLibrary(lib: string, store: LibraryStore, upTo: number): void {
  // the db is valid
  expect(LibraryDb.safeParse(JSON.parse(readFileSync(join(lib, 'db.json'), 'utf8'))).success).toBe(true);
  // nothing half-written remains, everything on disk is committed, the repository is sound
  const files = [...readdirSync(lib), ...readdirSync(join(lib, 'entries')).flatMap((d) => readdirSync(join(lib, 'entries', d)))];
  expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
  expect(existsSync(join(lib, '.lock'))).toBe(false);
  expect(execFileSync('git', ['-C', lib, 'status', '--porcelain'], { encoding: 'utf8' })).toBe('');
  execFileSync('git', ['-C', lib, 'fsck', '--connectivity-only', '--no-progress'], { stdio: 'pipe' });
  for (let i = 0; i <= upTo; i++)
    expect(
      store.list().some((e) => e.name === `crash_${i}`),
      `crash_${i}`,
    ).toBe(true);
}

describe('crash safety', () => {
  const root = mkdtempSync(join(tmpdir(), 'scx-crash-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it(
    'a writer SIGKILLed mid-way, twice: every finished entry is intact, the one in flight is whole or absent, the library reopens and writes',
    async () => {
      const seed = join(root, 'seed');
      writeSeed(seed);
      const script = join(root, 'writer.mjs');
      writeFileSync(script, writerScript());
      const lib = join(root, 'lib');

      let start = 0;
      const cuts = new Set<number>();
      const rounds = Number(process.env.SCX_CRASH_ROUNDS ?? 2); // more for a soak run
      for (let round = 0; round < rounds; round++) {
        const done = await runAndKill(script, lib, seed, start, 2);
        const store = await LibraryStore.open({ dir: lib, seedDir: seed });
        for (let i = 0; i <= done; i++) {
          if (cuts.has(i)) continue; // cut in an earlier round: checked then
          const e = await store.get(`crash_${i}`);
          expect(e.entry.version).toBe(2);
          expect(e.entry.parent).toBe(`crash_${i}@1`);
          expect(e.source).toBe(srcV2(i));
          expect(store.history(`crash_${i}`)).toHaveLength(1);
          expect((await store.versions(`crash_${i}`)).map((v) => v.version)).toEqual([1, 2]);
        }
        // the iteration that was cut: each file is one whole version, never a mix or a truncation
        const cut = `crash_${done + 1}`;
        if (store.list().some((e) => e.name === cut)) {
          const e = await store.get(cut);
          expect([srcV1(done + 1), srcV2(done + 1)]).toContain(e.source);
          expect(e.entry.version === 1 ? srcV1(done + 1) : srcV2(done + 1)).toBe(e.source);
          expect(store.history(cut).length).toBeLessThanOrEqual(1);
        }
        checkLibrary(lib, store, done);
        // and it takes writes again
        await store.recordResult({ entry: 'base', target: 'sandbox', workload: { name: `after crash ${round}` }, metrics: { m: 1 } });
        if (store.list().some((e) => e.name === cut)) cuts.add(done + 1);
        start = cuts.has(done + 1) ? done + 2 : done + 1;
      }
    },
    60_000 * Number(process.env.SCX_CRASH_ROUNDS ?? 1),
  );

  it('recovers from leftovers by hand: a stale lock of a dead process, a git index.lock, temporary files, uncommitted files', async () => {
    const seed = join(root, 'seed2');
    writeSeed(seed);
    const lib = join(root, 'lib2');
    const store = await LibraryStore.open({ dir: lib, seedDir: seed });
    await store.create({ entry: { ...(await store.get('base')).entry, name: 'kept', source: 'kept.bpf.c' }, source: template });
    // a process that died holding the lock (pid 2^22+ is above pid_max on most systems, so not alive)
    writeFileSync(join(lib, '.lock'), `4194999 ${(await import('node:os')).hostname()} ${Date.now()} x`);
    writeFileSync(join(lib, '.git', 'index.lock'), '');
    writeFileSync(join(lib, 'entries', 'kept', 'kept.bpf.c.tmp-123-abcdef'), 'half');
    writeFileSync(join(lib, 'entries', 'kept', 'kept.bpf.c'), template + '// written, not committed\n');
    const t0 = Date.now();
    const again = await LibraryStore.open({ dir: lib, seedDir: seed });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const kept = await again.get('kept');
    expect(kept.source).toContain('written, not committed');
    expect(kept.entry).toMatchObject({ version: 2, parent: 'kept@1' });
    checkLibrary(lib, again, -1);
    expect(execFileSync('git', ['-C', lib, 'log', '-1', '--format=%s'], { encoding: 'utf8' })).toMatch(/interrupted write/);
  }, 30_000);
});
