/**
 * Scheduler parameters as declared in the source (SCX_PARAM(type, name, default))
 * and applied to it. Until the Rust loader sets .rodata at load time, a build
 * with parameters bakes them in as the globals' initial values.
 */
import { ScxError } from '../errors.js';
import type { ParamSpec } from '../model/entry.js';

export interface DeclaredParam {
  type: string;
  name: string;
  default: string;
}

const PARAM_RE = /SCX_PARAM\(\s*(\w+)\s*,\s*(\w+)\s*,\s*([^)]+?)\s*\)/g;

export function declaredParams(source: string): DeclaredParam[] {
  return [...source.matchAll(PARAM_RE)].map((m) => ({ type: m[1]!, name: m[2]!, default: m[3]! }));
}

const RANGES: Record<string, [number, number]> = {
  u64: [0, Number.MAX_SAFE_INTEGER],
  u32: [0, 0xffffffff],
  s64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  s32: [-0x80000000, 0x7fffffff],
  u16: [0, 0xffff],
  u8: [0, 0xff],
  s16: [-0x8000, 0x7fff],
  s8: [-0x80, 0x7f],
  bool: [0, 1],
};

/** Check values against the declared C types and the entry's typed specs; returns the source with them applied. */
export function applyParams(
  source: string,
  values: Record<string, number | boolean>,
  specs: ParamSpec[] = [],
): { source: string; applied: Record<string, number | boolean> } {
  const declared = new Map(declaredParams(source).map((p) => [p.name, p]));
  const applied: Record<string, number | boolean> = {};
  for (const [name, value] of Object.entries(values)) {
    const d = declared.get(name);
    if (!d) {
      throw new ScxError(
        'BAD_INPUT',
        `unknown parameter "${name}"`,
        declared.size
          ? `this scheduler's parameters: ${[...declared.values()].map((p) => `${p.name} (${p.type}, default ${p.default})`).join(', ')}`
          : 'this scheduler declares no parameters (SCX_PARAM)',
      );
    }
    const spec = specs.find((s) => s.name === name);
    let n: number;
    if (d.type === 'bool') {
      if (typeof value !== 'boolean' && value !== 0 && value !== 1) throw new ScxError('BAD_INPUT', `parameter ${name} is a bool: pass true or false`);
      n = value ? 1 : 0;
    } else {
      if (typeof value !== 'number' || !Number.isInteger(value))
        throw new ScxError('BAD_INPUT', `parameter ${name} is an integer (${d.type}); got ${JSON.stringify(value)}`);
      n = value;
    }
    const [lo, hi] = RANGES[d.type] ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
    const min = Math.max(lo, spec?.min ?? lo);
    const max = Math.min(hi, spec?.max ?? hi);
    if (n < min || n > max) {
      throw new ScxError('BAD_INPUT', `parameter ${name} = ${n} is out of range [${min}, ${max}]${spec?.unit ? ` ${spec.unit}` : ''}`, spec?.description);
    }
    applied[name] = d.type === 'bool' ? Boolean(n) : n;
  }
  const out = source.replace(PARAM_RE, (whole, type: string, name: string) =>
    name in applied
      ? `SCX_PARAM(${type}, ${name}, ${typeof applied[name] === 'boolean' ? (applied[name] ? 'true' : 'false') : String(applied[name])}${type.startsWith('u') ? 'ULL' : ''})`
      : whole,
  );
  return { source: out, applied };
}
