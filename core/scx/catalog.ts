/**
 * sched-ext/scx's production schedulers as library entries of kind "scx": prebuilt binaries that
 * scripts/scx-schedulers.sh installs into <cache>/scx-bin (pinned crates.io versions). This module
 * says whether an entry's binary is there (status.json), reads its typed parameters (parsed from
 * its own --help at install time) and turns parameter values into its command line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ScxError } from '../errors.js';
import type { LibraryEntry, ParamSpec } from '../model/entry.js';
import { cacheDir } from '../paths.js';
import { argsFor, ScxParams, type ScxParam } from './help.js';

export function scxBinDir(): string {
  return process.env.SCX_MCP_SCX_BIN ? process.env.SCX_MCP_SCX_BIN : join(cacheDir(), 'scx-bin');
}

export const ScxStatus = z.object({
  schedulers: z.record(
    z.string(),
    z.object({
      status: z.enum(['ok', 'failed']),
      version: z.string(),
      buildSeconds: z.number().optional(),
      error: z.string().optional(),
      checkedAt: z.string().optional(),
    }),
  ),
});
export type ScxStatus = z.infer<typeof ScxStatus>;

export function readScxStatus(): ScxStatus {
  try {
    return ScxStatus.parse(JSON.parse(readFileSync(join(scxBinDir(), 'status.json'), 'utf8')));
  } catch {
    return { schedulers: {} };
  }
}

export interface ScxAvailability {
  available: boolean;
  binary: string;
  version: string | null;
  /** why not, and what to do */
  reason?: string;
}

/** Whether the entry's binary is installed at its pinned version (set-up's status.json and the file itself). */
export function scxAvailability(entry: Pick<LibraryEntry, 'name' | 'scx'>): ScxAvailability {
  const crate = entry.scx?.crate ?? entry.name;
  const binary = join(scxBinDir(), 'bin', crate);
  const st = readScxStatus().schedulers[crate];
  if (!st) return { available: false, binary, version: null, reason: `${crate} is not installed: run scripts/scx-schedulers.sh (npm run setup does)` };
  if (st.status !== 'ok')
    return {
      available: false,
      binary,
      version: st.version,
      reason: `${crate} ${st.version} failed to build at set-up: ${st.error ?? 'see the log'} (${join(scxBinDir(), 'logs', `${crate}.log`)})`,
    };
  if (entry.scx && st.version !== entry.scx.version)
    return {
      available: false,
      binary,
      version: st.version,
      reason: `${crate} ${st.version} is installed, the entry wants ${entry.scx.version}: run scripts/scx-schedulers.sh`,
    };
  if (!existsSync(binary)) return { available: false, binary, version: st.version, reason: `${binary} is missing: run scripts/scx-schedulers.sh` };
  return { available: true, binary, version: st.version };
}

/** The binary's typed parameters as parsed from its --help at install time. */
export function scxParams(crate: string): ScxParams | null {
  try {
    return ScxParams.parse(JSON.parse(readFileSync(join(scxBinDir(), 'params', `${crate}.json`), 'utf8')));
  } catch {
    return null;
  }
}

/** An installed scx entry, ready to run: binary, its parameters, availability. Throws when unavailable. */
export function requireScx(entry: LibraryEntry): { binary: string; version: string; params: ScxParam[] } {
  if (entry.kind !== 'scx') throw new ScxError('BAD_INPUT', `${entry.name} is not an scx binary entry`);
  const a = scxAvailability(entry);
  if (!a.available)
    throw new ScxError('TOOL_MISSING', `${entry.name} is unavailable: ${a.reason}`, 'install it with scripts/scx-schedulers.sh, or pick another library entry');
  const p = scxParams(entry.scx?.crate ?? entry.name);
  if (!p)
    throw new ScxError(
      'TOOL_MISSING',
      `${entry.name}'s parameters (${join(scxBinDir(), 'params', `${entry.name}.json`)}) are missing`,
      "run scripts/scx-schedulers.sh: it parses them from the binary's --help",
    );
  return { binary: a.binary, version: a.version!, params: p.params };
}

/**
 * Parameter values to the binary's arguments, each checked against the parsed parameter list (name,
 * type, possible values; only scheduling options, not stats/monitor/help). Arguments are in the
 * order of the --help, so the same values are the same command line.
 */
export function scxArgs(params: ScxParam[], values: Record<string, unknown>): { args: string[]; applied: Record<string, number | boolean | string> } {
  const byName = new Map(params.map((p) => [p.name, p]));
  const bad: string[] = [];
  for (const k of Object.keys(values)) {
    const p = byName.get(k);
    if (!p) bad.push(`unknown parameter ${k}`);
    else if (!p.tunable) bad.push(`${k} (${p.flag}) is not a scheduling option`);
  }
  if (bad.length) {
    const names = params.filter((p) => p.tunable).map((p) => p.name);
    throw new ScxError('BAD_INPUT', bad.join('; '), `parameters of this scheduler (from its --help): ${names.join(', ')}`);
  }
  const args: string[] = [];
  const applied: Record<string, number | boolean | string> = {};
  for (const p of params) {
    if (!(p.name in values)) continue;
    const v = values[p.name];
    try {
      args.push(...argsFor(p, v));
    } catch (e) {
      throw new ScxError('BAD_INPUT', (e as Error).message, `${p.flag}: ${p.description.split('\n')[0]}${p.default !== null ? ` (default ${p.default})` : ''}`);
    }
    applied[p.name] = v as number | boolean | string;
  }
  return { args, applied };
}

/**
 * The numeric and boolean scheduling options as ParamSpec (what tune_scheduler and resources
 * show): u64/s64/bool only, since ParamSpec has no float or string type.
 */
export function asParamSpecs(params: ScxParam[]): ParamSpec[] {
  const out: ParamSpec[] = [];
  for (const p of params) {
    if (!p.tunable) continue;
    if (p.type === 'bool')
      out.push({ name: p.name, type: 'bool', default: typeof p.default === 'boolean' ? p.default : false, description: `${p.flag}: ${p.description}` });
    else if ((p.type === 'u64' || p.type === 's64') && typeof p.default === 'number') {
      out.push({
        name: p.name,
        type: p.type,
        default: p.default,
        ...(p.type === 'u64' ? { min: 0 } : {}),
        ...(/_us$/.test(p.name) ? { unit: 'us' } : /_ms$/.test(p.name) ? { unit: 'ms' } : {}),
        description: `${p.flag}: ${p.description}`,
      });
    }
  }
  return out;
}

/** The scx://library/<name> section of an scx binary entry: installed or not, and its options from --help. */
export function scxEntryMarkdown(entry: LibraryEntry): string[] {
  const a = scxAvailability(entry);
  const p = scxParams(entry.scx?.crate ?? entry.name);
  const head = a.available
    ? `Installed: \`${a.binary}\` ${a.version}. build_scheduler {"entry": "${entry.name}", "params": {…}} takes these options (parsed from its --help at set-up); switches are true/false.`
    : `**Unavailable**: ${a.reason}.`;
  const rows = (p?.params ?? [])
    .filter((x) => x.tunable)
    .map(
      (x) =>
        `| \`${x.name}\` | \`${x.flag}\` | ${x.switch ? 'switch' : x.type} | ${x.default === null ? '' : `\`${x.default}\``} | ${x.description.split('\n')[0]!.replace(/\|/g, '\\|')} |`,
    );
  return [
    '## The scx binary and its options',
    '',
    head,
    '',
    ...(rows.length ? ['| parameter | flag | type | default | what it does |', '| --- | --- | --- | --- | --- |', ...rows, ''] : []),
  ];
}

/**
 * scx_loader (the org.scx.Loader D-Bus service), which scripts/scx-schedulers.sh installs beside the
 * schedulers and records in the same status.json; only its test runs it (scx-mcp cooperates with
 * one it finds, core/scx/loader-dbus.ts).
 */
export function scxLoaderAvailability(): ScxAvailability {
  const binary = join(scxBinDir(), 'bin', 'scx_loader');
  const st = readScxStatus().schedulers.scx_loader;
  if (!st) return { available: false, binary, version: null, reason: 'scx_loader is not installed: run scripts/scx-schedulers.sh (npm run setup does)' };
  if (st.status !== 'ok')
    return {
      available: false,
      binary,
      version: st.version,
      reason: `scx_loader ${st.version} failed to build at set-up: ${st.error ?? 'see the log'} (${join(scxBinDir(), 'logs', 'scx_loader.log')})`,
    };
  if (!existsSync(binary)) return { available: false, binary, version: st.version, reason: `${binary} is missing: run scripts/scx-schedulers.sh` };
  return { available: true, binary, version: st.version };
}
