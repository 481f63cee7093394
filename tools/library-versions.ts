import { z } from 'zod';
import { ScxError } from '../core/errors.js';
import { defineTool } from './define.js';

const Version = z.object({ version: z.number(), commit: z.string(), date: z.string(), message: z.string() });

export const libraryVersionsTool = defineTool({
  name: 'library_versions',
  title: 'List, diff or revert versions of a library scheduler',
  description: [
    'Every change to a library scheduler (a new entry, a patched version saved with record_result saveAs, a preset, a revert) is a git commit in the library.',
    '`action: "list"` shows an entry\'s versions with their commit messages (what changed and why);',
    '`"diff"` shows the unified diff of its source and metadata between `from` and `to` (default: the current version);',
    '`"revert"` makes version `to` the entry\'s newest version again (as a new version with that one as its parent: nothing is lost, and it can be reverted back).',
    'Use it when a modified scheduler did worse than the version before it.',
  ].join(' '),
  input: {
    entry: z.string().regex(/^[a-z][a-z0-9_]{1,30}$/).describe('library scheduler, e.g. "ljf"'),
    action: z.enum(['list', 'diff', 'revert']).default('list'),
    from: z.number().int().positive().optional().describe('diff: the older version'),
    to: z.number().int().positive().optional().describe('diff: the newer version (default: current); revert: the version to restore'),
  },
  output: {
    entry: z.string(),
    current: z.number().describe('the entry\'s version after this call'),
    versions: z.array(Version),
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
    const versions = await store.versions(input.entry);
    const current = (await store.get(input.entry)).entry.version;
    const summary = input.action === 'list'
      ? `${input.entry} is at v${current}; versions:\n${versions.map((v) => `v${v.version} ${v.date.slice(0, 19)} ${v.message}`).join('\n')}`
      : input.action === 'diff'
        ? `${input.entry} v${input.from} → ${input.to === undefined ? `v${current} (current)` : `v${input.to}`}: ${diff ? `${diff.split('\n').length} diff lines` : 'no difference'}\n${(diff ?? '').slice(0, 4000)}`
        : `${input.entry} v${reverted!.to} restored as v${reverted!.asVersion} (commit ${reverted!.commit.slice(0, 10)}); build_scheduler {"entry": "${input.entry}"} builds it.`;
    return { structured: { entry: input.entry, current, versions, diff, reverted }, summary };
  },
});
