#!/usr/bin/env node
/**
 * Write the library verification run's results into each entry's tests.json:
 *
 *   SCX_LIBRARY_RESULTS=/tmp/library.json npx vitest run tests/integration/library-schedulers.test.ts
 *   node scripts/update-library-tests.mjs /tmp/library.json [name ...]
 *
 * Replaces the entry's static-analysis, verifier and stress results from that test (one of each
 * per kernel); other results stay.
 * Without names, every scheduler in the results file is updated.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = 'tests/integration/library-schedulers.test.ts';
const [file, ...only] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/update-library-tests.mjs RESULTS.json [name ...]');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = JSON.parse(readFileSync(file, 'utf8'));
for (const s of run.schedulers) {
  if (only.length && !only.includes(s.name)) continue;
  const path = join(root, 'library', s.name, 'tests.json');
  const tests = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : [];
  const kernel = s.kernelRelease ?? run.kernelRelease;
  const kept = tests.filter((t) => !(t.details?.source === SOURCE && t.kernel === kernel));
  if (typeof s.staticFindings === 'number' && s.staticFindings >= 0) {
    kept.push({ kind: 'static', kernel, at: s.date, pass: s.staticFindings === 0, details: { source: SOURCE, tool: 'tree-sitter-c (core/toolchain/static-check.ts)' }, numbers: { findings: s.staticFindings } });
  }
  if (typeof s.loaded === 'boolean') {
    kept.push({
      kind: 'verifier', kernel, at: s.date, pass: s.loaded,
      details: { source: SOURCE, accelerator: run.accelerator, verifierInsnsByProgram: s.verifierInsns?.programs ?? null },
      numbers: Object.fromEntries(Object.entries({ loadMs: s.loadMs, verifiedInsns: s.verifierInsns?.total }).filter(([, v]) => typeof v === 'number')),
    });
  }
  kept.push({
    kind: 'stress', kernel, at: s.date, pass: s.pass,
    details: { source: SOURCE, workload: run.workload, accelerator: run.accelerator, error: s.error, verifierInsnsByProgram: s.verifierInsns?.programs ?? null },
    numbers: Object.fromEntries(Object.entries({ loadMs: s.loadMs, workloadMs: s.workloadMs, verifiedInsns: s.verifierInsns?.total, hackbenchS: s.hackbenchS })
      .filter(([, v]) => typeof v === 'number')),
  });
  writeFileSync(path, JSON.stringify(kept, null, 2) + '\n');
  console.log(`${s.name}: ${s.pass ? 'pass' : `FAIL (${s.error})`} -> library/${s.name}/tests.json`);
}
