/**
 * MEMORY.md: what an agent should know before choosing a scheduler, rewritten from
 * the whole history on every recorded result (never appended blindly): per kind of
 * workload what worked (entry, parameters, improvement, n) and what did not, the
 * failures and their reasons, open questions, and how retrieval has been tuned.
 */
import { FINGERPRINT_DIMENSIONS, type Fingerprint } from '../model/fingerprint.js';
import { headlineImprovement, improvementPct, recordScore, type HistoryRecord, type LibraryDb } from './history.js';
import type { EntrySummary } from '../model/entry.js';

const LABEL: Record<string, string> = {
  cpuBound: 'CPU-bound', ioHeavy: 'IO-heavy', latencySensitive: 'latency-sensitive', unevenness: 'uneven jobs',
  manyShortTasks: 'many short tasks', parallelism: 'oversubscribed',
};
const MAX_KINDS = 10;
const MAX_ROWS = 5;
const MAX_FAILURES = 8;

/**
 * A readable kind for a workload: the fingerprint dimensions clearly present (>= 0.6; at most
 * the three strongest, named in a fixed order; oversubscription only when nothing else is),
 * or its name when it was not profiled.
 */
export function workloadKind(r: Pick<HistoryRecord, 'workload'>): string {
  const f: Fingerprint | undefined = r.workload.fingerprint;
  if (!f) return `"${r.workload.name}" (not profiled)`;
  let dims = FINGERPRINT_DIMENSIONS.filter((d) => d !== 'parallelism' && f[d] >= 0.6);
  if (!dims.length && f.parallelism >= 0.6) dims = ['parallelism'];
  const top = new Set([...dims].sort((a, b) => f[b] - f[a]).slice(0, 3));
  const named = FINGERPRINT_DIMENSIONS.filter((d) => top.has(d)).map((d) => LABEL[d]);
  return named.length ? named.join(' + ') : 'light / mixed';
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(0)} %`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const paramText = (p: HistoryRecord['params']) => {
  const kv = Object.entries(p);
  return kv.length ? ` with ${kv.map(([k, v]) => `${k}=${v}`).join(', ')}` : ' (defaults)';
};

function group<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(x);
  }
  return m;
}

interface Row {
  entry: string;
  n: number;
  good: number;
  bad: number;
  score: number;
  metrics: string;
  params: HistoryRecord['params'];
  notes: string[];
}

function rowsFor(recs: HistoryRecord[]): Row[] {
  return [...group(recs, (r) => r.entry)].map(([entry, rs]) => {
    const perMetric = group(rs.flatMap((r) => Object.entries(improvementPct(r))), ([m]) => m);
    const metrics = [...perMetric].map(([m, vs]) => `${m} ${signed(mean(vs.map(([, v]) => v)))}`).join(', ');
    const bestRec = [...rs].sort((a, b) => recordScore(b) - recordScore(a))[0]!;
    return {
      entry, n: rs.length, good: rs.filter((r) => r.outcome === 'improved').length,
      bad: rs.filter((r) => r.outcome === 'regressed' || r.outcome === 'failed').length,
      score: mean(rs.map(recordScore)), metrics, params: bestRec.params,
      notes: rs.filter((r) => r.note && r.outcome !== 'improved').map((r) => r.note!.slice(0, 120)).slice(-2),
    };
  }).sort((a, b) => b.score - a.score || b.n - a.n);
}

export function renderMemory(history: HistoryRecord[], entries: EntrySummary[], db?: Pick<LibraryDb, 'weights' | 'evaluations' | 'weightLog'>): string {
  const out: string[] = ['# scx-mcp memory', ''];
  const workloads = new Set(history.map((r) => r.workload.name)).size;
  const measured = new Set(history.map((r) => r.entry));
  out.push(`Rewritten from all ${history.length} recorded result(s) on ${workloads} workload(s), ${measured.size} scheduler(s) measured. ` +
    'Percentages are against the kernel default measured the same way (+ = better); n = number of results.', '');
  if (!history.length) {
    out.push('Nothing recorded yet. Profile the workload (profile_workload: the baseline and a fingerprint), search_library,',
      'deploy a candidate in the sandbox, measure again, and record_result — good or bad.', '');
  }

  const kinds = [...group(history, workloadKind)].sort((a, b) => b[1].length - a[1].length);
  const open: string[] = [];
  if (kinds.length) out.push('## By kind of workload', '');
  for (const [kind, recs] of kinds.slice(0, MAX_KINDS)) {
    const rows = rowsFor(recs);
    const worked = rows.filter((r) => r.score > 0);
    const didNot = rows.filter((r) => r.score <= 0);
    out.push(`### ${kind} — ${recs.length} result${recs.length > 1 ? 's' : ''}`);
    const names = [...new Set(recs.map((r) => r.workload.name))];
    out.push(`Workloads: ${names.slice(0, 4).map((n) => `"${n}"`).join(', ')}${names.length > 4 ? ` and ${names.length - 4} more` : ''}.`);
    if (worked.length) {
      out.push('Worked:');
      for (const r of worked.slice(0, MAX_ROWS)) out.push(`- **${r.entry}**${paramText(r.params)}: ${r.metrics || 'improved'} (n=${r.n}, ${r.good} improved${r.bad ? `, ${r.bad} worse` : ''})`);
    } else {
      out.push('Worked: nothing yet.');
      open.push(`Nothing has improved on ${kind} workloads yet: try another family, or modify the best of the tried ones.`);
    }
    if (didNot.length) {
      out.push('Did not work:');
      for (const r of didNot.slice(0, MAX_ROWS)) {
        out.push(`- ${r.entry}${paramText(r.params)}: ${r.metrics || 'no gain'} (n=${r.n}${r.bad ? `, ${r.bad} worse or failed` : ''})${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}`);
      }
    }
    for (const r of rows) {
      if (r.good && r.bad) open.push(`${r.entry} is inconsistent on ${kind} workloads (${r.good} improved, ${r.bad} worse): the parameters or the workload mix may matter; measure again.`);
    }
    if (rows.length === 1 && worked.length) open.push(`Only ${rows[0]!.entry} was measured on ${kind} workloads: is another family better?`);
    out.push('');
  }
  if (kinds.length > MAX_KINDS) out.push(`(${kinds.length - MAX_KINDS} more kinds with fewer results are in db.json.)`, '');

  const failures = history.filter((r) => r.outcome === 'failed' || r.outcome === 'regressed').slice(-MAX_FAILURES).reverse();
  if (failures.length) {
    out.push('## Failures and regressions, and why (latest first)', '');
    for (const r of failures) {
      const h = headlineImprovement(r);
      out.push(`- ${r.entry}${r.version ? ` v${r.version}` : ''} on "${r.workload.name}" (${r.target}): ${r.outcome}${h && r.outcome === 'regressed' ? `, ${h.metric} ${signed(h.pct)}` : ''}` +
        `${r.note ? ` — ${r.note.slice(0, 200)}` : ''} (${r.at.slice(0, 10)})`);
    }
    out.push('');
  }

  const never = entries.filter((e) => !measured.has(e.name)).map((e) => e.name);
  if (never.length) open.push(`Never measured: ${never.join(', ')}.`);
  if (open.length) out.push('## Open questions', '', ...open.slice(0, 12).map((x) => `- ${x}`), '');

  if (db) {
    const w = db.weights;
    const last = db.weightLog.at(-1);
    out.push('## How search ranks', '',
      `Weights: text ${w.text.toFixed(2)}, tags ${w.tags.toFixed(2)}, history ${w.history.toFixed(2)}; past results count when the fingerprint similarity is ≥ ${w.similarityThreshold.toFixed(2)}. ` +
      `Tuned ${w.updates} time(s) from outcomes; of ${db.evaluations.n} result(s) with a clear best entry, search had ranked it first ${db.evaluations.top1} time(s).` +
      (last ? ` Last change: ${last.best} measured best where ${last.rankedFirst} was ranked first.` : ''), '');
  }
  return out.join('\n');
}
