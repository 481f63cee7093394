/**
 * Resources and prompts: the library entries and the agent memory as readable
 * resources, target status, and a prompt that walks an agent through the loop.
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ScxEngines } from './engines.js';
import { improvementPct } from '../core/library/history.js';
import { completeEntryName, completeGoal, completeTarget, completeWorkload } from './completions.js';
import { readAuditTail } from '../core/targets/audit.js';
import { readLogPart } from '../core/logs.js';
import { scxEntryMarkdown } from '../core/scx/catalog.js';
import { READING_TASK, readingGuide } from '../core/library/reading.js';
import type { EntrySummary } from '../core/model/entry.js';

export function registerResources(server: McpServer, engines: ScxEngines): void {
  server.registerResource(
    'memory',
    'scx://memory',
    {
      title: 'scx-mcp memory',
      description: 'What worked and what failed for which kinds of workload, rewritten from every recorded result. Read it before choosing a scheduler.',
      mimeType: 'text/markdown',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: (await engines.library()).memoryMarkdown() }] }),
  );

  server.registerResource(
    'families',
    'scx://families',
    {
      title: 'Policy families: the guide for reading a question',
      description:
        "One line per policy family and the objectives: what the client's model is given to read a question with (sampling). A client without sampling: read it, then pass search_library your reading as `readAs`.",
      mimeType: 'text/markdown',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: familiesMarkdown((await engines.library()).cachedSummaries()) }] }),
  );

  server.registerResource(
    'library-entry',
    new ResourceTemplate('scx://library/{name}', {
      complete: { name: completeEntryName(engines) },
      list: async () => ({
        resources: (await engines.library()).list().map((e) => ({ uri: `scx://library/${e.name}`, name: e.name, title: e.title, mimeType: 'text/markdown' })),
      }),
    }),
    {
      title: 'Scheduler library entry',
      description: 'A library scheduler: metadata (description, tags, parameters, limitations, test results) and its BPF C source.',
      mimeType: 'text/markdown',
    },
    async (uri, vars) => {
      const name = String(vars.name);
      const store = await engines.library();
      const e = await store.get(name);
      const presets = store.presets(name);
      const history = store.history(name);
      const tests = store.tests(name);
      const text = [
        `# ${e.entry.title} (${e.entry.name}, v${e.entry.version})`,
        '',
        e.entry.description,
        '',
        '```json',
        JSON.stringify(e.entry, null, 2),
        '```',
        '',
        '## Presets (tuned parameter sets)',
        '',
        ...(presets.length
          ? presets.map(
              (p) =>
                `- \`${p.name}\` ${JSON.stringify(p.params)}: ${p.workload}, ${p.improvementPct ?? '?'} % better than the defaults${p.beyondSpread ? ' (beyond the run-to-run spread)' : ''}, ${p.vsKernelPct ?? '?'} % vs the kernel default, ${p.trials} trials, v${p.version ?? '?'} (${p.at.slice(0, 10)}); use build_scheduler {"entry": "${name}", "preset": "${p.name}"}`,
            )
          : ['none yet (tune_scheduler makes them)']),
        '',
        '## Measured results (latest 10 of the library history)',
        '',
        ...(history.length
          ? history.slice(-10).map((h) => {
              const imp = improvementPct(h);
              const parts = Object.entries(imp)
                .map(([k, v]) => `${k} ${v >= 0 ? '+' : ''}${v.toFixed(1)} %`)
                .join(', ');
              return `- ${h.at.slice(0, 10)} ${h.outcome} on "${h.workload.name}" (${h.target}${Object.keys(h.params).length ? `, ${JSON.stringify(h.params)}` : ''})${parts ? `: ${parts} vs the kernel default` : ''}${h.note ? ` — ${h.note}` : ''}`;
            })
          : ['none recorded yet (record_result, benchmark_schedulers and tune_scheduler add them)']),
        '',
        '## Test results',
        '',
        ...(tests.length
          ? tests.slice(-5).map(
              (t) =>
                `- ${t.kind} ${t.pass ? 'PASS' : 'FAIL'} on ${t.kernel} (${t.at.slice(0, 10)})${
                  t.numbers
                    ? `: ${Object.entries(t.numbers)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(', ')}`
                    : ''
                }`,
            )
          : ['none recorded yet']),
        '',
        ...(e.entry.kind === 'scx' ? scxEntryMarkdown(e.entry) : []),
        `## ${e.sourcePath.split('/').pop()}`,
        '',
        e.entry.kind === 'scx' ? '```markdown' : '```c',
        e.source,
        '```',
      ].join('\n');
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text }] };
    },
  );

  server.registerResource(
    'target',
    new ResourceTemplate('scx://targets/{target}', {
      complete: { target: completeTarget },
      list: async () => ({ resources: ['sandbox', 'host'].map((t) => ({ uri: `scx://targets/${t}`, name: t, mimeType: 'application/json' })) }),
    }),
    {
      title: 'Deployment target status',
      description: 'What runs on a target (sandbox VM or host), what ran before, and the sched_ext state.',
      mimeType: 'application/json',
    },
    async (uri, vars) => {
      const t = String(vars.target) === 'host' ? 'host' : 'sandbox';
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await engines.targets.status(t), null, 2) }] };
    },
  );

  server.registerResource(
    'monitor',
    new ResourceTemplate('scx://monitor/{target}', {
      complete: { target: completeTarget },
      list: async () => ({ resources: ['sandbox', 'host'].map((t) => ({ uri: `scx://monitor/${t}`, name: `monitor ${t}`, mimeType: 'application/json' })) }),
    }),
    {
      title: 'Deployment monitor',
      description:
        'The monitor of a target: baseline, last sample, alerts, and the timeline of alerts, regressions and rollbacks. Updated (resources/updated) on every event.',
      mimeType: 'application/json',
    },
    async (uri, vars) => {
      const t = String(vars.target) === 'host' ? 'host' : 'sandbox';
      const m = engines.monitors.get(t);
      return {
        contents: [
          { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(m ? m.status() : { target: t, running: false, timeline: [] }, null, 2) },
        ],
      };
    },
  );

  server.registerResource(
    'audit',
    'scx://audit',
    {
      title: 'Host audit log',
      description:
        'What scx-mcp did on the host, newest last (the last 200 entries, at most 64 KB): deploys (build id, source hash, parameters, hints), rollbacks (and what triggered them: a tool call, a monitor rule or probe, an ejection, shutdown), and host commands (the command and the uid it ran as), each with its time and the MCP client that asked. Kept across restarts in <run dir>/audit.jsonl.',
      mimeType: 'application/json',
    },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(readAuditTail({ maxLines: 200, maxBytes: 64 * 1024 }), null, 2) }],
    }),
  );

  // whole logs a result had to cut (verifier logs, workload output, kernel logs), in parts within the output budget
  const logText = async (id: string, part?: number) => {
    const p = await readLogPart(id, part ?? 1);
    const last = part ?? p.parts; // without a part: the end of the log, where its reason is
    const q = part === undefined && p.parts > 1 ? await readLogPart(id, last) : p;
    const head =
      p.parts > 1
        ? `[log ${id}: ${q.bytes} bytes in ${q.parts} parts; this is part ${last} of ${q.parts}; read scx://logs/${id}/part/1 … /part/${q.parts}]\n`
        : '';
    return head + q.text;
  };
  server.registerResource(
    'log',
    new ResourceTemplate('scx://logs/{id}', { list: undefined }),
    {
      title: 'A whole log',
      description:
        'A verifier log, workload output or kernel log that a tool result cut to fit its budget: the end of it (where the reason is), and how many parts it has.',
      mimeType: 'text/plain',
    },
    async (uri, vars) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: await logText(String(vars.id)) }] }),
  );
  server.registerResource(
    'log-part',
    new ResourceTemplate('scx://logs/{id}/part/{part}', { list: undefined }),
    {
      title: 'A part of a whole log',
      description: 'Part N (from 1) of a log, each within the output budget.',
      mimeType: 'text/plain',
    },
    async (uri, vars) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: await logText(String(vars.id), Number(vars.part)) }] }),
  );

  server.registerPrompt(
    'improve_workload',
    {
      title: 'Make a workload run better with a sched_ext scheduler',
      description: 'Walks through profile → search → configure/modify/create → verify → deploy → measure → record, safely.',
      argsSchema: {
        workload: completable(z.string().describe('the command to run, e.g. "batch --kind join --jobs 1x39,39x1"'), completeWorkload),
        goal: completable(z.string().describe('what "better" means: e.g. "finish the whole batch sooner" or "lower p99 wakeup latency"'), completeGoal),
      },
    },
    ({ workload, goal }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `Goal: ${goal}. Workload: \`${workload}\`.`,
              '1. Read the scx://memory resource: what worked for similar workloads.',
              `2. profile_workload {"target":"sandbox","command":${JSON.stringify(workload)}} — note the tags and the fingerprint; this is the kernel-default baseline.`,
              '3. search_library with the `objective` the goal means (makespan: the last job finishes sooner; mean_completion: the typical job finishes sooner; tail_latency, throughput, fairness, deadline, locality, priority_isolation, low_overhead), a description of the goal, the tags, the fingerprint and any `constraints` (noUserspace, kernel, noHints). Without `objective`, a client that supports sampling has its model read the words (`reading` in the result); without sampling, read scx://families and pass your own reading as `readAs`, or the objective is guessed from the words: check what was read or guessed. Read the top entries (scx://library/<name>): parameters, presets and measured results.',
              '4. build_scheduler: prefer an entry with a preset or params (configure); if it lacks something, a small patch (modify); only if nothing fits, your own source from bpf-templates/fifo (create). Fix every static finding it reports.',
              '5. verify_bpf on the buildId. On FAIL, read the reason and hint (file:line), fix, build again.',
              '6. deploy_scx {"target":"sandbox","monitor":{"workload":{"name":…,"fingerprint":…}}} (sjf/ljf/hybrid also take "hints": expected ms per task-name prefix) and run profile_workload again with the same command: compare with the baseline.',
              "7. record_result with the metrics and the baseline, whether better or worse — the library and memory learn from both. Give workload.description (the words you searched with) and workload.objective: an improved result makes them a past question search asks, served by this entry's family.",
              "   benchmark_schedulers compares several builds with the kernel default in one boot on a fixture or on your command (and records them); tune_scheduler searches an entry's parameters on either and saves the best as a preset.",
              '8. If it is worse, rollback {"target":"sandbox","to":"default"} and try the next candidate; a saved version that did worse than its parent can be reverted with library_versions. Only deploy to the host when the user asks and the server allows it.',
            ].join('\n'),
          },
        },
      ],
    }),
  );
}

/** scx://families: the reading guide (core/library/reading.ts) and how to pass a reading back. */
function familiesMarkdown(entries: EntrySummary[]): string {
  return [
    '# Policy families: the guide for reading a question',
    '',
    `Read the user's question with this guide. ${READING_TASK}`,
    'Then call search_library {"query": <the question>, "readAs": {"family": <one family>, "objective": <one objective>, "alsoFine": [<up to 3 other families that would also serve>]}}:',
    'the family ranks first, alsoFine next, and the words order the entries within each.',
    '',
    readingGuide(entries),
    '',
  ].join('\n');
}
