/**
 * What an agent can know of a batch before any of it has run: the job list and the inputs it names.
 * An agent that reads `jobs.txt` and lists the files each command reads (`ls -l`, `du -sb`) writes
 * one argv hint per job, its expected length in proportion to the size of the input that job alone
 * reads: "these jobs scale with their input; a typical one takes about half a second". That is the
 * (a) of the real-program batch benchmark (core/bench/batches.ts), in place of hints read from file
 * names that said which job was long.
 *
 * Only as good as its proxy: where the commands name no input (a test suite's `-m unittest
 * suite.test_m03`), or every input is the same size, the hints carry no information, and the
 * result says so instead of guessing.
 */
import { basename } from 'node:path';
import type { HintRule } from '../job-hints.js';
import { median } from '../model/stats.js';
import { globEscape } from '../learned-lengths.js';

/** Absolute paths among a command's words (quotes dropped; `--opt=/path` split at the `=`). */
export function pathsIn(command: string): string[] {
  const words = command.replace(/['"]/g, ' ').split(/\s+/);
  return [...new Set(words.map((w) => w.replace(/^-[^=/]*=/, '')).filter((w) => w.startsWith('/') && w.length > 1))];
}

export interface InputSizeHints {
  rules: HintRule[];
  /** per job, in order: the input that sized it and its bytes (null: none found) */
  sized: ({ path: string; bytes: number } | null)[];
  /** why there are no rules, when there are none */
  none?: string;
}

/**
 * One argv rule per job, `*<input name>*`, its expect_ms = typicalMs × bytes / median bytes, to two
 * significant figures (so inputs of nearly the same size get the same length, not an arbitrary
 * order). Inputs every job reads (a shared table) do not tell jobs apart and are left out; of a
 * job's own inputs the largest counts. `sizeOf` gives a path's bytes (a directory's: the sum below
 * it), or undefined when it does not exist.
 */
export function inputSizeHints(commands: string[], sizeOf: (path: string) => number | undefined, opts: { typicalMs?: number } = {}): InputSizeHints {
  const typical = opts.typicalMs ?? 500;
  const paths = commands.map(pathsIn);
  const shared = new Set(paths[0]?.filter((p) => paths.every((ps) => ps.includes(p))) ?? []);
  const sized = paths.map((ps) => {
    let best: { path: string; bytes: number } | null = null;
    for (const p of ps) {
      if (shared.has(p)) continue;
      const bytes = sizeOf(p);
      if (bytes !== undefined && (!best || bytes > best.bytes)) best = { path: p, bytes };
    }
    return best;
  });
  const known = sized.filter((s): s is { path: string; bytes: number } => s !== null && s.bytes > 0);
  if (known.length < 2) return { rules: [], sized, none: 'the commands name no input files of their own to size' };
  const ref = median(known.map((s) => s.bytes));
  const twoFigures = (x: number) => Number(x.toPrecision(2));
  const rules = sized.flatMap((s, i) => {
    if (!s || s.bytes <= 0) return [];
    // as an agent writes it: the input's name, which also matches the job's other processes that
    // name it differently (git's `repo-03.git` beside the work tree `repo-03`); the whole path
    // where the name is in another command too. A pattern in no other command picks out this job.
    const own = (t: string) => !commands.some((c, j) => j !== i && c.includes(t));
    const key = [basename(s.path), s.path].find(own);
    if (!key) return [];
    return [
      {
        argv: `*${globEscape(key)}*`,
        expect_ms: Math.max(1, twoFigures((typical * s.bytes) / ref)),
        source: `agent: input size ${s.bytes} B (${(s.bytes / ref).toFixed(2)} × the median input)`,
      },
    ];
  });
  if (new Set(rules.map((r) => r.expect_ms)).size < 2)
    return { rules, sized, none: 'every input is about the same size: the hints cannot tell the jobs apart' };
  return { rules, sized };
}
