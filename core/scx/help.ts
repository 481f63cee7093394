/**
 * The typed parameters of an scx scheduler binary, read from its own `--help` (clap's
 * format), never from a hand-copied list: scripts/scx-schedulers.sh records the help text at
 * install time and writes what this parses to <cache>/scx-bin/params/<name>.json.
 *
 * clap prints options in two layouts: short help (`-s, --slice-us <SLICE_US>  Text [default: 1000]`
 * on one line) and long help (the option line, then indented paragraphs, then `[default: …]`).
 * Both are handled. A parameter's type comes from its default: an integer is u64 (s64 when
 * negative), a decimal f64, true/false a bool-valued option; a switch without a value is a bool
 * flag (default false); anything else (a CPU mask, "auto", no default) is a string.
 */
import { z } from 'zod';

export const ScxParam = z.object({
  name: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .describe('the long flag with - as _, e.g. slice_us for --slice-us'),
  flag: z.string().regex(/^--[a-z0-9][a-z0-9-]*$/),
  short: z
    .string()
    .regex(/^-[A-Za-z0-9]$/)
    .optional(),
  type: z.enum(['u64', 's64', 'f64', 'bool', 'string']),
  /** a switch (`--local-pcpu`) takes no value: true passes it, false leaves it out */
  switch: z.boolean(),
  default: z.union([z.number(), z.boolean(), z.string()]).nullable(),
  possibleValues: z.array(z.string()).optional(),
  valueName: z.string().optional(),
  /** can be given more than once (clap's `<X>...`) */
  multiple: z.boolean().default(false),
  description: z.string(),
  /** false for options that change what the program does rather than how it schedules (stats, monitor, help) */
  tunable: z.boolean(),
  /** the help section it is listed under when not the main "Options:" (e.g. "Libbpf Options") */
  group: z.string().optional(),
});
export type ScxParam = z.infer<typeof ScxParam>;

export const ScxParams = z.object({
  scheduler: z.string(),
  version: z.string(),
  /** sha256 of the help text these came from */
  helpSha256: z.string(),
  params: z.array(ScxParam),
});
export type ScxParams = z.infer<typeof ScxParams>;

/** Options that are not scheduling policy: they print, monitor or exit instead of (or beside) scheduling. */
// `partial` (only tasks that asked for SCHED_EXT are scheduled) changes what is scheduled, not how: a
// benchmark or a tuning trial under it would measure the kernel default
const NOT_POLICY = /^(help|version|stats|monitor(_[a-z_]+)?|help_stats|verbose|debug|log_level|exit_dump_len|run_id|bench|test|partial)$/;

// `-s, --slice-us <SLICE_US>`, `--virt-llc[=<VIRT_LLC>]` (optional value), `-v, --verbose...` (a counted switch)
const OPTION_LINE = /^\s{1,6}(?:(-[A-Za-z0-9]),\s+)?(--[a-z0-9][a-z0-9-]*)(\.\.\.)?((?:[ =]<[^>]+>|\[=<[^>]+>\]| \[<[^>]+>\])(?:\.\.\.)?)?(?:\s{2,}(.*))?$/;

function typeFromDefault(d: string): { type: ScxParam['type']; value: number | boolean | string } {
  if (/^".*"$/.test(d)) return { type: 'string', value: d.slice(1, -1) };
  if (/^-?\d+$/.test(d)) return { type: d.startsWith('-') ? 's64' : 'u64', value: Number(d) };
  if (/^-?\d*\.\d+$/.test(d)) return { type: 'f64', value: Number(d) };
  if (d === 'true' || d === 'false') return { type: 'bool', value: d === 'true' };
  return { type: 'string', value: d };
}

/** Parse clap's `--help` output into parameters (options after an "Options:" heading, or anywhere when there is none). */
export function parseHelp(text: string): ScxParam[] {
  const lines = text.replace(/\r/g, '').split('\n');
  const out: ScxParam[] = [];
  let cur: { short?: string; flag: string; value?: string; counted?: boolean; text: string[]; group?: string } | null = null;
  let group: string | undefined;
  const flush = () => {
    if (!cur) return;
    const c = cur;
    cur = null;
    let body = c.text.join('\n');
    const grab = (re: RegExp): string | undefined => {
      const m = re.exec(body);
      if (!m) return undefined;
      body = body.replace(m[0], '');
      return m[1];
    };
    const def = grab(/\[default: ([^\]]*)\]/);
    const possible = grab(/\[possible values: ([^\]]*)\]/);
    grab(/\[env: ([^\]]*)\]/);
    const aliases = grab(/\[aliases: ([^\]]*)\]/);
    void aliases;
    const description = body
      .split(/\n\s*\n/)
      .map((p) => p.replace(/\s+/g, ' ').trim())
      .filter(Boolean)
      .join('\n\n');
    const name = c.flag.slice(2).replace(/-/g, '_');
    const sw = c.value === undefined;
    let type: ScxParam['type'] = 'bool';
    let value: ScxParam['default'] = false;
    if (!sw) {
      if (def !== undefined) ({ type, value } = typeFromDefault(def.trim()));
      else {
        type = 'string';
        value = null;
      }
      if (possible && type === 'string') value = def?.trim() ?? null;
      if (possible && def === undefined && /^true,\s*false$/.test(possible.trim())) type = 'bool';
    }
    out.push({
      name,
      flag: c.flag,
      ...(c.short ? { short: c.short } : {}),
      type,
      switch: sw,
      default: value,
      ...(possible
        ? {
            possibleValues: possible
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      ...(c.value ? { valueName: c.value.replace(/[[\]<>.=\s]/g, '') } : {}),
      multiple: Boolean(c.value?.endsWith('...') || c.counted),
      description,
      tunable: !NOT_POLICY.test(name) && !/libbpf/i.test(c.group ?? ''),
      ...(c.group ? { group: c.group } : {}),
    });
  };
  const start = lines.findIndex((l) => /^Options:\s*$/.test(l));
  for (const line of start >= 0 ? lines.slice(start + 1) : lines) {
    if (/^\S.*:\s*$/.test(line) && !line.startsWith('-')) {
      flush();
      group = line.trim().replace(/:$/, '');
      continue;
    } // another heading
    const m = OPTION_LINE.exec(line);
    if (m && /^\s*-/.test(line)) {
      flush();
      cur = {
        ...(m[1] ? { short: m[1] } : {}),
        flag: m[2]!,
        ...(m[4] ? { value: m[4] } : {}),
        counted: Boolean(m[3]),
        text: m[5] ? [m[5]] : [],
        ...(group ? { group } : {}),
      };
      continue;
    }
    if (cur) cur.text.push(line.trim());
  }
  flush();
  return out;
}

/** A parameter value as command-line arguments, checked against its type; throws a message on a bad value. */
export function argsFor(p: ScxParam, v: unknown): string[] {
  if (p.switch) {
    if (typeof v !== 'boolean') throw new Error(`${p.name} is a switch (${p.flag}): give true or false`);
    return v ? [p.flag] : [];
  }
  switch (p.type) {
    case 'u64':
    case 's64': {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${p.name} (${p.flag}) takes an integer`);
      if (p.type === 'u64' && v < 0) throw new Error(`${p.name} (${p.flag}) takes a non-negative integer`);
      return [`${p.flag}=${v}`];
    }
    case 'f64':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${p.name} (${p.flag}) takes a number`);
      return [`${p.flag}=${v}`];
    case 'bool':
      if (typeof v !== 'boolean') throw new Error(`${p.name} (${p.flag}) takes true or false`);
      return [`${p.flag}=${v}`];
    case 'string': {
      const s = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
      if (typeof s !== 'string' || !s || /[\0\n]/.test(s)) throw new Error(`${p.name} (${p.flag}) takes a value`);
      if (p.possibleValues?.length && !p.possibleValues.includes(s)) throw new Error(`${p.name} (${p.flag}) takes one of ${p.possibleValues.join(', ')}`);
      return [`${p.flag}=${s}`];
    }
  }
}
