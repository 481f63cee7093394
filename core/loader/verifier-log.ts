/**
 * Turning the verifier log of a failed load (the loader's error line carries it) into something an agent can act on:
 * which program, which source line, which instruction, what the verifier
 * objected to, how many instructions it walked, and how to fix it.
 * Pure functions; no I/O.
 */
import { z } from 'zod';

export const LoadFailure = z.object({
  stage: z.enum(['verifier', 'link', 'object', 'attach', 'unknown']),
  program: z.string().nullable(),
  file: z.string().nullable(),
  line: z.number().nullable(),
  column: z.number().nullable(),
  sourceLine: z.string().nullable().describe('the C source text the verifier quoted for the failing line'),
  instruction: z.object({ index: z.number(), text: z.string() }).nullable(),
  reason: z.string(),
  explanation: z.string().nullable().describe("the kernel's own explanation (newer verifiers): summary, reason and suggestion"),
  insnsProcessed: z.number().nullable(),
  insnLimitHit: z.boolean(),
  errno: z.string().nullable(),
  hint: z.string(),
  log: z.string().describe('what of the verifier log explains the failure: the failing instruction, a few hundred lines before it, the reason and the counts'),
  wholeLog: z.object({ uri: z.string(), bytes: z.number() }).nullable().optional().describe('the whole log, as a resource (scx://logs/<id>)'),
  timedOutS: z.number().nullable().optional().describe('the load was stopped after this many seconds of verification (the verification budget)'),
});
export type LoadFailure = z.infer<typeof LoadFailure>;

const HINTS: Array<[RegExp, string]> = [
  [
    /map_value_or_null|_or_null'|may be NULL|nullable/,
    'A pointer that may be NULL is used without a check. Test the result of bpf_map_lookup_elem() (or the kfunc that returned it) for NULL before dereferencing it, and return early if it is NULL.',
  ],
  [
    /cannot write into (ptr_)?task_struct|only read is supported|no write support to/,
    'BPF may not write this field of a kernel object: of task_struct a scheduler may write only p->scx.slice and p->scx.dsq_vtime. Keep your own per-task state in a BPF_MAP_TYPE_TASK_STORAGE map (bpf_task_storage_get) instead.',
  ],
  [
    /jumps is too complex/,
    'The verifier gave up on a loop: every iteration left a branch to explore (more than 8192). The bound is a value it cannot see (read from memory or behind a call): cap it by a constant (for (i = 0; i < n && i < MAX; i++)) or use bpf_for(i, 0, n).',
  ],
  [
    /processed 100000[01] insns|BPF program is too large|too many states/,
    'The verifier ran out of its 1,000,000-instruction budget: a loop it cannot prove to be short. Give every loop a constant upper bound (for (i = 0; i < MAX && i < n; i++)), or use bpf_for()/bpf_loop(); avoid deep unrolled loops.',
  ],
  [/infinite loop detected|back-edge from insn/, 'The verifier found a loop it cannot bound. Use a constant bound (i < CONST), bpf_for(), or bpf_loop().'],
  [
    /cannot call kernel function from non-GPL compatible program|non-GPL/,
    'sched_ext kfuncs require a GPL-compatible licence: add `char _license[] SEC("license") = "GPL";` (SCX_LICENSE_GPL in scx_common.bpf.h).',
  ],
  [
    /not found in kernel or module BTFs|referenced but wasn't resolved/,
    'The program calls a kfunc the target kernel does not export (kfuncs were renamed across kernels). Use the scx_* wrappers from scx_common.bpf.h (scx_insert, scx_move_to_local, ...) which pick the right kfunc for the target, or check scx_target_api.h for what this kernel has.',
  ],
  [
    /write into map forbidden/,
    'A string literal (in read-only .rodata) was passed where the kernel writes or expects writable memory, e.g. the format of scx_bpf_error_bstr. Use the scx_bpf_error() macro, which keeps the format in a writable static buffer.',
  ],
  [
    /unreleased reference|Unreleased reference/,
    'An acquired reference (e.g. from bpf_task_from_pid, bpf_cpumask_create, bpf_obj_new) is not released on every path. Release it (bpf_task_release, bpf_cpumask_release, bpf_obj_drop) before each return.',
  ],
  [
    /!read_ok|invalid read from stack|uninitialized (register|stack)|uninit'/,
    'A register or stack slot is read before it is written. Initialise the variable on every path (e.g. `u64 x = 0;`).',
  ],
  [
    /invalid access to map value|value_size=\d+ off=|outside of the allowed memory range/,
    'An index or offset into a map value may be out of bounds. Clamp or check it against the array size right before the access (if (i >= N) return;).',
  ],
  [
    /invalid mem access 'scalar'|invalid mem access 'inv'/,
    'A plain number is dereferenced as a pointer. Keep the typed pointer you got from the kernel or a map, or read kernel memory with BPF_CORE_READ / bpf_probe_read_kernel.',
  ],
  [
    /combined stack size|stack limit|invalid (indirect )?read from stack|invalid stack off/,
    'BPF stack is limited to 512 bytes and must be initialised before it is read. Move large buffers to a per-CPU array map and zero-initialise locals.',
  ],
  [
    /unknown func|program of this type cannot use helper/,
    'That helper is not allowed in a struct_ops program. Use the sched_ext kfuncs (scx_bpf_*) or generic kfuncs instead.',
  ],
  [
    /arg#\d+|expected pointer|R\d type=\w+ expected=/,
    'A helper or kfunc got an argument of the wrong kind. Pass the exact pointer type the kfunc takes (e.g. the task_struct the callback received), not a copy or a scalar.',
  ],
  [
    /dereference of modified ctx ptr|invalid bpf_context access/,
    'Read callback arguments through the BPF_STRUCT_OPS(...) parameters, not by offsetting the context pointer.',
  ],
  [/division by zero|divide by zero/, 'A division whose divisor may be zero: check it first.'],
  [/Permission denied|EACCES/, 'The verifier rejected the program; the reason line above says why.'],
];

export function hintFor(text: string): string {
  for (const [re, hint] of HINTS) if (re.test(text)) return hint;
  return 'Read the reason and the quoted source line; fix the code there and build again.';
}

const SOURCE_RE = /^; (.*?) @ (\S+?):(\d+)\s*$/;
const INSN_RE = /^(\d+): \([0-9a-f]{2}\) (.*)$/;
const STATE_RE = /^(\d+:\s*)?(R\d+(_[rw])?=|frame\d|fp-?\d+=|from \d+ to \d+)/;

/** Parse libbpf output of a failed load (a verifier log between its BEGIN/END PROG LOAD LOG lines). Returns null if the text shows no failure. */
export function parseLoadFailure(output: string): LoadFailure | null {
  const lines = output.split('\n');
  const begin = lines.findIndex((l) => l.includes('-- BEGIN PROG LOAD LOG --'));
  const end = lines.findIndex((l, i) => i > begin && l.includes('-- END PROG LOAD LOG --'));
  if (begin >= 0) {
    const progM = /prog '([^']+)'/.exec(lines[begin]!);
    const log = lines.slice(begin + 1, end >= 0 ? end : undefined);
    return fromVerifierLog(log, progM?.[1] ?? null, output);
  }
  // No verifier log: a failure before or after verification (relocation, licence, attach).
  const errLines = lines.filter((l) => /libbpf: |Error:|error:|failed/i.test(l));
  if (!errLines.length) return null;
  const ksym = /extern \(func ksym\) '([^']+)': not found/.exec(output);
  const progM = /prog '([^']+)'/.exec(output);
  const reason = ksym
    ? `kfunc ${ksym[1]} is not in the target kernel`
    : (errLines.find((l) => /not found|non-GPL|invalid|failed to|unsupported|unknown/i.test(l)) ?? errLines[0]!).replace(/^libbpf: /, '').trim();
  const stage: LoadFailure['stage'] =
    ksym || /relo|extern|BTF/i.test(reason)
      ? 'link'
      : /attach|register|struct_ops/i.test(reason)
        ? 'attach'
        : /ELF|object/i.test(reason)
          ? 'object'
          : 'unknown';
  return {
    stage,
    program: progM?.[1] ?? null,
    file: null,
    line: null,
    column: null,
    sourceLine: null,
    instruction: null,
    reason,
    explanation: null,
    insnsProcessed: null,
    insnLimitHit: false,
    errno: errnoOf(output),
    hint: hintFor(output),
    log: trimLog(errLines.join('\n')),
  };
}

/** Sections of the structured explanation newer kernels append ("Verification failed: ..."). */
function explanationSections(log: string[]): { headline: string; sections: Map<string, string[]> } | null {
  const at = log.findIndex((l) => l.startsWith('Verification failed:'));
  if (at < 0) return null;
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const l of log.slice(at + 1)) {
    const head = /^([A-Z][A-Za-z ]+):\s*$/.exec(l);
    if (head) {
      current = [];
      sections.set(head[1]!, current);
    } else if (/^processed \d+ insns/.test(l)) {
      break;
    } else if (current && l.trim()) {
      current.push(l.trim());
    }
  }
  return { headline: log[at]!.slice('Verification failed:'.length).trim(), sections };
}

function fromVerifierLog(log: string[], program: string | null, whole: string): LoadFailure {
  let lastInsn = -1;
  for (let i = 0; i < log.length; i++) if (INSN_RE.test(log[i]!)) lastInsn = i;
  let source: RegExpExecArray | null = null;
  for (let i = lastInsn >= 0 ? lastInsn : log.length - 1; i >= 0; i--) {
    const m = SOURCE_RE.exec(log[i]!);
    if (m) {
      source = m;
      break;
    }
  }
  const insnM = lastInsn >= 0 ? INSN_RE.exec(log[lastInsn]!) : null;
  // The classic reason: the lines right after the failing instruction, up to the first blank line.
  const reasonLines: string[] = [];
  for (const l of log.slice(lastInsn + 1)) {
    if (!l.trim() || l.startsWith('Verification failed:')) {
      if (reasonLines.length) break;
      continue;
    }
    if (/^(verification time|stack depth|processed \d+ insns|max_states_per_insn)/.test(l)) break;
    if (STATE_RE.test(l) || SOURCE_RE.test(l) || /^(func#|mark_precise|last_idx|func '\w+' arg|libbpf: |subprog \d+ \(.*insns_self)/.test(l)) continue;
    reasonLines.push(l.trim());
  }
  const processed = /processed (\d+) insns/.exec(log.join('\n'));
  const insns = processed ? Number(processed[1]) : null;
  const limitHit = (insns !== null && insns > 1_000_000) || /BPF program is too large/.test(whole);
  const expl = explanationSections(log);
  let reason = reasonLines.join('; ').trim();
  if (!reason && limitHit) reason = `BPF program is too large: the verifier processed ${insns} instructions (limit 1000000)`;
  if (!reason && expl) reason = expl.headline;
  if (!reason) reason = 'the verifier rejected the program (no reason line found in the log)';

  let file = source?.[2] ?? null;
  let line = source ? Number(source[3]) : null;
  let column: number | null = null;
  const atLine = expl?.sections.get('At')?.[0];
  const atM = atLine ? /@ (\S+?):(\d+):(\d+)/.exec(atLine) : null;
  if (atM) {
    file = atM[1]!;
    line = Number(atM[2]);
    column = Number(atM[3]);
  }
  const explanation = expl
    ? // the kernel ends its own sentences with a full stop: join them without doubling it
      [expl.headline, expl.sections.get('Reason')?.join(' '), expl.sections.get('Suggestion')?.join(' ')]
        .filter(Boolean)
        .map((x) => x!.trim().replace(/\.+$/, ''))
        .join('. ') + '.'
    : null;
  return {
    stage: 'verifier',
    program,
    file,
    line,
    column,
    sourceLine: source?.[1]?.trim() ?? null,
    instruction: insnM ? { index: Number(insnM[1]), text: insnM[2]!.trim() } : null,
    reason,
    explanation,
    insnsProcessed: insns,
    insnLimitHit: limitHit,
    errno: errnoOf(whole),
    hint: hintFor(`${reason}\n${explanation ?? ''}\n${limitHit ? 'processed 1000001 insns' : ''}`),
    log: excerptLog(log.join('\n')),
  };
}

function errnoOf(text: string): string | null {
  const m = /load failed: ([A-Za-z ]+)|failed to load: (-\d+)|error: (-?E[A-Z0-9]+)/.exec(text);
  return m ? ((m[1] ?? m[2] ?? m[3] ?? null)?.trim() ?? null) : null;
}

/**
 * What of a verifier log explains the failure: the failing instruction (the last one the verifier
 * printed) and `before` lines before it, then what follows it (the reason, the counts), at most
 * `after` lines. Everything else is named by a marker line.
 */
export function excerptLog(text: string, before = 300, after = 60): string {
  const lines = text.split('\n');
  if (lines.length <= before + after) return text;
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (INSN_RE.test(lines[i]!)) {
      at = i;
      break;
    }
  }
  if (at < 0) return trimLog(text, before + after);
  const from = Math.max(0, at - before);
  const to = Math.min(lines.length, at + 1 + after);
  return [
    ...(from > 0 ? [`[... ${from} earlier lines of the verifier's walk omitted ...]`] : []),
    ...lines.slice(from, to),
    ...(to < lines.length ? [`[... ${lines.length - to} later lines omitted ...]`] : []),
  ].join('\n');
}

/** Keep the end of a long log: that is where the reason is. */
export function trimLog(text: string, maxLines = 60): string {
  const lines = text.split('\n');
  if (lines.length <= maxLines) return text;
  return [`[... ${lines.length - maxLines} earlier lines omitted ...]`, ...lines.slice(-maxLines)].join('\n');
}
