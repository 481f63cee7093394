/**
 * Whole logs kept on disk, so what reaches an agent can stay small: a verifier log, a workload's
 * output, a kernel log, or any text a tool result had to cut. Each is served as the resource
 * scx://logs/<id>, in parts of at most LOG_PART_CHARS characters, so reading one is bounded too.
 *
 * Ids: `<12 hex build id>-<name>` is <builds>/<build id>/logs/<name>.log (the build's own logs,
 * e.g. its verifier log); 16 hex characters is <state>/logs/<id>.log (content-addressed).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScxError } from './errors.js';
import { sha256Hex } from './model/hash.js';
import { BUILD_ID_PATTERN } from './model/names.js';
import { buildsDir, stateDir } from './paths.js';

/** One part of a log resource: under the 64 KB result budget with room for its header. */
export const LOG_PART_CHARS = 48 * 1024;
/** The most of one log kept on disk (the head and the end, where a log's reason is). */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

const BUILD_LOG_ID = new RegExp(`^(${BUILD_ID_PATTERN})-([a-z0-9][a-z0-9-]{0,40})$`);
const HASH_LOG_ID = /^[a-f0-9]{16}$/;

export interface SavedLog {
  id: string;
  uri: string;
  path: string;
  bytes: number;
}

export function logUri(id: string): string {
  return `scx://logs/${id}`;
}

export function logPath(id: string): string {
  const b = BUILD_LOG_ID.exec(id);
  if (b) return join(buildsDir(), b[1]!, 'logs', `${b[2]}.log`);
  if (HASH_LOG_ID.test(id)) return join(stateDir(), 'logs', `${id}.log`);
  throw new ScxError('BAD_INPUT', `"${id}" is not a log id`, 'use the scx://logs/<id> link a tool result gave');
}

function capped(text: string): string {
  if (text.length <= MAX_LOG_BYTES) return text;
  const keep = MAX_LOG_BYTES / 2;
  return `${text.slice(0, keep)}\n[... ${text.length - 2 * keep} characters not kept ...]\n${text.slice(-keep)}`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Keep a text: under a build (`build` and a name) or content-addressed. */
export async function saveLog(text: string, where?: { buildId: string; name: string }): Promise<SavedLog> {
  const body = capped(text);
  const id = where
    ? `${where.buildId}-${
        where.name
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .replace(/^-+|-+$/g, '')
          .slice(0, 40) || 'log'
      }`
    : sha256Hex(body, 16);
  const path = logPath(id);
  if (where || !existsSync(path)) await writeAtomic(path, body);
  return { id, uri: logUri(id), path, bytes: Buffer.byteLength(body) };
}

/**
 * Part `part` (1-based) of a log, and how many parts it has. A part is read from the file alone
 * (never the whole log into memory).
 */
export async function readLogPart(id: string, part = 1): Promise<{ text: string; part: number; parts: number; bytes: number }> {
  const path = logPath(id);
  if (!existsSync(path))
    throw new ScxError('OBJECT_MISSING', `no log ${id}`, 'logs live as long as the build or state directory; run the step again for a new one');
  const { size } = await stat(path);
  const parts = Math.max(1, Math.ceil(size / LOG_PART_CHARS));
  if (!Number.isInteger(part) || part < 1 || part > parts) {
    throw new ScxError('BAD_INPUT', `log ${id} has ${parts} part(s); part ${part} does not exist`, `read scx://logs/${id}/part/1 … /part/${parts}`);
  }
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(LOG_PART_CHARS, size - (part - 1) * LOG_PART_CHARS));
    await fh.read(buf, 0, buf.length, (part - 1) * LOG_PART_CHARS);
    return { text: buf.toString('utf8'), part, parts, bytes: size };
  } finally {
    await fh.close();
  }
}
