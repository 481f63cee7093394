import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { defineTool } from './define.js';
import { HistoryOut } from './shapes.js';
import { EntryName } from '../core/model/names.js';

const Version = z.object({ version: z.number(), commit: z.string(), date: z.string(), message: z.string() });

export const libraryVersionsTool = defineTool({
  name: 'library_versions',
  title: 'List, diff or revert versions of a library scheduler',
  description: [
    'Every change to a library scheduler (new entry, saved version, preset, revert) is a git commit.',
    '`action` "list": its versions and their messages; "diff": source and metadata between `from` and `to`; "revert": makes version `to` the newest again (as a new version: nothing is lost);',
    '"history": its measured results, newest first. Use it when a modified scheduler did worse than the version before.',
  ].join(' '),
  input: {
    entry: EntryName.describe('library scheduler, e.g. "ljf"'),
    action: z.enum(['list', 'diff', 'revert', 'history']).default('list'),
    from: z.number().int().positive().optional().describe('diff: the older version'),
    to: z.number().int().positive().optional().describe('diff: the newer version (default: current); revert: the version to restore'),
    offset: z.number().int().min(0).default(0).describe("list/history: skip this many (the previous page's `next`)"),
    limit: z.number().int().min(1).max(100).default(20).describe('list/history: at most this many'),
  },
  output: {
    entry: z.string(),
    current: z.number().describe("the entry's version after this call"),
    versions: z.array(Version).describe('list: this page of versions, oldest first; otherwise the newest page'),
    history: z.array(HistoryOut).describe('history: this page of measured results, newest first'),
    total: z.number().describe('how many versions (list, diff, revert) or results (history) there are in all'),
    next: z.number().nullable().describe('offset of the next page, null on the last'),
    diff: z.string().nullable(),
    reverted: z.object({ to: z.number(), asVersion: z.number(), commit: z.string() }).nullable(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handle(input, ctx) {
    const store = await ctx.engines.library(); // an unknown or broken entry: the store says which, and what there is
    let diff: string | null = null;
    let reverted: { to: number; asVersion: number; commit: string } | null = null;
    if (input.action === 'diff') {
      if (input.from === undefined) throw new ScxError('BAD_INPUT', 'diff needs `from` (an older version; see action "list")');
      diff = await store.diff(input.entry, input.from, input.to);
    } else if (input.action === 'revert') {
      if (input.to === undefined) throw new ScxError('BAD_INPUT', 'revert needs `to`: the version to restore (see action "list")');
      const r = await store.revert(input.entry, input.to, { author: 'agent' });
      reverted = { to: input.to, asVersion: r.version, commit: r.commit };
    }
    const allVersions = await store.versions(input.entry);
    const current = (await store.get(input.entry)).entry.version;
    const paged = <T>(xs: T[], offset: number) => ({
      page: xs.slice(offset, offset + input.limit),
      total: xs.length,
      next: offset + input.limit < xs.length ? offset + input.limit : null,
    });
    // list pages from input.offset; the other actions show the newest versions
    const v = paged(allVersions, input.action === 'list' ? input.offset : Math.max(0, allVersions.length - input.limit));
    const h = input.action === 'history' ? paged([...store.history(input.entry)].reverse(), input.offset) : undefined;
    const more = (p: { total: number; next: number | null }) => (p.next !== null ? `\n${p.total - p.next} more: offset ${p.next}.` : '');
    const summary =
      input.action === 'list'
        ? `${input.entry} is at v${current}; versions ${input.offset + 1}–${input.offset + v.page.length} of ${v.total}:\n${v.page.map((x) => `v${x.version} ${x.date.slice(0, 19)} ${x.message}`).join('\n')}${more(v)}`
        : input.action === 'history'
          ? `${input.entry}: measured results ${h!.total ? `${input.offset + 1}–${input.offset + h!.page.length} of ${h!.total}, newest first` : 'none yet'}:\n${h!.page.map((r) => `${r.at.slice(0, 10)} v${r.version ?? '?'} ${r.outcome} on "${r.workload.name}" (${r.target})${r.note ? ` — ${r.note.slice(0, 100)}` : ''}`).join('\n')}${more(h!)}`
          : input.action === 'diff'
            ? `${input.entry} v${input.from} → ${input.to === undefined ? `v${current} (current)` : `v${input.to}`}: ${diff ? `${diff.split('\n').length} diff lines` : 'no difference'}\n${(diff ?? '').slice(0, 4000)}`
            : `${input.entry} v${reverted!.to} restored as v${reverted!.asVersion} (commit ${reverted!.commit.slice(0, 10)}); build_scheduler {"entry": "${input.entry}"} builds it.`;
    const page = h ?? v;
    return {
      structured: { entry: input.entry, current, versions: v.page, history: h?.page ?? [], total: page.total, next: page.next, diff, reverted },
      summary,
    };
  },
});
