/** The checks every entry passes on its way into (or out of) the library: its name, its source file's name, its fields. */
import { createHash } from 'node:crypto';
import { ScxError } from '../errors.js';
import { LibraryEntry } from '../model/entry.js';
import { ENTRY_NAME_RE } from '../model/names.js';

/** A source file name inside an entry directory: no directories, no dots before .bpf.c. */
const SOURCE_RE = /^[A-Za-z0-9_-]+\.bpf\.c$/;

export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !ENTRY_NAME_RE.test(name)) {
    throw new ScxError('BAD_INPUT', `${JSON.stringify(name)} is not a valid scheduler name`,
      'lower-case letters, digits and _, starting with a letter, 2-31 characters (e.g. "my_ljf")');
  }
}

export function checkSourceName(file: string, kind?: LibraryEntry['kind']): void {
  // an scx binary entry (core/scx/) has no BPF source here: its "source" is its documentation, <name>.md
  if (kind === 'scx' && /^[A-Za-z0-9_-]+\.md$/.test(file)) return;
  if (!SOURCE_RE.test(file)) {
    throw new ScxError('BAD_INPUT', `source file name "${file}" must look like <name>.bpf.c (no directories)`, 'use "<entry name>.bpf.c"');
  }
}

export function validEntry(raw: unknown, where: string): LibraryEntry {
  const r = LibraryEntry.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ScxError('BAD_INPUT', `${where}: ${issue ? `${issue.path.join('.') || '(entry)'}: ${issue.message}` : 'not a valid library entry'}`,
      'see core/library/schema.ts (LibraryEntry) for the fields an entry needs', { issues: r.error.issues.slice(0, 5) });
  }
  return r.data;
}

/** A short hash of some texts (an entry's metadata and source): what seeding compares. */
export const sha = (...parts: string[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};
