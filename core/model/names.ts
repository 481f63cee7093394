/**
 * The name rules, each one regular expression defined here once: a build id (12 hex characters of
 * a sha256, see core/builds/build.ts), a library entry's name (also its directory under library/
 * and the struct_ops name prefix), and a preset's name (a file name inside the entry's presets).
 * Tools, the store, history and fleet state all check names with these.
 */
import { z } from 'zod';

/** The body of a build id, for patterns that embed one (e.g. a build's log id `<build id>-<name>`). */
export const BUILD_ID_PATTERN = '[a-f0-9]{12}';
export const BUILD_ID_RE = new RegExp(`^${BUILD_ID_PATTERN}$`);
export const ENTRY_NAME_RE = /^[a-z][a-z0-9_]{1,30}$/;
export const PRESET_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export const BuildId = z.string().regex(BUILD_ID_RE);
export const EntryName = z.string().regex(ENTRY_NAME_RE);
export const PresetName = z.string().regex(PRESET_NAME_RE);
