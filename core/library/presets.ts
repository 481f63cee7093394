/** Presets: an entry's named parameter sets (tuned configurations), kept in db.json by entry name. */
import type { z } from 'zod';
import { ScxError } from '../errors.js';
import type { LibraryEntry } from '../model/entry.js';
import { scxParams } from '../scx/catalog.js';
import { Preset, type LibraryDb } from './history.js';

/** The entry's presets, newest first. */
export function presetsOf(data: LibraryDb, name: string): Preset[] {
  return [...(data.presets[name] ?? [])].sort((a, b) => b.at.localeCompare(a.at));
}

/** One preset of an entry, or a clear error listing the ones it has. */
export function findPreset(data: LibraryDb, name: string, preset: string): Preset {
  const p = data.presets[name]?.find((x) => x.name === preset);
  if (!p) {
    const have = (data.presets[name] ?? []).map((x) => x.name);
    throw new ScxError('BAD_INPUT', `${name} has no preset "${preset}"`, have.length ? `its presets: ${have.join(', ')}` : 'it has none yet: tune_scheduler creates them');
  }
  return p;
}

/** A preset of the entry's current version, checked: valid, and only parameters the entry declares. */
export function checkedPreset(entry: LibraryEntry, preset: Omit<z.input<typeof Preset>, 'version'>): Preset {
  const name = entry.name;
  const p = Preset.safeParse({ ...preset, version: entry.version });
  if (!p.success) throw new ScxError('BAD_INPUT', `not a valid preset: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}`);
  // an scx binary entry's parameters are its installed binary's options (parsed from --help at set-up)
  const declared = new Set(entry.kind === 'scx' ? (scxParams(entry.scx?.crate ?? name)?.params ?? []).filter((x) => x.tunable).map((x) => x.name) : entry.params.map((x) => x.name));
  const unknown = Object.keys(p.data.params).filter((k) => !declared.has(k));
  if (unknown.length) throw new ScxError('BAD_INPUT', `preset ${p.data.name}: ${name} has no parameter ${unknown.join(', ')}`);
  return p.data;
}

/** Store (or replace, by name) a preset in the db's data. */
export function putPreset(data: LibraryDb, name: string, preset: Preset): void {
  const list = (data.presets[name] ?? []).filter((x) => x.name !== preset.name);
  data.presets = { ...data.presets, [name]: [...list, preset] };
}
