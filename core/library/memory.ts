/**
 * MEMORY.md: what an agent should know before choosing a scheduler, rewritten
 * from the whole history on every recorded result (never appended blindly).
 */
import { FINGERPRINT_DIMENSIONS, type Fingerprint } from '../profile/fingerprint.js';
import { improvementPct, type HistoryRecord } from './history.js';
import type { EntrySummary } from './store.js';

const LABEL: Record<string, string> = {
  cpuBound: 'CPU-bound', ioHeavy: 'IO-heavy', latencySensitive: 'latency-sensitive', unevenness: 'uneven jobs',
  manyShortTasks: 'many short tasks', parallelism: 'oversubscribed',
};

/** A readable kind for a workload: its strongest fingerprint dimensions, or its name. */
export function workloadKind(r: HistoryRecord): string {
  const f = r.workload.fingerprint;
  if (!f) return r.workload.name;
  const dims = FINGERPRINT_DIMENSIONS.filter((d) => f[d as keyof Fingerprint] >= 0.5).sort((a, b) => f[b] - f[a]).slice(0, 2);
  return dims.length ? dims.map((d) => LABEL[d]).join(' + ') : 'light / mixed';
}

const fmt = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)} %`;

export function renderMemory(history: HistoryRecord[], entries: EntrySummary[]): string {
  const lines = ['# scx-mcp memory', '', `Rewritten from ${history.length} recorded result(s). Improvements are against the kernel default measured the same way.`, ''];
  if (!history.length) {
    lines.push('Nothing recorded yet. Measure a baseline with profile_workload, deploy a candidate in the sandbox, measure again, and record_result.', '');
  }
  const kinds = new Map<string, HistoryRecord[]>();
  for (const r of history) kinds.set(workloadKind(r), [...(kinds.get(workloadKind(r)) ?? []), r]);
  if (kinds.size) lines.push('## What worked, by kind of workload', '');
  for (const [kind, recs] of [...kinds].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`### ${kind} (${recs.length} result${recs.length > 1 ? 's' : ''})`);
    const byEntry = new Map<string, HistoryRecord[]>();
    for (const r of recs) byEntry.set(r.entry, [...(byEntry.get(r.entry) ?? []), r]);
    const rows = [...byEntry].map(([entry, rs]) => {
      const imps = rs.flatMap((r) => Object.entries(improvementPct(r)));
      const good = rs.filter((r) => r.outcome === 'improved').length;
      const bad = rs.filter((r) => r.outcome === 'regressed' || r.outcome === 'failed').length;
      const metrics = new Map<string, number[]>();
      for (const [m, v] of imps) metrics.set(m, [...(metrics.get(m) ?? []), v]);
      const summary = [...metrics].map(([m, vs]) => `${m} ${fmt(vs.reduce((a, b) => a + b, 0) / vs.length)}`).join(', ');
      const params = rs.at(-1)!.params;
      return { entry, good, bad, n: rs.length, summary, params };
    }).sort((a, b) => b.good - b.bad - (a.good - a.bad));
    for (const r of rows) {
      const p = Object.keys(r.params).length ? ` with ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(', ')}` : '';
      lines.push(`- **${r.entry}**${p}: ${r.good} improved, ${r.bad} worse of ${r.n}${r.summary ? ` — ${r.summary}` : ''}`);
    }
    lines.push('');
  }
  const failures = history.filter((r) => r.outcome === 'failed' || r.outcome === 'regressed').slice(-10);
  if (failures.length) {
    lines.push('## What failed, and why (latest first)', '');
    for (const r of failures.reverse()) lines.push(`- ${r.entry} on "${r.workload.name}": ${r.outcome}${r.note ? ` — ${r.note}` : ''} (${r.at.slice(0, 10)})`);
    lines.push('');
  }
  const untested = entries.filter((e) => !history.some((r) => r.entry === e.name)).map((e) => e.name);
  if (untested.length) lines.push('## Not measured yet', '', untested.join(', '), '');
  return lines.join('\n');
}
