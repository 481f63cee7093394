/**
 * completion/complete values for resource-template variables and prompt arguments:
 * library entry names, targets, workload commands and goals. Matches by prefix first,
 * then by substring (case-insensitive); at most 100 values (the protocol's page).
 */
import type { ScxEngines } from './engines.js';
import { OBJECTIVE_WORDS } from '../core/library/objective.js';

export function matching(values: readonly string[], typed: string | undefined): string[] {
  const v = (typed ?? '').toLowerCase();
  const prefix = values.filter((x) => x.toLowerCase().startsWith(v));
  const inside = values.filter((x) => !x.toLowerCase().startsWith(v) && x.toLowerCase().includes(v));
  return [...prefix, ...inside].slice(0, 100);
}

export const TARGETS = ['sandbox', 'host'] as const;

/** scx://library/{name}: the library's entries. */
export function completeEntryName(engines: ScxEngines): (value: string) => Promise<string[]> {
  return async (value) =>
    matching(
      (await engines.library()).list().map((e) => e.name),
      value,
    );
}

export const completeTarget = (value: string): string[] => matching(TARGETS, value);

/** The workload fixtures as commands (what profile_workload runs in the sandbox guest). */
export const WORKLOAD_EXAMPLES = [
  'batch --kind join --jobs 1x39,39x1 --unit-ms 20',
  'batch --kind hash --jobs 1x8,8x1 --unit-ms 10',
  'wakebench --message-threads 2 --workers 4 --runtime 5',
  'buildsim -j 2 --files 40',
  'hackbench -g 2 -l 50',
  'cyclictest -t 2 -i 1000 -l 2000 -q',
  'stress-ng --cpu 2 --timeout 10s',
];
export const completeWorkload = (value: string): string[] => matching(WORKLOAD_EXAMPLES, value);

/** Goals, one per objective search_library ranks for. */
export const GOAL_EXAMPLES = Object.values(OBJECTIVE_WORDS);
export const completeGoal = (value: string): string[] => matching(GOAL_EXAMPLES, value);
