/**
 * Results joining the library's db: test results of an entry version, and measured results,
 * from which the retrieval weights learn (learning.ts).
 */
import type { z } from 'zod';
import { ScxError } from '../errors.js';
import type { EntrySummary } from '../model/entry.js';
import { HistoryInput, TestResult, type HistoryRecord, type LibraryDb } from './history.js';
import { learnFromResult } from './learning.js';

export function checkedTest(result: TestResult): z.output<typeof TestResult> {
  const t = TestResult.safeParse(result);
  if (!t.success) throw new ScxError('BAD_INPUT', `not a test result: ${t.error.issues[0]?.path.join('.')}: ${t.error.issues[0]?.message}`);
  return t.data;
}

export function checkedResult(input: HistoryInput): z.output<typeof HistoryInput> {
  const p = HistoryInput.safeParse(input);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new ScxError('BAD_INPUT', `not a valid result: ${i?.path.join('.')}: ${i?.message}`, 'entry, target, workload {name, fingerprint?}, metrics and (ideally) baseline are needed');
  }
  return p.data;
}

/** The test results, as the lines a commit message ends with. */
export function testsLine(tests: TestResult[] | undefined): string {
  if (!tests?.length) return '';
  return '\n\nTests:\n' + tests.map((t) => `- ${t.kind} on ${t.kernel}: ${t.pass ? 'pass' : 'FAIL'}${t.numbers ? ` ${JSON.stringify(t.numbers)}` : ''}`).join('\n');
}

/** Add a measured result to the history, and tune the retrieval weights from it; returns whether they changed. */
export function addResult(data: LibraryDb, summaries: EntrySummary[], rec: HistoryRecord): boolean {
  const before = data.history;
  data.history = [...before, rec];
  const learned = learnFromResult(summaries, rec, before, data.weights);
  if (learned.evaluated) {
    data.evaluations = { n: data.evaluations.n + 1, top1: data.evaluations.top1 + (learned.rankedBestFirst ? 1 : 0) };
  }
  if (learned.update) {
    data.weights = learned.update.after;
    data.weightLog = [...data.weightLog, learned.update].slice(-100);
  }
  return !!learned.update;
}
