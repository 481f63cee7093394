/** Applying an agent's unified diff to a scheduler source, with a clear error when a hunk does not apply. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ScxError } from '../errors.js';

/** Apply a unified diff to one file's text; a hunk that does not apply is a clear error. */
export async function applyPatch(fileName: string, original: string, patch: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scx-patch-'));
  try {
    await writeFile(join(dir, fileName), original);
    await writeFile(join(dir, 'change.diff'), patch.endsWith('\n') ? patch : patch + '\n');
    for (const strip of ['-p1', '-p0']) {
      const r = await execa('patch', ['--batch', '--forward', '--no-backup-if-mismatch', '-r', '-', strip, '-i', 'change.diff', fileName], {
        cwd: dir,
        reject: false,
      });
      if (r.exitCode === 0) return await readFile(join(dir, fileName), 'utf8');
      if (strip === '-p0') {
        throw new ScxError(
          'BAD_INPUT',
          `the patch does not apply to ${fileName}: ${
            (r.stdout + r.stderr)
              .trim()
              .split('\n')
              .filter((l) => /FAILED|malformed|Only garbage|can't find/i.test(l))
              .join('; ') || r.stdout.trim()
          }`,
          'make the diff against the current source of the entry (unified format, e.g. `diff -u`), with enough unchanged context lines',
        );
      }
    }
    throw new Error('unreachable');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
