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

/** The seed library's scx entries whose binaries set-up installed: the peers every benchmark runs. */
export function installedScxEntries(libraryDir = join(repoRoot, 'library')): string[] {
  if (!existsSync(libraryDir)) return [];
  return readdirSync(libraryDir)
    .sort()
    .filter((d) => {
      try {
        const e = LibraryEntry.parse(JSON.parse(readFileSync(join(libraryDir, d, 'entry.json'), 'utf8')));
        return e.kind === 'scx' && scxAvailability(e).available;
      } catch {
        return false;
      }
    });
}
