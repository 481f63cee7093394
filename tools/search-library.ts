import { z } from 'zod';
import { Fingerprint } from '../core/model/fingerprint.js';
import { searchLibrary } from '../core/library/search.js';
import { Objective, Tag } from '../core/model/entry.js';
import { defineTool } from './define.js';
import { Numbers, Params, reads } from './shapes.js';
import { scxAvailability } from '../core/scx/catalog.js';
import type { LibraryStore } from '../core/library/store.js';

export const searchLibraryTool = defineTool({
  name: 'search_library',
  title: 'Search the scheduler library',
  description: [
    'Find library schedulers that fit a workload, ranked, with the reasons.',
    'Pass `objective`, what "better" means: makespan (the last job finishes sooner), mean_completion (the typical job finishes sooner), tail_latency, throughput, fairness, deadline, locality, priority_isolation, low_overhead.',
    'Without it, when the client supports sampling, the server asks the client\'s model to read `query` (one short completion; `read: false` skips it): its family ranks first and its objective is ranked for (`objective.source: "read"`).',
    'Otherwise the objective is guessed from `query` and the past questions most like it, and returned (`objective.source: "inferred"`): check the guess, and pass `objective` if it is wrong.',
    "Without sampling, you can be the reader: read scx://families (the guide the client's model gets) and pass `readAs`.",
    'Pass the `fingerprint` from profile_workload: entries that did well on similar workloads rank higher (learned from record_result).',
    'Each result says which objectives the entry serves and costs, and the measured history behind it.',
    'Then read scx://library/<name> and build_scheduler {"entry": name}.',
  ].join(' '),
  input: {
    query: z
      .string()
      .max(2000)
      .optional()
      .describe('the workload and the goal in words, e.g. "one long job and many short ones; finish the whole batch sooner"'),
    tags: z.array(Tag).max(10).optional(),
    fingerprint: Fingerprint.optional(),
    objective: Objective.optional().describe('what to optimise; when absent it is guessed from `query` and returned'),
    constraints: z
      .object({
        noUserspace: z.boolean().optional().describe('only schedulers that need no userspace part of their own'),
        kernel: z
          .string()
          .regex(/^\d+\.\d+/)
          .max(40)
          .optional()
          .describe('the kernel it must work on, e.g. "6.12": entries needing a newer one are excluded'),
        noHints: z.boolean().optional().describe('no job hints can be given: entries that need job lengths rank lower'),
      })
      .optional(),
    family: z.string().max(32).optional().describe('restrict to one policy family, e.g. "ljf"'),
    readAs: z
      .object({
        family: z.string().max(32).describe('the family that serves the question best'),
        objective: Objective,
        alsoFine: z.array(z.string().max(32)).max(3).optional().describe('up to 3 other families that would also serve, best first'),
      })
      .optional()
      .describe(
        "your own reading of `query` with the guide in scx://families: its family ranks first, alsoFine next, the rest after; its objective is ranked for unless `objective` is given. The client's model is not asked then",
      ),
    read: z.boolean().default(true).describe('when the client supports sampling, ask its model which family and objective the query is about (default true)'),
    limit: z.number().int().min(1).max(50).default(5),
    offset: z.number().int().min(0).default(0).describe("skip this many results: the previous page's `next`"),
  },
  output: {
    results: z.array(
      reads({
        name: z.string(),
        title: z.string(),
        family: z.string(),
        score: z.number(),
        parts: Numbers.describe("score parts: text, tags, history, objective, questions (the vote of users' past questions most like yours)"),
        why: z.array(z.string()),
        objective: reads({
          match: z.enum(['main', 'serves', 'costs', 'no', 'none', 'undeclared']).describe('how the entry relates to the objective ranked for'),
          serves: z.array(z.string()),
          costs: z.array(reads({ objective: z.string(), why: z.string() })),
          evidence: z.string().describe("what the library measured for it on this objective's metrics"),
        }),
        presets: z
          .array(reads({ name: z.string(), params: Params, workload: z.string() }))
          .describe('tuned parameter sets (build_scheduler {"entry", "preset"})'),
      }),
    ),
    objective: reads({
      objective: Objective.nullable(),
      source: z.enum(['given', 'read', 'inferred', 'none']),
      evidence: z.array(z.string()).optional(),
      note: z.string(),
    }).describe('the objective ranked for: given, or guessed from the words (then correct it with `objective`)'),
    reading: reads({
      by: z.string().optional(),
      family: z.string().optional(),
      objective: Objective.optional(),
      alsoFine: z.array(z.string()).optional(),
      error: z.string().optional(),
    })
      .optional()
      .describe("how the client's model read the query (sampling), or why it could not; absent when it was not asked"),
    excluded: z.array(reads({ name: z.string(), why: z.string() })).describe('entries the constraints ruled out'),
    total: z.number().describe('how many entries matched in all'),
    next: z.number().nullable().describe('offset of the next page; null on the last'),
    weights: z.record(z.string(), z.unknown()).describe('the retrieval weights in use'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(input, ctx) {
    const store = await ctx.engines.library();
    const r = await searchLibrary(
      store,
      {
        query: input.query,
        tags: input.tags,
        fingerprint: input.fingerprint,
        family: input.family,
        objective: input.objective,
        readAs: input.readAs,
        constraints: input.constraints,
        limit: input.limit,
        offset: input.offset,
      },
      input.read ? ctx.sample : undefined,
      ctx.signal,
    );
    const results = await Promise.all(
      r.results.map(async (x) => ({
        ...x,
        why: [...x.why, ...(await scxNote(store, x.name))],
        presets: store.presets(x.name).map((p) => ({ name: p.name, params: p.params, workload: p.workload, improvementPct: p.improvementPct })),
      })),
    );
    const lines = results.map(
      (x, i) =>
        `${input.offset + i + 1}. ${x.name} (${x.family}, serves ${x.objective.serves.join('/') || '?'}) ${x.score.toFixed(2)} — ${x.why.slice(0, 2).join('; ')}; ${x.objective.evidence}` +
        (x.presets.length ? ` [presets: ${x.presets.map((p) => `${p.name} (${p.workload})`).join(', ')}]` : ''),
    );
    const { shares: _shares, ...objective } = r.objective;
    const tail = [
      r.excluded.length ? `Excluded by the constraints: ${r.excluded.map((x) => `${x.name} (${x.why})`).join(', ')}.` : '',
      r.next !== null ? `${r.total - r.next} more: offset ${r.next}.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const unread = !r.read && !input.readAs && !input.objective && input.query?.trim();
    return {
      structured: {
        results,
        objective,
        ...(r.read ? { reading: 'reading' in r.read ? r.read.reading : r.read } : {}),
        excluded: r.excluded,
        total: r.total,
        next: r.next,
        weights: r.weights as unknown as Record<string, unknown>,
      },
      summary:
        `Objective: ${r.objective.note}.\n` +
        (r.results.length ? `Top matches:\n${lines.join('\n')}` : 'No library entry matched; try other words or tags, or create one from bpf-templates/fifo.') +
        (tail ? `\n${tail}` : '') +
        (unread ? '\nRanked from the words alone: read scx://families and pass `readAs` (your reading) or `objective`.' : ''),
    };
  },
});

/** An scx binary entry (sched-ext/scx) says whether its binary is installed: set-up may have failed to build it. */
async function scxNote(store: LibraryStore, name: string): Promise<string[]> {
  const { entry } = await store.get(name);
  if (entry.kind !== 'scx') return [];
  const a = scxAvailability(entry);
  return [a.available ? `sched-ext/scx binary ${entry.scx?.crate} ${a.version}, installed` : `unavailable: ${a.reason}`];
}
