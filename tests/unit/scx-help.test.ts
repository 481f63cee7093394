/**
 * The --help parser of scx binary entries (core/scx/help.ts) on help texts recorded from the real
 * scx_bpfland 1.1.4 (fixtures/scx-help/: `scx_bpfland --help` and `scx_bpfland -h`, as installed by
 * scripts/scx-schedulers.sh) and scx_lavd 1.1.4 (which prints its --help on stderr), and the arguments built from parameter values (core/scx/catalog.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../core/paths.js';
import { asParamSpecs, scxArgs } from '../../core/scx/catalog.js';
import { argsFor, parseHelp, type ScxParam } from '../../core/scx/help.js';

const fixture = (f: string) => readFileSync(join(repoRoot, 'fixtures', 'scx-help', f), 'utf8');
const long = parseHelp(fixture('scx_bpfland-1.1.4.help.txt'));
const short = parseHelp(fixture('scx_bpfland-1.1.4.short-help.txt'));
const byName = (ps: ScxParam[], n: string) => ps.find((p) => p.name === n);

describe('parseHelp on scx_bpfland 1.1.4', () => {
  it('finds every option of the long help, with its flag, short flag and value', () => {
    expect(long.length).toBeGreaterThan(25);
    expect(byName(long, 'slice_us')).toMatchObject({
      flag: '--slice-us',
      short: '-s',
      type: 'u64',
      switch: false,
      default: 1000,
      valueName: 'SLICE_US',
      tunable: true,
    });
    expect(byName(long, 'slice_us')!.description).toBe('Maximum scheduling slice duration in microseconds');
  });

  it('types a value by its default: negative integers s64, words string, no value a bool switch', () => {
    expect(byName(long, 'idle_resume_us')).toMatchObject({ type: 's64', default: -1 });
    expect(byName(long, 'primary_domain')).toMatchObject({ type: 'string', default: 'auto', short: '-m' });
    expect(byName(long, 'local_pcpu')).toMatchObject({ type: 'bool', switch: true, default: false, short: '-p' });
    expect(byName(long, 'relaxed_maps')).toMatchObject({ type: 'bool', switch: false, possibleValues: ['true', 'false'] });
  });

  it('keeps multi-paragraph descriptions and does not take description lines for options', () => {
    const lag = byName(long, 'slice_us_lag')!;
    expect(lag.default).toBe(40000);
    expect(lag.description.split('\n\n')).toHaveLength(2);
    expect(lag.description).toContain('"spikey"');
    // the primary-domain text lists "- "auto" = …" lines: they are not options
    expect(long.filter((p) => !/^--[a-z0-9-]+$/.test(p.flag))).toEqual([]);
    expect(new Set(long.map((p) => p.name)).size).toBe(long.length);
  });

  it('marks what is not scheduling policy as not tunable: help, version, stats, monitor, libbpf options', () => {
    for (const n of ['help', 'version', 'stats', 'monitor', 'help_stats', 'exit_dump_len']) expect(byName(long, n)?.tunable, n).toBe(false);
    expect(byName(long, 'pin_root_path')).toMatchObject({ tunable: false, group: 'Libbpf Options' });
    expect(byName(long, 'sticky_tasks')?.tunable).toBe(true);
  });

  it('reads the same parameters (names, types, defaults) from the short help (-h)', () => {
    const pick = (ps: ScxParam[]) => ps.map((p) => [p.name, p.flag, p.short, p.type, p.switch, p.default, p.tunable]);
    expect(pick(short)).toEqual(pick(long));
  });
});

describe('parseHelp on scx_lavd 1.1.4 (help printed on stderr, exit status 255)', () => {
  const lavd = parseHelp(fixture('scx_lavd-1.1.4.help.txt'));
  it('reads counted switches, optional values and quoted defaults', () => {
    expect(byName(lavd, 'verbose')).toMatchObject({ switch: true, multiple: true, tunable: false });
    expect(byName(lavd, 'virt_llc')).toMatchObject({ switch: false, valueName: 'VIRT_LLC' });
    expect(byName(lavd, 'cpu_pref_order')).toMatchObject({ type: 'string', default: '' });
    expect(byName(lavd, 'slice_max_us')).toMatchObject({ type: 'u64', default: 5000, tunable: true });
    expect(byName(lavd, 'no_core_compaction')).toMatchObject({ switch: true, tunable: true });
  });
  it('does not tune monitoring modes or --partial (which leaves other tasks to the kernel default)', () => {
    for (const n of ['monitor', 'monitor_sched_samples', 'stats', 'log_level', 'run_id', 'partial']) expect(byName(lavd, n)?.tunable, n).toBe(false);
  });
});

describe('arguments from parameter values', () => {
  it('are checked against the parsed list and come out in --help order', () => {
    const r = scxArgs(long, { sticky_tasks: true, slice_us: 2000, local_pcpu: false, idle_resume_us: -1, primary_domain: 'all' });
    expect(r.args).toEqual(['--slice-us=2000', '--idle-resume-us=-1', '--sticky-tasks', '--primary-domain=all']);
    expect(r.applied).toEqual({ slice_us: 2000, idle_resume_us: -1, local_pcpu: false, sticky_tasks: true, primary_domain: 'all' });
  });

  it('refuse unknown names, non-policy options and badly typed values', () => {
    expect(() => scxArgs(long, { slice: 1 })).toThrow(/unknown parameter slice/);
    expect(() => scxArgs(long, { monitor: '1' })).toThrow(/not a scheduling option/);
    expect(() => scxArgs(long, { slice_us: -1 })).toThrow(/non-negative/);
    expect(() => scxArgs(long, { slice_us: 1.5 })).toThrow(/integer/);
    expect(() => scxArgs(long, { local_pcpu: 1 })).toThrow(/switch/);
    expect(() => argsFor(byName(long, 'relaxed_maps')!, 'maybe')).toThrow(/true or false/);
  });

  it('as ParamSpec: numeric and switch options only, with their defaults', () => {
    const specs = asParamSpecs(long);
    expect(specs.find((s) => s.name === 'slice_us')).toMatchObject({ type: 'u64', default: 1000, min: 0, unit: 'us' });
    expect(specs.find((s) => s.name === 'no_wake_sync')).toMatchObject({ type: 'bool', default: false });
    expect(specs.find((s) => s.name === 'primary_domain')).toBeUndefined();
    expect(specs.find((s) => s.name === 'help')).toBeUndefined();
  });
});
