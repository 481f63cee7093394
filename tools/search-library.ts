import { z } from 'zod';
import { Fingerprint } from '../core/profile/fingerprint.js';
import { searchLibrary } from '../core/library/search.js';
import { Tag } from '../core/library/schema.js';
import { defineTool } from './define.js';

export const searchLibraryTool = defineTool({
  name: 'search_library',
  title: 'Search the scheduler library',
  description: [
    'Find library schedulers that fit a workload, ranked, with the reasons for each rank.',
    'Describe the workload and the goal in words (`query`), filter by `tags`, and pass the `fingerprint` from profile_workload:',
    'entries that did well on workloads with a similar fingerprint rank higher (learned from record_result).',
    'Each result has score parts (text, tags, history) and plain-words reasons. Then read scx://library/<name> and build_scheduler with {"entry": name, "params": ...}.',
  ].join(' '),
  input: {
    query: z.string().max(2000).optional().describe('e.g. "one long job and many short ones; finish the whole batch sooner"'),
    tags: z.array(Tag).max(10).optional(),
    fingerprint: Fingerprint.optional(),
    family: z.string().max(32).optional().describe('restrict to one policy family, e.g. "ljf"'),
    limit: z.number().int().min(1).max(50).default(5),
  },
  output: {
    results: z.array(z.object({
      name: z.string(), title: z.string(), family: z.string(), score: z.number(),
      parts: z.object({ text: z.number(), tags: z.number(), history: z.number() }),
      why: z.array(z.string()),
      presets: z.array(z.object({ name: z.string(), params: z.record(z.string(), z.union([z.number(), z.boolean()])), workload: z.string(), improvementPct: z.number().nullable() }))
        .describe('tuned parameter sets of this entry (build_scheduler {"entry", "preset"})'),
    })),
    weights: z.record(z.string(), z.unknown()).describe('the retrieval weights in use (tuned from recorded outcomes)'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(input, ctx) {
    const store = await ctx.engines.library();
    const r = await searchLibrary(store, { query: input.query, tags: input.tags, fingerprint: input.fingerprint, family: input.family, limit: input.limit });
    const results = r.results.map((x) => ({
      ...x, presets: store.presets(x.name).map((p) => ({ name: p.name, params: p.params, workload: p.workload, improvementPct: p.improvementPct })),
    }));
    const lines = results.map((x, i) => `${i + 1}. ${x.name} (${x.family}) ${x.score.toFixed(2)} — ${x.why.slice(0, 2).join('; ')}`
      + (x.presets.length ? ` [presets: ${x.presets.map((p) => `${p.name} (${p.workload})`).join(', ')}]` : ''));
    return {
      structured: { results, weights: r.weights as unknown as Record<string, unknown> },
      summary: r.results.length ? `Top matches:\n${lines.join('\n')}` : 'No library entry matched; try other words or tags, or create one from bpf-templates/fifo.',
    };
  },
});
