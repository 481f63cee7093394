/**
 * The output budget: no tool result, log message or resource an MCP client receives is larger
 * than RESULT_BUDGET characters of text (structured content counted as its JSON). What does not
 * fit is cut where it is, with a marker that says how much was cut, and the whole text is kept
 * as a log (scx://logs/<id>) offered as a resource_link. One call with a 94 MB verifier log costs
 * its caller 64 KB, not the server.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { LOG_PART_CHARS, saveLog, type SavedLog } from '../core/logs.js';

/** Characters of text per tool result, resource read or log message (SCX_MCP_RESULT_BUDGET overrides, at least 8 KB). */
export function resultBudget(): number {
  const v = Number(process.env.SCX_MCP_RESULT_BUDGET);
  return Number.isFinite(v) && v >= 8192 ? Math.floor(v) : 64 * 1024;
}
/** One string field of structured content, before the whole result is measured. */
export const FIELD_CHARS = 8 * 1024;
/** One log message or progress notification. */
export const LOG_MESSAGE_CHARS = 4 * 1024;
/** One image (a chart) in a result; larger ones are left out with a note. */
export const IMAGE_CHARS = 512 * 1024;

/**
 * The head and the end of a text with a marker between them. Logs keep their end (the reason is
 * there), so three quarters of the room go to it.
 */
export function cutText(text: string, max: number, where?: string): string {
  if (text.length <= max) return text;
  const marker = (n: number) => `\n[... ${n} of ${text.length} characters cut here${where ? `; the whole text: ${where}` : ''} ...]\n`;
  const room = Math.max(0, max - marker(text.length).length);
  const head = Math.floor(room / 4);
  const tail = room - head;
  return `${text.slice(0, head)}${marker(text.length - head - tail)}${tail > 0 ? text.slice(-tail) : ''}`;
}

export interface Cut {
  /** Where in the result, e.g. structuredContent.sandbox.steps[2].stdout. */
  path: string;
  chars: number;
  log?: SavedLog;
}

const size = (v: unknown) => (v === undefined ? 0 : JSON.stringify(v).length);

/** A copy of `v` with every string over `max` characters cut (its whole text kept as a log). */
async function cutStrings(v: unknown, max: number, path: string, cuts: Cut[], saved: Map<string, SavedLog>): Promise<unknown> {
  if (typeof v === 'string') {
    if (v.length <= max) return v;
    let log = saved.get(v);
    if (!log) {
      log = await saveLog(v).catch(() => undefined);
      if (log) saved.set(v, log);
    }
    cuts.push({ path, chars: v.length, log });
    return cutText(v, max, log?.uri);
  }
  if (Array.isArray(v)) {
    const out = [];
    for (const [i, x] of v.entries()) out.push(await cutStrings(x, max, `${path}[${i}]`, cuts, saved));
    return out;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await cutStrings(x, max, `${path}.${k}`, cuts, saved);
    return out;
  }
  return v;
}

/** The longest array in `v` (by JSON size), to shorten next. */
function largestArray(
  v: unknown,
  path: string,
  best: { path: string; arr: unknown[]; size: number } | null = null,
): { path: string; arr: unknown[]; size: number } | null {
  if (Array.isArray(v)) {
    const s = size(v);
    if (v.length > 1 && (!best || s > best.size)) best = { path, arr: v, size: s };
    v.forEach((x, i) => (best = largestArray(x, `${path}[${i}]`, best)));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) best = largestArray(x, `${path}.${k}`, best);
  }
  return best;
}

export interface BoundedParts {
  summary: string;
  structured?: unknown;
  images?: { data: string; mimeType: string }[];
  links?: { uri: string; name: string; description?: string; mimeType?: string }[];
  isError?: boolean;
}

/**
 * A tool result within the budget: strings cut (8 KB, then less), then the largest arrays
 * shortened (first and last items kept), each cut named in the text with a link to the whole.
 * Shapes stay what the output schema says (strings stay strings, arrays arrays). If even that
 * does not fit, the result becomes an error that says so, with the whole result as a log.
 */
export async function boundToolResult(r: BoundedParts, budget = resultBudget()): Promise<CallToolResult> {
  const cuts: Cut[] = [];
  const saved = new Map<string, SavedLog>();
  const notes: string[] = [];
  let structured = r.structured;
  let summary = r.summary;
  if (summary.length > budget / 4) summary = String(await cutStrings(summary, Math.floor(budget / 4), 'text', cuts, saved));
  const images = [];
  for (const img of r.images ?? []) {
    if (img.data.length > IMAGE_CHARS) notes.push(`an image of ${img.data.length} characters was left out (over ${IMAGE_CHARS})`);
    else images.push(img);
  }
  const room = () => budget - summary.length - 2048; // the notes and links
  if (structured !== undefined && size(structured) > room()) {
    for (let max = FIELD_CHARS; ; max = Math.floor(max / 2)) {
      structured = await cutStrings(r.structured, max, 'structuredContent', [], saved);
      if (size(structured) <= room() || max <= 256) break;
    }
    for (let guard = 0; guard < 200 && size(structured) > room(); guard++) {
      const a = largestArray(structured, 'structuredContent');
      if (!a) break;
      const keep = Math.max(1, Math.floor(a.arr.length / 2));
      const removed = a.arr.length - keep;
      const whole = await saveLog(JSON.stringify(a.arr, null, 1)).catch(() => undefined);
      if (whole) saved.set(`array ${a.path}`, whole);
      a.arr.splice(keep - 1, removed); // the first keep-1 items and the last one stay
      notes.push(`${a.path}: ${removed} of ${removed + keep} items left out${whole ? ` (all of them: ${whole.uri})` : ''}`);
    }
  }
  const structuredCuts: Cut[] = [];
  if (structured !== r.structured) collectCuts(r.structured, structured, 'structuredContent', structuredCuts, saved);
  const allCuts = [...cuts, ...structuredCuts];
  for (const c of allCuts) notes.push(`${c.path}: ${c.chars} characters, cut${c.log ? ` (whole: ${c.log.uri})` : ''}`);

  const links = new Map<string, SavedLog>();
  for (const c of allCuts) if (c.log) links.set(c.log.uri, c.log);
  for (const l of saved.values()) links.set(l.uri, l);
  const text = notes.length
    ? `${summary}\n\n[output budget ${budget} characters: ${notes.slice(0, 20).join('; ')}${notes.length > 20 ? `; and ${notes.length - 20} more` : ''}]`
    : summary;
  const content: CallToolResult['content'] = [{ type: 'text', text: cutText(text, Math.floor(budget / 3)) }];
  for (const img of images) content.push({ type: 'image', data: img.data, mimeType: img.mimeType });
  for (const l of (r.links ?? []).slice(0, 10))
    content.push({
      type: 'resource_link',
      uri: l.uri,
      name: l.name,
      mimeType: l.mimeType ?? 'text/plain',
      ...(l.description ? { description: l.description } : {}),
    });
  for (const l of [...links.values()].slice(0, 20)) {
    content.push({
      type: 'resource_link',
      uri: l.uri,
      name: l.id,
      mimeType: 'text/plain',
      description: `whole text that was cut (${l.bytes} bytes; parts of ${LOG_PART_CHARS} at ${l.uri}/part/N)`,
    });
  }
  const result: CallToolResult = {
    content,
    ...(structured !== undefined ? { structuredContent: structured as Record<string, unknown> } : {}),
    ...(r.isError ? { isError: true } : {}),
  };
  if (textSize(result) > budget) {
    const whole = await saveLog(JSON.stringify(r.structured ?? null, null, 1)).catch(() => undefined);
    return {
      isError: true,
      content: [
        {
          type: 'text',
          text: cutText(
            `${summary}\n\nThe result did not fit the output budget of ${budget} characters even after cutting${whole ? `; the whole result is at ${whole.uri}` : ''}.`,
            Math.floor(budget / 2),
          ),
        },
        ...(whole ? [{ type: 'resource_link' as const, uri: whole.uri, name: whole.id, mimeType: 'application/json' }] : []),
      ],
    };
  }
  return result;
}

/** Strings of `orig` that differ in `now` (cut), with their logs. */
function collectCuts(orig: unknown, now: unknown, path: string, out: Cut[], saved: Map<string, SavedLog>): void {
  if (typeof orig === 'string') {
    if (orig !== now) out.push({ path, chars: orig.length, log: saved.get(orig) });
  } else if (Array.isArray(orig) && Array.isArray(now)) {
    if (orig.length === now.length) orig.forEach((x, i) => collectCuts(x, now[i], `${path}[${i}]`, out, saved));
  } else if (orig && typeof orig === 'object' && now && typeof now === 'object') {
    for (const [k, x] of Object.entries(orig)) collectCuts(x, (now as Record<string, unknown>)[k], `${path}.${k}`, out, saved);
  }
}

/** Characters of text in a result: its text blocks and its structured content as JSON (images not counted). */
export function textSize(r: CallToolResult): number {
  let n = size(r.structuredContent);
  for (const c of r.content ?? []) {
    if (c.type === 'text') n += c.text.length;
    else if (c.type === 'resource_link') n += size(c);
  }
  return n;
}

/** A log message's data within LOG_MESSAGE_CHARS. */
export function boundLogData(data: unknown): unknown {
  if (typeof data === 'string') return cutText(data, LOG_MESSAGE_CHARS);
  const s = size(data);
  return s > LOG_MESSAGE_CHARS ? cutText(JSON.stringify(data), LOG_MESSAGE_CHARS) : data;
}

/** A resource read within the budget: each text cut (the whole kept as a log), blobs over it left out. */
export async function boundResourceContents<T extends { contents: Array<Record<string, unknown>> }>(r: T, budget = resultBudget()): Promise<T> {
  const per = Math.floor((budget - 1024) / Math.max(1, r.contents.length));
  const contents = [];
  for (const c of r.contents) {
    if (typeof c.text === 'string' && c.text.length > per) {
      const log = await saveLog(c.text).catch(() => undefined);
      contents.push({ ...c, text: cutText(c.text, per, log ? `${log.uri} (in parts: ${log.uri}/part/1 …)` : undefined) });
    } else if (typeof c.blob === 'string' && c.blob.length > per) {
      contents.push({ uri: c.uri, mimeType: 'text/plain', text: `[a ${c.blob.length}-character blob over the ${budget}-character budget was left out]` });
    } else {
      contents.push(c);
    }
  }
  return { ...r, contents };
}
