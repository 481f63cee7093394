/**
 * npm run bench:search:prompts -- SET — the requests search_library would send a client's model
 * (MCP sampling) for every question of a labelled set, from the words alone and with the labelled
 * objective, as JSON on stdout: {set, items: [{id, objectiveGiven, digest, system, user}]}. A model's
 * answers, recorded with each request's digest in docs/results/search-readings.json, are what
 * npm run bench:search measures "read by a model" on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELLED_SETS, loadLabelled, readingPrompts, type LabelledSet } from '../core/bench/search-precision.js';
import { LibraryStore } from '../core/library/store.js';
import { repoRoot } from '../core/paths.js';

const set = process.argv[2] as LabelledSet | undefined;
if (!set || !LABELLED_SETS.includes(set)) {
  console.error(`usage: npm run bench:search:prompts -- SET   (SET: ${LABELLED_SETS.join(', ')})`);
  process.exit(2);
}
const root = mkdtempSync(join(tmpdir(), 'scx-search-prompts-'));
try {
  const store = await LibraryStore.open({ dir: join(root, 'lib'), seedDir: join(repoRoot, 'library') });
  console.log(JSON.stringify({ set, items: readingPrompts(store, set, loadLabelled(set)) }, null, 1));
} finally {
  rmSync(root, { recursive: true, force: true });
}
