/**
 * Static analysis of a sched_ext scheduler before clang and the verifier see it.
 * Seconds matter: under software emulation the verifier can spend two minutes on a
 * loop it cannot bound, and a VM boot costs ten seconds. What can be caught from
 * the source is caught here, with file:line:column, the rule, and how to fix it.
 *
 * tree-sitter-c parses function bodies (loops, calls, dereferences, conditions);
 * the macro-level shape (licence, ops table, map definitions) is read from the text,
 * since those are macros tree-sitter cannot expand.
 */
import Parser from 'tree-sitter';
import C from 'tree-sitter-c';
import { z } from 'zod';

export const Finding = z.object({
  file: z.string(),
  line: z.number(),
  column: z.number(),
  rule: z.string(),
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  fix: z.string(),
});
export type Finding = z.infer<typeof Finding>;

type SyntaxNode = Parser.SyntaxNode;

export interface StaticCheckOptions {
  file: string;
  /** sched_ext kfuncs the target kernel exports (from its BTF); unknown kfunc calls are errors when given. */
  targetKfuncs?: string[];
  /** Target kernel release, for messages. */
  targetKernel?: string;
  /**
   * The project headers the source includes (projectHeaders() in includes.ts: the `#include "..."`
   * files found in the build's include directories). Callbacks defined there count as defined;
   * findings still point into the scheduler's file.
   */
  headers?: Array<{ file: string; text: string }>;
}

export const MAX_SOURCE_BYTES = 512 * 1024;
const OPS_NAME_MAX = 127; // SCX_OPS_NAME_LEN is 128 with the NUL
const BPF_STACK = 512;
const GPL_COMPATIBLE = ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'];

/** Kfuncs renamed across kernels: old name -> what to use now (via scx_common.bpf.h where possible). */
const RENAMED: Record<string, string> = {
  scx_bpf_dispatch: 'scx_insert() (scx_bpf_dsq_insert on 6.13+)',
  scx_bpf_dispatch_vtime: 'scx_insert_vtime() (scx_bpf_dsq_insert_vtime on 6.13+)',
  scx_bpf_consume: 'scx_move_to_local() (scx_bpf_dsq_move_to_local on 6.13+)',
  scx_bpf_dispatch_from_dsq: 'scx_bpf_dsq_move',
  scx_bpf_dispatch_vtime_from_dsq: 'scx_bpf_dsq_move_vtime',
  scx_bpf_dsq_move_to_local___v2: 'scx_move_to_local()',
  scx_bpf_dsq_insert___v2: 'scx_insert()',
};

let parser: Parser | undefined;
function getParser(): Parser {
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(C as unknown as Parser.Language);
  }
  return parser;
}

function lineColOf(src: string, index: number): { line: number; column: number } {
  const before = src.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - before.lastIndexOf('\n') };
}

function descendants(node: SyntaxNode, types: string[]): SyntaxNode[] {
  return node.descendantsOfType(types);
}

export function staticCheck(source: string, opts: StaticCheckOptions): Finding[] {
  const findings: Finding[] = [];
  const add = (at: { line: number; column: number }, rule: string, severity: Finding['severity'], message: string, fix: string) =>
    findings.push({ file: opts.file, line: at.line, column: at.column, rule, severity, message, fix });
  const atNode = (n: SyntaxNode) => ({ line: n.startPosition.row + 1, column: n.startPosition.column + 1 });
  const top = { line: 1, column: 1 };

  if (Buffer.byteLength(source) > MAX_SOURCE_BYTES) {
    add(
      top,
      'source-size',
      'error',
      `the source is ${Buffer.byteLength(source)} bytes; the limit is ${MAX_SOURCE_BYTES}`,
      'a scheduler should be one short file; move shared code into a header and remove generated or pasted data',
    );
    return findings;
  }

  // ---- licence ------------------------------------------------------------
  const licM = /char\s+_license\s*\[\s*\]\s*SEC\(\s*"license"\s*\)\s*=\s*"([^"]*)"/.exec(source);
  if (/\bSCX_LICENSE_GPL\b/.test(source)) {
    /* GPL via the common header */
  } else if (licM) {
    if (!GPL_COMPATIBLE.includes(licM[1]!)) {
      add(
        lineColOf(source, licM.index),
        'gpl-license',
        'error',
        `licence "${licM[1]}" is not GPL-compatible: the kernel refuses sched_ext kfunc calls from it`,
        'use SCX_LICENSE_GPL; (or char _license[] SEC("license") = "GPL";)',
      );
    }
  } else {
    add(
      top,
      'gpl-license',
      'error',
      'no licence declared: the kernel refuses sched_ext kfunc calls from a program without a GPL-compatible licence',
      'add SCX_LICENSE_GPL; after the #include lines',
    );
  }

  // ---- ops table ------------------------------------------------------------
  const opsMacro = /SCX_OPS_DEFINE\(\s*(\w+)\s*,([\s\S]*?)\)\s*;/.exec(source);
  const opsRaw = /SEC\(\s*"\.struct_ops(?:\.link)?"\s*\)\s*struct\s+sched_ext_ops\s+(\w+)\s*=\s*\{([\s\S]*?)\}\s*;/.exec(source);
  const ops = opsMacro ?? opsRaw;
  const callbacks = new Map<string, string>(); // member -> function
  if (!ops) {
    add(
      top,
      'ops-table',
      'error',
      'no sched_ext ops table: nothing would be registered with the kernel',
      'end the file with SCX_OPS_DEFINE(my_ops, .enqueue = (void *)my_enqueue, ..., .name = "my_sched");',
    );
  } else {
    const body = ops[2]!;
    const memberAt = new Map<string, number>(); // member -> index of `.member` in the source
    const bodyStart = ops.index + ops[0].indexOf(body);
    for (const m of body.matchAll(/\.(\w+)\s*=\s*(?:\(\s*void\s*\*\s*\))?\s*(\w+)/g)) {
      callbacks.set(m[1]!, m[2]!);
      memberAt.set(m[1]!, bodyStart + m.index);
    }
    const headers = opts.headers ?? [];
    /** The header that defines struct_ops program `fn`, if the file does not. */
    const headerDefining = (fn: string) => headers.find((h) => definesStructOps(h.text, fn));
    const nameM = /\.name\s*=\s*"([^"]*)"/.exec(body);
    const opsAt = lineColOf(source, ops.index);
    if (!nameM) {
      add(opsAt, 'ops-name', 'error', 'the ops table has no .name', 'add .name = "my_sched" (letters, digits, _; at most 127 characters)');
    } else if (nameM[1]!.length === 0 || nameM[1]!.length > OPS_NAME_MAX || !/^[A-Za-z0-9_]+$/.test(nameM[1]!)) {
      add(
        opsAt,
        'ops-name',
        'error',
        `ops name "${nameM[1]}" is empty, longer than ${OPS_NAME_MAX} characters or has characters other than letters, digits and _`,
        'use a short snake_case name',
      );
    }
    if (!callbacks.has('enqueue') && !callbacks.has('dispatch')) {
      add(
        opsAt,
        'ops-callbacks',
        'warning',
        'the ops table has neither .enqueue nor .dispatch: every task goes to the global queue with the default slice',
        'that is a valid FIFO, but a policy normally implements .enqueue (and .dispatch for custom queues)',
      );
    }
    // an enqueue that inserts nowhere leaves tasks unrunnable: the watchdog ejects the scheduler after 30 s
    const enq = callbacks.get('enqueue');
    if (enq) {
      const defRe = new RegExp(`BPF_STRUCT_OPS\\(\\s*${enq}\\b[^)]*\\)\\s*\\{`);
      const local = defRe.exec(source);
      // defined in an included header: read its body there, report at the ops table's .enqueue
      const header = local ? undefined : headers.find((h) => defRe.test(h.text));
      const def = local ?? (header ? defRe.exec(header.text) : null);
      const bodyText = def ? blockAt(local ? source : header!.text, def.index + def[0].length - 1) : '';
      if (
        def &&
        !/\b(scx_insert\w*|scx_bpf_dsq_insert\w*|scx_bpf_dispatch\w*|bpf_map_push_elem|bpf_map_update_elem|bpf_obj_new|bpf_rbtree_add\w*|bpf_list_push\w*)\s*\(/.test(
          bodyText,
        )
      ) {
        add(
          lineColOf(source, local ? local.index : memberAt.get('enqueue')!),
          'enqueue-drops-task',
          'warning',
          `${enq} (the .enqueue callback${header ? `, defined in ${header.file}` : ''}) never inserts the task into a queue or stores it: tasks would never run, and the kernel's watchdog would eject the scheduler ("runnable task stall")`,
          'end every path of enqueue with scx_insert(p, SCX_DSQ_GLOBAL or a DSQ you created, slice, enq_flags)',
        );
      }
    }
    // callbacks must name functions defined in this file, or struct_ops programs of a project header it includes
    for (const [member, fn] of callbacks) {
      if (member === 'name' || member === 'flags' || /^(timeout_ms|exit_dump_len|hotplug_seq|dispatch_max_batch)$/.test(member)) continue;
      if (definesStructOps(source, fn) || new RegExp(`\\b${fn}\\s*\\(`).test(source.replace(body, '')) || headerDefining(fn)) continue;
      add(
        opsAt,
        'ops-callbacks',
        'error',
        `.${member} points at ${fn}, which is not defined in this file${headers.length ? ` or in the headers it includes (${headers.map((h) => h.file).join(', ')})` : ''}`,
        `define it with BPF_STRUCT_OPS(${fn}, ...) before the ops table`,
      );
    }
  }

  // ---- maps: which names are HASH-like (lookup may return NULL for any key) ----
  const arrayMaps = new Set<string>();
  for (const m of source.matchAll(/struct\s*\{([^{}]*?)\}\s*(\w+)\s+SEC\(\s*"\.maps"\s*\)/g)) {
    const type = /__uint\(\s*type\s*,\s*(BPF_MAP_TYPE_\w+)\s*\)/.exec(m[1]!)?.[1] ?? '';
    if (/^BPF_MAP_TYPE_(PERCPU_)?ARRAY$/.test(type)) arrayMaps.add(m[2]!);
    if (m[2]!.length > 15) {
      add(
        lineColOf(source, m.index + m[0].lastIndexOf(m[2]!)),
        'map-name',
        'warning',
        `map name "${m[2]}" is longer than 15 characters; the kernel truncates it`,
        'shorten the name so tools (bpftool, the loader) show it whole',
      );
    }
  }

  // ---- function bodies -------------------------------------------------------
  const tree = getParser().parse(source);
  const kfuncs = opts.targetKfuncs ? new Set(opts.targetKfuncs) : undefined;
  for (const call of descendants(tree.rootNode, ['call_expression'])) {
    const fn = call.childForFieldName('function');
    if (!fn || fn.type !== 'identifier') continue;
    const name = fn.text;
    if (!name.startsWith('scx_bpf_')) continue;
    if (name === 'scx_bpf_error' || name === 'scx_bpf_exit') continue; // macros in scx_common.bpf.h
    if (RENAMED[name] && (!kfuncs || !kfuncs.has(name))) {
      add(
        atNode(call),
        'kfunc-renamed',
        'error',
        `${name} does not exist in the target kernel${opts.targetKernel ? ` (${opts.targetKernel})` : ''}: sched_ext renamed it`,
        `use ${RENAMED[name]}`,
      );
    } else if (kfuncs && !kfuncs.has(name)) {
      add(
        atNode(call),
        'kfunc-missing',
        'error',
        `${name} is not exported by the target kernel${opts.targetKernel ? ` (${opts.targetKernel})` : ''}`,
        'check scx_target_api.h for the kfuncs this kernel has, or use a wrapper from scx_common.bpf.h',
      );
    }
  }

  const globals = collectGlobals(tree.rootNode, source);
  for (const fnDef of descendants(tree.rootNode, ['function_definition'])) {
    const body = fnDef.childForFieldName('body');
    if (!body) continue;
    checkLoops(body, globals, add, atNode);
    checkNullChecks(body, arrayMaps, add, atNode);
    checkStack(body, add, atNode);
  }
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Whether `text` defines struct_ops program `fn`: BPF_STRUCT_OPS(fn, ...), BPF_STRUCT_OPS_SLEEPABLE(fn) or SEC("struct_ops/...") ... BPF_PROG(fn, ...). */
function definesStructOps(text: string, fn: string): boolean {
  return (
    new RegExp(`BPF_STRUCT_OPS(?:_SLEEPABLE)?\\(\\s*${fn}\\b`).test(text) ||
    new RegExp(`SEC\\(\\s*"struct_ops(?:\\.s)?(?:/[^"]*)?"\\s*\\)[\\w\\s*]*?\\bBPF_PROG\\(\\s*${fn}\\b`).test(text)
  );
}

/** The text of the {...} block whose opening brace is at `open`. */
function blockAt(src: string, open: number): string {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return src.slice(open, i + 1);
  }
  return src.slice(open);
}

type Add = (at: { line: number; column: number }, rule: string, severity: Finding['severity'], message: string, fix: string) => void;
type At = (n: SyntaxNode) => { line: number; column: number };

/** Names declared at file scope: whether each is a constant the verifier knows (const, SCX_PARAM in .rodata). */
export type Globals = Map<string, { constant: boolean }>;

export function collectGlobals(root: SyntaxNode, source: string): Globals {
  const g: Globals = new Map();
  for (const d of root.namedChildren) {
    if (d.type !== 'declaration') continue;
    const constant = /\bconst\b/.test(
      d.children
        .filter((c) => c.type === 'type_qualifier')
        .map((c) => c.text)
        .join(' '),
    );
    for (const decl of d.childrenForFieldName('declarator')) {
      const name = (decl.type === 'init_declarator' ? decl.childForFieldName('declarator') : decl)?.text.replace(/[\s*]|\[.*$/g, '');
      if (name && /^\w+$/.test(name) && decl.type !== 'function_declarator' && !decl.descendantsOfType('function_declarator').length) g.set(name, { constant });
    }
  }
  for (const m of source.matchAll(/\bSCX_PARAM\(\s*[^,]+,\s*(\w+)/g)) g.set(m[1]!, { constant: true });
  return g;
}

const ORDER = /^(<|<=|>|>=)$/;
const CONST_NAME = /^[A-Z][A-Z0-9_]*$/;
const MIN_FN = /^(min|MIN|min_t|__min|bpf_min|umin)$/;

interface LoopScope {
  body: SyntaxNode;
  loop: SyntaxNode;
  globals: Globals;
}

function unwrap(n: SyntaxNode | null): SyntaxNode | null {
  while (n && (n.type === 'parenthesized_expression' || n.type === 'cast_expression'))
    n = n.type === 'cast_expression' ? n.childForFieldName('value') : n.namedChild(0);
  return n;
}

/** The conjuncts of a condition: a && b && c. */
function conjuncts(n: SyntaxNode | null): SyntaxNode[] {
  const u = unwrap(n);
  if (!u) return [];
  if (u.type === 'binary_expression' && u.child(1)?.type === '&&') return [...conjuncts(u.child(0)), ...conjuncts(u.child(2))];
  return [u];
}

/** The last `name = …` / `T name = …` before `before` in the function, and its value. */
function lastValueOf(name: string, scope: LoopScope, before: number): SyntaxNode | null {
  let best: SyntaxNode | null = null;
  for (const d of scope.body.descendantsOfType(['init_declarator', 'assignment_expression'])) {
    if (d.startIndex >= before) continue;
    const target = d.type === 'init_declarator' ? d.childForFieldName('declarator')?.text.replace(/^\*+\s*/, '') : d.childForFieldName('left')?.text;
    if (target !== name || (d.type === 'assignment_expression' && d.child(1)?.type !== '=')) continue;
    if (!best || d.startIndex > best.startIndex) best = d;
  }
  return best ? (best.type === 'init_declarator' ? best.childForFieldName('value') : best.childForFieldName('right')) : null;
}

/** `if (n > C) n = C;`, `if (n >= C) return;`, `n &= M`, `n %= C`, `n = min(n, C)` between the value and the loop. */
function clampedBefore(name: string, scope: LoopScope, from: number, to: number): boolean {
  const text = scope.body.tree.rootNode.text.slice(from, to);
  const c = '(?:\\d+|[A-Z][A-Z0-9_]*|sizeof\\s*\\([^)]*\\))';
  const n = `\\b${name}\\b`;
  return new RegExp(
    `if\\s*\\(\\s*${n}\\s*(?:>|>=)\\s*${c}\\s*\\)|if\\s*\\(\\s*${c}\\s*(?:<|<=)\\s*${n}\\s*\\)|${n}\\s*(?:&|%)=|${n}\\s*=\\s*(?:min|MIN|min_t|umin)\\s*\\(`,
  ).test(text);
}

/** A value the verifier knows a constant upper bound for. */
function isConstBound(n: SyntaxNode | null, scope: LoopScope, depth = 0): boolean {
  const u = unwrap(n);
  if (!u) return false;
  switch (u.type) {
    case 'number_literal':
    case 'char_literal':
    case 'sizeof_expression':
    case 'true':
    case 'false':
      return true;
    case 'identifier': {
      if (CONST_NAME.test(u.text) || scope.globals.get(u.text)?.constant) return true;
      if (scope.globals.has(u.text) || depth > 2) return false;
      // a local: constant if its value is, or clamped before the loop
      const v = lastValueOf(u.text, scope, scope.loop.startIndex);
      if (v && isConstBound(v, scope, depth + 1)) return true;
      return clampedBefore(u.text, scope, v?.endIndex ?? scope.body.startIndex, scope.loop.startIndex);
    }
    case 'call_expression': {
      const fn = u.childForFieldName('function')?.text ?? '';
      const args = u.childForFieldName('arguments')?.namedChildren ?? [];
      if (fn === 'ARRAY_SIZE') return true;
      return MIN_FN.test(fn) && args.some((a) => isConstBound(a, scope, depth + 1));
    }
    case 'binary_expression': {
      const op = u.child(1)?.type ?? '';
      if (op === '&') return isConstBound(u.child(0), scope, depth + 1) || isConstBound(u.child(2), scope, depth + 1);
      if (op === '%') return isConstBound(u.child(2), scope, depth + 1);
      if (/^(\+|-|\*|\/|<<|>>|\|)$/.test(op)) return isConstBound(u.child(0), scope, depth + 1) && isConstBound(u.child(2), scope, depth + 1);
      return false;
    }
    case 'conditional_expression':
      return isConstBound(u.childForFieldName('consequence'), scope, depth + 1) && isConstBound(u.childForFieldName('alternative'), scope, depth + 1);
    default:
      return false;
  }
}

/** Where a value is read from memory at run time (a map value, a task field, a global in .bss/.data), or null. */
function memoryRead(n: SyntaxNode | null, scope: LoopScope, depth = 0): string | null {
  const u = unwrap(n);
  if (!u) return null;
  switch (u.type) {
    case 'pointer_expression':
      return u.child(0)?.type === '*' ? `*${u.childForFieldName('argument')?.text} (a pointer dereference, e.g. a map value)` : null;
    case 'field_expression': {
      const arg = u.childForFieldName('argument')?.text ?? '';
      return `${u.text} (${/^(p|task|prev|next|tsk)$/.test(arg) ? 'a task_struct field' : 'a field read from memory'})`;
    }
    case 'subscript_expression':
      return `${u.text} (an array element read from memory)`;
    case 'identifier': {
      const g = scope.globals.get(u.text);
      if (g) return g.constant ? null : `${u.text} (a global variable: a map value the program can change at run time)`;
      if (depth > 2) return null;
      const v = lastValueOf(u.text, scope, scope.loop.startIndex);
      const inner = v ? memoryRead(v, scope, depth + 1) : null;
      return inner ? `${u.text}, which holds ${inner}` : null;
    }
    case 'binary_expression':
      return memoryRead(u.child(0), scope, depth + 1) ?? memoryRead(u.child(2), scope, depth + 1);
    default:
      return null;
  }
}

/**
 * Loops the verifier proves: a comparison against a constant it sees (a literal, an ALL_CAPS
 * name, sizeof, a const/SCX_PARAM global, min() with a constant, a local clamped by a constant
 * before the loop), in any of the condition's && parts; bpf_for/bpf_repeat/bpf_loop (not C loops).
 * Loops it cannot: a bound read from memory at run time (a map value, a task field, a global in
 * .bss) with no constant cap. It walks such a loop one iteration at a time until its 1M-instruction
 * limit: minutes under emulation. Those are errors; a bound whose origin is not visible here
 * (a parameter, a call) is a warning.
 */
function checkLoops(body: SyntaxNode, globals: Globals, add: Add, at: At): void {
  for (const loop of body.descendantsOfType(['for_statement', 'while_statement', 'do_statement'])) {
    const cond = loop.childForFieldName('condition');
    const kind = loop.type.replace('_statement', '');
    const scope: LoopScope = { body, loop, globals };
    if (!cond || /^\(?\s*(1|true)\s*\)?$/.test(cond.text)) {
      const breaks = loop.descendantsOfType(['break_statement', 'return_statement']);
      add(
        at(loop),
        'unbounded-loop',
        breaks.length ? 'warning' : 'error',
        `${kind} loop without a condition${breaks.length ? ' (it relies on break/return)' : ' and no way out'}: the verifier must walk every iteration and may run to its 1M-instruction limit`,
        'bound it: for (i = 0; i < MAX_ITERS; i++) or bpf_for(i, 0, MAX_ITERS)',
      );
      continue;
    }
    const parts = conjuncts(cond);
    const compares = parts.filter((c) => c.type === 'binary_expression' && ORDER.test(c.child(1)?.type ?? ''));
    // a count-down from memory: for (i = *n; i > 0; i--) has a constant on one side but no upper bound
    const init = loop.type === 'for_statement' ? loop.childForFieldName('initializer') : null;
    const countsDownFromMemory = (c: SyntaxNode) => {
      const op = c.child(1)?.type ?? '';
      const v = /^(>|>=)$/.test(op) ? unwrap(c.child(0)) : /^(<|<=)$/.test(op) ? unwrap(c.child(2)) : null;
      if (!v || v.type !== 'identifier' || !init) return false;
      const a = init.type === 'assignment_expression' ? init : init.descendantsOfType(['assignment_expression', 'init_declarator'])[0];
      const target = a?.type === 'init_declarator' ? a.childForFieldName('declarator')?.text : a?.childForFieldName('left')?.text;
      const value = a?.type === 'init_declarator' ? a.childForFieldName('value') : a?.childForFieldName('right');
      return target === v.text && memoryRead(value ?? null, scope) !== null;
    };
    const capped = compares.some((c) => {
      const op = c.child(1)?.type ?? '';
      const upper = /^(<|<=)$/.test(op) ? c.child(2) : c.child(0);
      const lower = /^(<|<=)$/.test(op) ? c.child(0) : c.child(2);
      return (isConstBound(upper, scope) || isConstBound(lower, scope)) && !countsDownFromMemory(c);
    });
    if (capped) continue;
    let mem: string | null = null;
    for (const c of parts) {
      const sides = c.type === 'binary_expression' ? [c.child(0), c.child(2)] : [c];
      for (const side of sides) mem ??= memoryRead(side, scope);
    }
    if (!mem && compares.some(countsDownFromMemory)) mem = `the loop variable, which starts from a value read from memory`;
    const condText = cond.text
      .replace(/\s+/g, ' ')
      .replace(/^\((.*)\)$/, '$1')
      .slice(0, 80);
    if (mem) {
      add(
        at(loop),
        'unbounded-loop',
        'error',
        `${kind} loop "${condText}" is bounded by ${mem}: the verifier cannot bound that, walks the loop one iteration at a time and gives up after 1M instructions (under emulation: minutes)`,
        'cap it by a constant the verifier sees: for (i = 0; i < n && i < MAX_N; i++), or clamp first (if (n > MAX_N) n = MAX_N;), or use bpf_for(i, 0, n) / bpf_repeat(MAX_N), which the verifier checks once',
      );
    } else {
      // a for loop over a variable bound is often fine (the verifier tracks it); a while/do loop rarely is
      add(
        at(loop),
        'unbounded-loop',
        kind === 'for' ? 'warning' : 'error',
        `${kind} loop condition "${condText}" has no constant bound: the verifier may not prove it terminates (under emulation that costs minutes)`,
        'add a constant cap to the condition (&& i < MAX_ITERS) or use bpf_for()',
      );
    }
  }
}

/** `v = bpf_map_lookup_elem(...)` then `*v` / `v->x` / `v[i]` before any test of v. */
function checkNullChecks(body: SyntaxNode, arrayMaps: Set<string>, add: Add, at: At): void {
  const lookups: Array<{ v: string; map: string; node: SyntaxNode }> = [];
  for (const call of body.descendantsOfType('call_expression')) {
    if (call.childForFieldName('function')?.text !== 'bpf_map_lookup_elem') continue;
    const map = call.childForFieldName('arguments')?.namedChildren[0]?.text.replace(/^&/, '') ?? '';
    const parent = call.parent;
    let v: string | undefined;
    if (parent?.type === 'init_declarator') v = parent.childForFieldName('declarator')?.text.replace(/^\*+\s*/, '');
    else if (parent?.type === 'assignment_expression') v = parent.childForFieldName('left')?.text;
    else if (parent?.type === 'cast_expression' && parent.parent?.type === 'init_declarator')
      v = parent.parent.childForFieldName('declarator')?.text.replace(/^\*+\s*/, '');
    if (v && /^\w+$/.test(v)) lookups.push({ v, map, node: call });
  }
  for (const { v, map, node } of lookups) {
    const after = node.endIndex;
    let firstCheck = Infinity;
    for (const c of body.descendantsOfType(['if_statement', 'conditional_expression', 'while_statement', 'return_statement'])) {
      const cond = c.childForFieldName('condition') ?? (c.type === 'return_statement' ? c : null);
      if (!cond || c.startIndex < after) continue;
      if (new RegExp(`\\b${v}\\b`).test(cond.text) && c.type !== 'return_statement') firstCheck = Math.min(firstCheck, c.startIndex);
    }
    // also `if (!v) return;` written as part of && chains inside expressions
    for (const b of body.descendantsOfType('binary_expression')) {
      if (b.startIndex > after && /^(&&|\|\|)$/.test(b.child(1)?.type ?? '') && new RegExp(`^!?\\s*${v}\\b`).test(b.child(0)?.text ?? '')) {
        firstCheck = Math.min(firstCheck, b.startIndex);
      }
    }
    const derefs = body.descendantsOfType(['pointer_expression', 'field_expression', 'subscript_expression']).filter((d) => {
      if (d.startIndex < after) return false;
      if (d.type === 'pointer_expression') return d.child(0)?.type === '*' && d.childForFieldName('argument')?.text === v;
      if (d.type === 'field_expression') return d.childForFieldName('argument')?.text === v && d.child(1)?.type === '->';
      return d.childForFieldName('argument')?.text === v;
    });
    const first = derefs.sort((a, b) => a.startIndex - b.startIndex)[0];
    if (first && first.startIndex < firstCheck) {
      const isArray = arrayMaps.has(map);
      add(
        at(first),
        'null-check',
        isArray ? 'warning' : 'error',
        `${v} from bpf_map_lookup_elem(${map}) is dereferenced without a NULL check${isArray ? ' (an ARRAY map with an in-range constant key is accepted by newer verifiers, but not a computed key)' : ': the verifier will reject it'}`,
        `check it first: if (!${v}) return; (or scx_bpf_error() and return)`,
      );
    }
  }
}

function checkStack(body: SyntaxNode, add: Add, at: At): void {
  let total = 0;
  let first: SyntaxNode | null = null;
  for (const decl of body.descendantsOfType('array_declarator')) {
    const size = decl.childForFieldName('size');
    const n = size && /^\d+$/.test(size.text) ? Number(size.text) : 0;
    let owner: SyntaxNode | null = decl.parent;
    while (owner && owner.type !== 'declaration') owner = owner.parent;
    const typeText = owner?.childForFieldName('type')?.text ?? '';
    const elem = /u64|s64|long|__u64|double|\*/.test(typeText) ? 8 : /u32|s32|int|float/.test(typeText) ? 4 : /u16|s16|short/.test(typeText) ? 2 : 1;
    if (n * elem > BPF_STACK) {
      add(
        at(decl),
        'stack-size',
        'error',
        `local array of ${n * elem} bytes: the BPF stack is ${BPF_STACK} bytes in all`,
        'move it to a per-CPU array map (BPF_MAP_TYPE_PERCPU_ARRAY with one entry) and look it up',
      );
      return;
    }
    total += n * elem;
    first ??= decl;
  }
  if (first && total > BPF_STACK) {
    add(
      at(first),
      'stack-size',
      'error',
      `the local arrays of this function take ${total} bytes together: the BPF stack is ${BPF_STACK} bytes in all (clang refuses it: "BPF stack limit is exceeded")`,
      'move the larger ones to a per-CPU array map (BPF_MAP_TYPE_PERCPU_ARRAY with one entry) and look it up',
    );
  }
}

/** Every C loop in a source, for reports that must point at the likely culprit (a verification that ran out of time). */
export function listLoops(source: string): Array<{ line: number; column: number; text: string }> {
  const tree = getParser().parse(source);
  return tree.rootNode.descendantsOfType(['for_statement', 'while_statement', 'do_statement']).map((l) => ({
    line: l.startPosition.row + 1,
    column: l.startPosition.column + 1,
    text: (source.split('\n')[l.startPosition.row] ?? '').trim().slice(0, 100),
  }));
}
