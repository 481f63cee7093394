/**
 * The scheduler library's entries agree with their BPF sources: every
 * library/<name>/entry.json validates, names its directory, its source and the
 * ops name in the source, and declares exactly the SCX_PARAM tunables the
 * source declares (same type, same default).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LibraryEntry } from '../../core/model/entry.js';

const libraryDir = fileURLToPath(new URL('../../library/', import.meta.url));

const REQUIRED_FAMILIES = ['fifo', 'fair', 'rr', 'sjf', 'ljf', 'interactive', 'percpu', 'central', 'deadline', 'priority', 'locality', 'hybrid'] as const;

interface SourceParam {
  name: string;
  type: string;
  default: number | boolean;
}

/** SCX_PARAM(type, name, default) declarations of a BPF source. */
export function sourceParams(src: string): SourceParam[] {
  const out: SourceParam[] = [];
  const re = /^SCX_PARAM\(\s*(\w+)\s*,\s*(\w+)\s*,\s*([^)]+?)\s*\);/gm;
  for (const m of src.matchAll(re)) {
    const raw = m[3]!.trim();
    let value: number | boolean;
    if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (/^-?(0x[0-9a-f]+|\d+)(ull|ul|u|ll|l)?$/i.test(raw)) value = Number(raw.replace(/(ull|ul|u|ll|l)$/i, ''));
    else throw new Error(`SCX_PARAM ${m[2]}: default "${raw}" is not a literal number or bool`);
    out.push({ name: m[2]!, type: m[1]!, default: value });
  }
  return out;
}

/** The callbacks listed in the SCX_OPS_DEFINE table, and its .name. */
export function opsTable(src: string): { ops: string[]; name: string | null } {
  const start = src.indexOf('SCX_OPS_DEFINE(');
  if (start < 0) return { ops: [], name: null };
  const table = src.slice(start, src.indexOf(');', start));
  const ops = [...table.matchAll(/\.(\w+)\s*=\s*\(void \*\)/g)].map((m) => m[1]!);
  const name = /\.name\s*=\s*"([^"]+)"/.exec(table)?.[1] ?? null;
  return { ops, name };
}

const dirs = readdirSync(libraryDir)
  .filter((d) => statSync(join(libraryDir, d)).isDirectory() && d !== 'questions') // questions/: past questions search asks (core/library/questions.ts)
  .sort();

const entries = dirs.map((dir) => {
  const raw: unknown = JSON.parse(readFileSync(join(libraryDir, dir, 'entry.json'), 'utf8'));
  return { dir, raw, parsed: LibraryEntry.safeParse(raw) };
});

describe('scheduler library', () => {
  it('has at least 12 entries', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(12);
  });

  it('covers every family', () => {
    const families = new Set(entries.map((e) => (e.raw as { family?: string }).family));
    for (const f of REQUIRED_FAMILIES) expect(families, `no entry of family ${f}`).toContain(f);
  });

  it('has unique names', () => {
    const names = entries.map((e) => (e.raw as { name?: string }).name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has a README listing every entry', () => {
    const readme = readFileSync(join(libraryDir, 'README.md'), 'utf8');
    for (const d of dirs) expect(readme, `README.md does not mention ${d}`).toContain(`\`${d}\``);
  });
});

// scx binary entries (sched-ext/scx's schedulers, core/scx/) have no BPF source here: checked below
const scxEntries = entries.filter((e) => (e.raw as { kind?: string }).kind === 'scx');

describe.each(scxEntries)('library/$dir (scx binary)', ({ dir, raw, parsed }) => {
  it('validates, names its directory and crate, documents itself and takes its parameters from --help', () => {
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 2)).toBe(true);
    const e = raw as LibraryEntry;
    expect(e.name).toBe(dir);
    expect(e.scx?.crate).toBe(dir);
    expect(e.scx?.opsName).toBe(dir.replace(/^scx_/, ''));
    expect(e.source).toBe(`${dir}.md`);
    expect(readFileSync(join(libraryDir, dir, e.source), 'utf8')).toContain(`# ${dir}`);
    expect(e.params, "parameters come from the installed binary's --help, not from entry.json").toEqual([]);
  });
});

describe.each(entries.filter((e) => !scxEntries.includes(e)))('library/$dir', ({ dir, raw, parsed }) => {
  it('entry.json validates against LibraryEntry', () => {
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 2)).toBe(true);
  });

  const entry = parsed.success ? parsed.data : (raw as LibraryEntry);
  const sourcePath = join(libraryDir, dir, entry.source ?? `${dir}.bpf.c`);
  const src = existsSync(sourcePath) ? readFileSync(sourcePath, 'utf8') : '';

  it('name matches the directory, the source file and the ops name', () => {
    expect(entry.name).toBe(dir);
    expect(entry.source).toBe(`${dir}.bpf.c`);
    expect(existsSync(sourcePath)).toBe(true);
    expect(opsTable(src).name).toBe(dir);
    expect(src).toContain(`SCX_OPS_DEFINE(${dir}_ops,`);
  });

  it('params match the SCX_PARAM declarations (name, type, default) both ways', () => {
    const declared = sourceParams(src);
    const byName = new Map(declared.map((p) => [p.name, p]));
    for (const p of entry.params) {
      const d = byName.get(p.name);
      expect(d, `param ${p.name} is in entry.json but not declared with SCX_PARAM`).toBeDefined();
      expect(d!.type, `type of ${p.name}`).toBe(p.type);
      expect(d!.default, `default of ${p.name}`).toStrictEqual(p.default);
    }
    expect(declared.map((p) => p.name).sort()).toEqual(entry.params.map((p) => p.name).sort());
  });

  it('param ranges hold their defaults and bools have bool defaults', () => {
    for (const p of entry.params) {
      if (p.type === 'bool') {
        expect(typeof p.default, p.name).toBe('boolean');
        continue;
      }
      expect(typeof p.default, p.name).toBe('number');
      expect(Number.isInteger(p.default), p.name).toBe(true);
      if (p.min !== undefined) expect(p.default as number, `${p.name} >= min`).toBeGreaterThanOrEqual(p.min);
      if (p.max !== undefined) expect(p.default as number, `${p.name} <= max`).toBeLessThanOrEqual(p.max);
      if (p.type.startsWith('u')) expect(p.min ?? 0, `${p.name} is unsigned`).toBeGreaterThanOrEqual(0);
    }
  });

  it('declares a GPL licence, an exit record, at least two stats and a policy comment', () => {
    expect(src.startsWith('/* SPDX-License-Identifier: GPL-2.0')).toBe(true);
    expect(src).toMatch(/^SCX_LICENSE_GPL;/m);
    expect(src).toMatch(/^#include "scx_common\.bpf\.h"$/m);
    expect(src).toContain('UEI_DEFINE(uei);');
    expect(src).toContain('UEI_RECORD(uei, ei);');
    expect([...src.matchAll(/^u64 stat_\w+;/gm)].length).toBeGreaterThanOrEqual(2);
    // the comment on top says what the policy is, when it works well and what it costs
    const head = src.slice(0, src.indexOf('#include'));
    expect(head).toContain(` * ${dir} - `);
    expect(head).toMatch(/Works well when:/);
    expect(head).toMatch(/Costs:/);
  });

  it('lists exactly the callbacks of its ops table in kernelApi.ops', () => {
    expect([...entry.kernelApi.ops].sort()).toEqual([...opsTable(src).ops].sort());
  });

  it('declares the job_hints map exactly as the userspace feeder expects, when it reads hints', () => {
    if (!entry.hints?.map?.startsWith('job_hints')) return;
    // the map may come from a shared header in bpf-templates (#include "scx_joblen.bpf.h")
    const included = [...src.matchAll(/^#include "(scx_[a-z_]+\.bpf\.h)"$/gm)]
      .map((m) => readFileSync(join(import.meta.dirname, '../../bpf-templates', m[1]!), 'utf8'))
      .join('\n');
    const all = `${src}\n${included}`;
    const m =
      /struct \{\s*__uint\(type, BPF_MAP_TYPE_HASH\);\s*__uint\(max_entries, (\d+)\);\s*__type\(key, char\[COMM_LEN\]\);\s*__type\(value, u64\);\s*\} job_hints SEC\("\.maps"\);/.exec(
        all,
      );
    expect(m, 'job_hints: HASH, key char[COMM_LEN], value u64').not.toBeNull();
    expect(all).toMatch(/^#define COMM_LEN 16$/m);
    expect(entry.userspace).toBe('sched-rust/schedulers/job-hints');
  });
});
