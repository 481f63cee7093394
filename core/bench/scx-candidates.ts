/**
 * scx binary entries as benchmark candidates (npm run bench, bin/run-bench.ts): the installed
 * binary with its own defaults, started and stopped in the guest (core/bench/runner.ts Candidate.scx).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate } from './runner.js';
import { LibraryEntry } from '../model/entry.js';
import { repoRoot } from '../paths.js';
import { scxAvailability } from '../scx/catalog.js';

/** The benchmark candidate of an scx entry, or why it is not benchmarked (not installed, failed to build). */
export function scxCandidate(entry: LibraryEntry): { candidate: Candidate; skipped?: string } {
  const a = scxAvailability(entry);
  const candidate: Candidate = {
    name: entry.name,
    object: a.binary,
    scx: { binary: a.binary, args: [], opsName: entry.scx?.opsName ?? entry.name.replace(/^scx_/, '') },
    source: `library/${entry.name} (sched-ext/scx ${entry.scx?.crate ?? entry.name} ${a.version ?? entry.scx?.version ?? '?'} binary, its defaults)`,
    sim: null,
  };
  return a.available ? { candidate } : { candidate, skipped: `library/${entry.name}: ${a.reason}` };
}

/** A seed library entry (<libraryDir>/<name>/entry.json), parsed, or why there is none: missing, not JSON, not a valid entry. */
export function readSeedEntry(name: string, libraryDir = join(repoRoot, 'library')): { entry: LibraryEntry } | { entry: null; why: string } {
  const file = join(libraryDir, name, 'entry.json');
  if (!existsSync(file)) return { entry: null, why: `library/${name} does not exist` };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return { entry: null, why: `library/${name}/entry.json is not valid JSON: ${(e as Error).message}` };
  }
  const r = LibraryEntry.safeParse(json);
  return r.success
    ? { entry: r.data }
    : { entry: null, why: `library/${name}/entry.json is not a valid entry: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}` };
}

/** A seed library entry, parsed; null when it is missing or not a valid entry. */
export function seedEntry(name: string, libraryDir = join(repoRoot, 'library')): LibraryEntry | null {
  return readSeedEntry(name, libraryDir).entry;
}

/** The seed library's scx entries whose binaries set-up installed. */
function installedScx(libraryDir: string): LibraryEntry[] {
  if (!existsSync(libraryDir)) return [];
  return readdirSync(libraryDir)
    .sort()
    .flatMap((d) => {
      const e = seedEntry(d, libraryDir);
      return e && e.kind === 'scx' && scxAvailability(e).available ? [e] : [];
    });
}

/** The names of the seed library's scx entries whose binaries set-up installed: the peers every benchmark runs. */
export function installedScxEntries(libraryDir = join(repoRoot, 'library')): string[] {
  return installedScx(libraryDir).map((e) => e.name);
}

/** Their benchmark candidates (the binary with its own defaults). */
export function installedScxCandidates(libraryDir = join(repoRoot, 'library')): Candidate[] {
  return installedScx(libraryDir).map((e) => scxCandidate(e).candidate);
}
