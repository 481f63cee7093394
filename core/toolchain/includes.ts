/**
 * The project's include directories and the headers a scheduler source pulls from them.
 * compileBpf passes bpfIncludeDirs() to clang as -I; the static check reads the same
 * headers (projectHeaders) so that a callback defined in bpf-templates/scx_joblen.bpf.h
 * counts as defined. Only `#include "..."` names that resolve inside one of these
 * directories are read: system headers (<...>), the kernel's vmlinux.h and anything that
 * would climb out of an include directory are not.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { templatesDir } from '../paths.js';

/** A header's text, named by its path relative to the include directory it was found in. */
export interface HeaderText {
  file: string;
  text: string;
}

/** The -I directories of a BPF build, in search order: bpf-templates/, then the build's own. */
export function bpfIncludeDirs(extra: string[] = []): string[] {
  return [templatesDir, ...extra];
}

const MAX_HEADERS = 64;
const MAX_HEADER_BYTES = 512 * 1024;

/** The `#include "name"` names of a C text, comments removed first. */
export function quotedIncludes(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  return [...code.matchAll(/^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"/gm)].map((m) => m[1]!);
}

/** `name` in `dir`, if it is a file there and does not leave `dir` (no absolute names, no `..` out of it). */
function resolveIn(dir: string, name: string): string | null {
  if (isAbsolute(name)) return null;
  const path = resolve(dir, name);
  const rel = relative(resolve(dir), path);
  if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  try {
    return existsSync(path) && statSync(path).isFile() ? path : null;
  } catch {
    return null;
  }
}

/**
 * The headers `source` includes from `includeDirs`, directly or through another such
 * header, each once, in the order they are first included. A name is looked up in the
 * directories in order, the first match wins (as clang's -I); names found in none are skipped.
 */
export function projectHeaders(source: string, includeDirs: string[]): HeaderText[] {
  const out: HeaderText[] = [];
  const seen = new Set<string>();
  // `from`: the including header's directory inside its include directory, searched first (as clang does for "...")
  const visit = (text: string, from?: { dir: string; sub: string }) => {
    for (const name of quotedIncludes(text)) {
      if (out.length >= MAX_HEADERS) return;
      const candidates = [...(from ? [{ dir: from.dir, name: join(from.sub, name) }] : []), ...includeDirs.map((dir) => ({ dir, name }))];
      let found: { dir: string; path: string } | null = null;
      for (const c of candidates) {
        const path = resolveIn(c.dir, c.name);
        if (path) {
          found = { dir: c.dir, path };
          break;
        }
      }
      if (!found || seen.has(found.path)) continue;
      seen.add(found.path);
      if (statSync(found.path).size > MAX_HEADER_BYTES) continue;
      const file = relative(resolve(found.dir), found.path);
      const header = { file, text: readFileSync(found.path, 'utf8') };
      out.push(header);
      visit(header.text, { dir: found.dir, sub: dirname(file) });
    }
  };
  visit(source);
  return out;
}
