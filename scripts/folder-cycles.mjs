#!/usr/bin/env node
// Folder (part) cycles in core/, server/, tools/ and bin/: the file graph comes from madge
// (`npx madge --json --extensions ts core server tools bin`), each file is mapped to its part
// (core/<folder>/… → core/<folder>; a file directly in core/ → core/<name>, so core/targets.ts
// and core/targets/ are one part; server/… → server; tools/… → tools; bin/… → bin), and every strongly
// connected set of parts is printed with the file imports that make it. Exit 1 if any.
// Also prints madge's file cycles. Usage: node scripts/folder-cycles.mjs [madge.json]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const graph = JSON.parse(
  process.argv[2]
    ? readFileSync(process.argv[2], "utf8")
    : execFileSync("npx", ["--yes", "madge@8", "--json", "--extensions", "ts", "--ts-config", "tsconfig.json",
        "core", "server", "tools", "bin"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
);

const part = (f) => {
  const p = f.replace(/\.ts$/, "").split("/");
  return p[0] === "core" ? `core/${p[1]}` : p[0];
};

const edges = new Map(); // part -> Map(part -> [file -> file])
for (const [from, deps] of Object.entries(graph)) {
  for (const to of deps) {
    const a = part(from), b = part(to);
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Map());
    const m = edges.get(a);
    if (!m.has(b)) m.set(b, []);
    m.get(b).push(`${from} → ${to}`);
  }
}

// Tarjan's strongly connected components.
const nodes = [...new Set([...Object.keys(graph).map(part)])].sort();
let index = 0;
const idx = new Map(), low = new Map(), on = new Set(), stack = [], sccs = [];
const visit = (v) => {
  idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do { w = stack.pop(); on.delete(w); c.push(w); } while (w !== v);
    if (c.length > 1) sccs.push(c.sort());
  }
};
for (const n of nodes) if (!idx.has(n)) visit(n);

// File cycles (as madge --circular would list them), by depth-first search.
const fileCycles = [];
{
  const state = new Map();
  const path = [];
  const dfs = (f) => {
    state.set(f, 1); path.push(f);
    for (const g of graph[f] ?? []) {
      if (state.get(g) === 1) fileCycles.push(path.slice(path.indexOf(g)).join(" > "));
      else if (!state.has(g)) dfs(g);
    }
    path.pop(); state.set(f, 2);
  };
  for (const f of Object.keys(graph).sort()) if (!state.has(f)) dfs(f);
}

console.log(`${Object.keys(graph).length} files, ${nodes.length} parts`);
console.log(`file cycles: ${fileCycles.length}`);
for (const c of fileCycles) console.log(`  ${c}`);
console.log(`folder cycles (strongly connected parts): ${sccs.length}`);
for (const c of sccs) {
  console.log(`  { ${c.join(", ")} }`);
  for (const a of c) for (const [b, why] of edges.get(a) ?? []) if (c.includes(b)) console.log(`    ${a} → ${b}: ${why.join("; ")}`);
}
process.exit(sccs.length || fileCycles.length ? 1 : 0);
