/**
 * Which objective a text-only query means: a small classifier of weighted phrase rules,
 * so its guess can be explained (the phrases that decided it) and corrected (pass
 * search_library's `objective`). Each rule is a regular expression over the lower-cased
 * query and a weight; an objective's score is the sum of the weights of its rules that
 * match. The guess is the highest score; its confidence is its share of all scores.
 *
 * Every alternative in these rules matches at least one description of the past questions (library/questions:
 * labelled, tuning, dev, dev2 and the real-question sets heldout4-9, each used for tuning once measured blind), or the
 * objective's own name (tests/unit/search-objective.test.ts checks it): none was written for the held-out
 * descriptions (fixtures/search/heldout.json and heldout10.json), which measure them.
 */
import { Objective } from '../model/entry.js';

export type { Objective } from '../model/entry.js';

export const OBJECTIVE_WORDS: Record<Objective, string> = {
  makespan: 'makespan (when the last job finishes)',
  mean_completion: 'mean completion time (the typical job finishes sooner)',
  tail_latency: 'tail latency (wakeups and responses without spikes)',
  throughput: 'throughput (work done per unit of time)',
  fairness: 'fairness (CPU shared evenly or by weight, nothing starves)',
  deadline: 'deadlines (work done before its due time)',
  locality: 'cache locality (tasks stay where their data is warm)',
  priority_isolation: 'priority isolation (important work wins over background work)',
  low_overhead: 'low overhead (a simple policy that costs little)',
};

/** Metrics that speak for an objective (history metrics are named freely; these are the names the benchmarks use). */
export const OBJECTIVE_METRICS: Record<Objective, RegExp> = {
  makespan: /makespan|wall/, mean_completion: /mean_completion|mean_ms|turnaround/, tail_latency: /p99|p999|latency|wakeup/,
  throughput: /per_s|rps|throughput|ops|iters/, fairness: /fair|jain/, deadline: /miss|deadline/, locality: /migrat|cache/,
  priority_isolation: /prio|isolation|class/, low_overhead: /overhead|switch/,
};

/** The objective a measured metric speaks for (by its name, e.g. makespan_ms, p99_latency_us), or undefined. */
export function objectiveOfMetric(metric: string): Objective | undefined {
  return Objective.options.find((o) => OBJECTIVE_METRICS[o].test(metric));
}

type Rule = [RegExp, number];

/** The rules and the keywords (as rules), for tests that check where their phrases come from. */
export function objectiveRules(): Record<Objective, readonly Rule[]> {
  return Object.fromEntries(Objective.options.map((o) => [o, [...RULES[o], ...KEYWORD_RULES[o]]])) as Record<Objective, Rule[]>;
}

/** Phrase rules per objective. Weights: 3 = says it outright, 2 = strong sign, 1 = a hint. */
const RULES: Record<Objective, Rule[]> = {
  makespan: [
    [/\b(long|longest)[\w -]{0,25}\bearly\b|\breverse order\w*\b.{0,20}\bsize\b/, 3], [/\bthe last (big|long|large|slow)\b/, 2],
    [/\b(long|longest|slow|slower|slowest|heavy)[\w -]{0,25}\b(first|earlier|sooner)\b|\bkicked off first\b/, 3], [/\bdecreasing order of (duration|length|run ?time|size)\b|\boverall (\w+ )?(run[- ]?time|time|duration)\b|\btotal run[- ]?time\b|\btail end\b|\blonger than (it|they) needs?\b/, 3], [/\b(started|start|run) (after|last|late)\b/, 1],
    [/\bmakespan\b/, 3], [/\b(whole|total) (batch|run|pipeline)\b|\bentire suite\b|\bwhole lot\b/, 2],
    [/\b(last|slowest|final) (job|task|step)\b.{0,40}\b(finish|done|complete|decides)/, 3],
    [/\b(finish|done|complete)\b.{0,30}\b(as early as possible|earliest|sooner)\b|\bwrapped up earliest\b/, 2],
    [/\bas early as possible\b/, 1], [/\bcritical path\b/, 3], [/\bwall[- ]?clock\b/, 1],
    [/\btotal completion time\b/, 3], [/\bdone only when\b/, 2], [/\b(is|are) (finished|complete|done) when\b|\bonly the moment the last\b/, 3],
    [/\b(one|a) (huge|giant|long)\b.{0,40}\b(many|dozens|lots|small|short|tiny)\b/, 1],
  ],
  mean_completion: [
    [/\b(small|short|fast)\w* to (big|large|long|slow)\w*\b|\b(small|short)\w* (jobs?|tasks?|batch\w*|requests?) (should )?(start|run|finish)\w* (quickly|first|early|soon)/, 3],
    [/\b(fast|faster|fastest|quick|quicker|short|shorter|small|smaller)[\w -]{0,25}\b(first|ahead)\b|\bpre-?empt (slow|long)/, 3], [/\b(feedback|failures?|breakage|results?)\b.{0,60}\b(sooner|faster|quicker|as soon as possible|earlier)\b|\bfeedback loop\b/, 2], [/\b(longer|slower)[\w -]{0,30}\b(later|last)\b/, 2],
    [/(?<!load )\b(mean|average|typical)\b(?! cpu)(?! load).{0,30}\b(completion|turnaround|waiting|wait|job|user|time|submission)\b/, 3],
    [/\bturnaround\b/, 2], [/\bshortest[- ]jobs?[- ]first\b/, 3],
    [/\b(small|short|quick|tiny)\b.{0,30}\b(stuck|sit) behind\b/, 3], [/\bbehind (a|the)?\s?(big|long|heavy)/, 2],
    [/\bjump ahead\b/, 2], [/\b(most|typical)\b.{0,20}\b(tests?|jobs?|requests?)\b.{0,30}\b(quick|fast|soon)/, 2],
    [/\breturn fast\b|\bcome back fast\b/, 2], [/\bmatters more .{0,20}than when\b/, 2], [/\bshort jobs?\b.{0,30}\b(quick|soon|fast)/, 2], [/\bwait on each\b/, 2],
  ],
  tail_latency: [
    [/\bxruns?\b|\b(sound|audio) (skips?|drops?|interrupt\w*|cuts?)\b|\bui slows?\b/, 3],
    [/\binteractiv\w* (system|desktop|use)\b|\bdesktop\b/, 1],
    [/\bp9\d(\.\d+)?\b|\b9\dth[- ]percentile\b|\b1 ?% lows\b/, 3], [/\blatency\b/, 2], [/\b(stutter\w*|lags?|laggy|glitch\w*|freez\w*|crackl\w*)\b|\boverrun counter\b/, 3],
    [/\bresponsive(ness)?\b|\bstay usable\b/, 1], [/\bframe( times?)?\b|\bdropped frames\b/, 2], [/\bspikes?\b/, 2],
    [/\b(wakes?|wakeups?)\b/, 1], [/\bworst[- ]case\b/, 2], [/\b(audio|game|mouse|input|video call)\b/, 1],
    [/\bresponse time\b/, 2],
  ],
  throughput: [
    [/\bmore threads than cores\b/, 2], [/\bmultiple queues\b|\bcentrali[sz]ed (task )?queue\b|\bspin-?wait\w*\b/, 2],
    [/\bsequentially\b|\bone (\w+ )?at a time\b/, 2], [/\b(worker'?s?|per[- ]worker|per[- ]thread) queues?\b|\bidle (threads|workers|cores|cpus)\b/, 2],
    [/\bcompet(e|es|ing) for\b/, 2],
    [/\bthroughput\b/, 3], [/\b(per hour|a second|jobs per)\b/, 2], [/\bas many\b/, 1],
    [/\b(lock|contention|contended|bottleneck|hotspot)\b/, 2], [/\bcontext switches\b/, 1],
    [/\b(run ?queue|runqueue)\b/, 1], [/\bmany[- ](cores?|cpus?)\b|\b\d{2,}-core\b/, 2],
    [/\bsteal(s|ing)?\b|\bpull from\b|\btake work from\b|\bbusier neighbou?r\b/, 2], [/\border is irrelevant\b|\border doesn'?t matter\b/, 2], [/\bown backlog\b/, 2],
    [/\bidentical batch\b|\bequal-sized\b/, 1], [/\bmost work done\b/, 2], [/\barrival order\b|\bfirst[- ]come\b/, 1],
  ],
  fairness: [
    [/\bjobs? from the same\b|\bjam\w* the queue\b|\bhog\w* the (queue|cpu|machine)\b/, 2],
    [/\b(its|a|their|fair|cpu|equal) shares?\b/, 2],
    [/\bmulti-?user\b|\b(each|every|per) user\b|\b(person|user) ?[a-z0-9]\b.{0,100}\b(person|user) ?[a-z0-9]\b/, 2], [/\b(ensure|guarantee) fair\w*\b|\bhow much cpu\b|\bsplit\b.{0,20}\b(cpu|evenly)\b|\b50 ?\/ ?50\b|\bregardless of how many\b|\binterleav\w*\b/, 3],
    [/\bfair(ly|ness)?\b/, 3], [/\bstarv\w*\b/, 2], [/(?<!be |very |really )\bnice\b(?! if| to have)/, 2], [/\bproportion(al)?\b/, 3], [/\bshares?\b/, 1],
    [/\b(equal|evenly)\b/, 2], [/\btake turns?\b|\bits turn\b|\bin rotation\b|\bround[- ]robin\b|\btime[- ](share|slicing)\b/, 3],
    [/\bsteady progress\b|\bsame pace\b|\bnobody (stuck|racing)\b/, 3], [/\b(a|its) turn\b/, 2], [/\blong (jobs?|ones?) must (keep|not)\b/, 2], [/\btenants?\b|\bdepartments\b/, 1], [/\bwithout cpu for long\b|\bmust not stall\b/, 3], [/\btime-share\b.{0,30}\bevenly\b/, 2], [/\bweight(s|ed)?\b/, 1], [/\bmixed\b/, 1],
  ],
  deadline: [
    [/\bonce every\b|\b\d+ ?hz\b(?! tick)|\boverrun\b(?! counter)/, 2],
    [/\breal[- ]?time (loop|thread|task|control)\b|\bjitter\b/, 2],
    [/\bdeadlines?\b/, 3], [/\bdue\b(?! to)( time)?/, 3], [/\b(period|periodic|cycle|every \d+ ?ms)\b/, 2],
    [/\bmiss(es|ed|ing)?\b|\b(are|is) late\b/, 1], [/\bwithin \d+ ?ms\b/, 3], [/\bsoft real-time\b/, 2], [/\bbefore (the next tick|their presentation)\b/, 2], [/\btimestamp\b/, 2], [/\bcontrol (loop|cycle)\b/, 2],
  ],
  locality: [
    [/\bmemory access\w*\b|\bhyper[- ]?threads?\b|\baffinity\b/, 2],
    [/\bsame (core|cpu)\b|\bpinn(ed|ing)\b/, 2],
    [/\bcache[sd]?\b|\bwarm\b|\bl2 misses\b/, 3], [/\bmigrat\w*\b|\bbounc\w*\b|\bwhen moved\b|\bhopping between\b|\bmoved to another core\b/, 3],
    [/\bnuma\b/, 2], [/\blocality\b/, 3], [/\bworking sets?\b/, 2], [/\bwhere (its|their) data\b|\bstay on a core\b/, 2],
  ],
  priority_isolation: [
    [/\bautogroup\b|\bunderweight\b|\bbackground (processes|tasks|work|builds?)\b/, 2],
    [/\bnice(ness)?\b.{0,80}\bbackground\b|\bbackground\b.{0,80}\bnice(ness)?\b/, 2],
    [/\bbackground\b.{0,100}\b(foreground|desktop|interactive)\b|\b(foreground|desktop)\b.{0,100}\bbackground\b/, 3],
    [/\bpriorit\w*\b/, 3], [/\bfavou?r\b/, 2], [/\bcome before\b|\balways win over\b|\bwork wins\b/, 3], [/\bdemote\b|\bin a lower class\b/, 3], [/\bunaffected\b/, 2],
    [/\bbackground (job|jobs|indexing|maintenance)\b/, 1], [/\b(lower|low|higher|high) class\b/, 3],
    [/\brenic\w*\b/, 2], [/\bisolat\w*\b/, 2], [/\b(critical|important) services?\b/, 2],
    [/\bover (the|background)\b/, 1], [/\bforeground\b/, 1],
  ],
  low_overhead: [
    [/\b(time|spend\w*) (in )?context switch\w*\b/, 2],
    [/\blow[- ]noise\b|\b(cores?|cpus?)\b.{0,20}\breserved\b|\b(reserve|reserves|reserving|dedicate|dedicates|dedicating)\b.{0,40}\b(cores?|cpus?)\b/, 3],
    [/\bisolcpus\b/, 3], [/\bno_?hz(_full)?\b|\b(scheduler )?tick interrupts?\b|\bscheduler ticks?\b/, 3], [/\b(high|many|fewer|number of|too many|unnecessary) context switch\w*\b/, 2],
    [/\boverhead\b/, 3], [/\bsimplest\b|\bplain\b/, 2], [/\bbaseline\b|\breference point\b/, 3],
    [/\bundisturbed\b|\bnever interrupted\b|\bwithout scheduler interruptions\b/, 3],
    [/\b(one|single|dedicated|designated) (cpu|core)\b.{0,40}\b(decision|decisions|scheduling|sees)/, 3], [/\bglobal (policy|scheduling)\b/, 2],
    [/\bprototyp\w*\b/, 1],
  ],
};

/**
 * Single words (matched as word prefixes: "migrat" finds migrate, migrating, migrations) that
 * lean towards an objective, beside the phrase rules: they catch the many ways of saying a
 * thing that no phrase lists. Weight 1 = a lean, 2 = a strong sign.
 */
const KEYWORDS: Record<Objective, [string, number][]> = {
  makespan: [['slowest', 2], ['entire', 1], ['whole', 1], ['earliest', 1], ['makespan', 1]],
  mean_completion: [['(?<!load )average(?! cpu)', 2], ['typical', 1], ['mean', 1], ['behind', 2], ['quick', 1], ['turnaround', 1]],
  tail_latency: [['latency', 1], ['stutter', 1], ['lag', 1], ['spike', 1], ['glitch', 1], ['instant', 2], ['keystroke', 2], ['responsive', 1], ['wake', 1], ['frame', 1]],
  throughput: [['throughput', 1], ['contention', 1], ['contended', 1], ['lock', 1], ['arrive', 2], ['crunch', 1]],
  fairness: [['fair', 1], ['regular', 1], ['equal', 1], ['evenly', 1], ['weight', 1], ['starv', 1], ['portion', 2], ['proportion', 1], ['tenant', 1]],
  deadline: [['deadline', 1], ['period', 2], ['within', 1], ['cycle', 1]],
  locality: [['cache', 1], ['migrat', 1], ['warm', 1], ['numa', 1], ['bounc', 1], ['locality', 1], ['moved', 1]],
  priority_isolation: [['priorit', 1], ['favour', 1], ['class', 1], ['tier', 2], ['isolat', 1], ['ahead of the', 1], ['no matter how', 2], ['foreground', 1], ['critical', 1], ['disturb', 2], ['interfer', 2]],
  low_overhead: [['overhead', 1], ['simplest', 1], ['baseline', 1], ['undisturbed', 1], ['dispatching', 2], ['decision', 1], ['prototyp', 1]],
};

const KEYWORD_RULES = Object.fromEntries(Objective.options.map((o) => [o, KEYWORDS[o].map(([k, w]): Rule => [new RegExp(`\\b${k}\\w*`), w])])) as Record<Objective, Rule[]>;

export interface ObjectiveGuess {
  /** the best-scoring objective, or null when no rule matched */
  objective: Objective | null;
  /** its share of all rule scores, 0..1 */
  confidence: number;
  /** the phrases that decided it */
  evidence: string[];
  /** the runners-up, best first, with their scores */
  alternatives: { objective: Objective; score: number }[];
  scores: Partial<Record<Objective, number>>;
}

/** Guess the objective a query means, with the phrases that decided it. */
export function inferObjective(text: string): ObjectiveGuess {
  const t = text.toLowerCase();
  const scores: Partial<Record<Objective, number>> = {};
  const evidence: Partial<Record<Objective, string[]>> = {};
  for (const o of Objective.options) {
    for (const [re, w] of [...RULES[o], ...KEYWORD_RULES[o]]) {
      const m = re.exec(t);
      if (!m) continue;
      scores[o] = (scores[o] ?? 0) + w;
      (evidence[o] ??= []).push(m[0]);
    }
  }
  const ranked = (Object.entries(scores) as [Objective, number][]).sort((a, b) => b[1] - a[1] || Objective.options.indexOf(a[0]) - Objective.options.indexOf(b[0]));
  const total = ranked.reduce((a, [, s]) => a + s, 0);
  const best = ranked[0];
  return {
    objective: best ? best[0] : null,
    confidence: best ? Math.round((best[1] / total) * 100) / 100 : 0,
    evidence: best ? [...new Set(evidence[best[0]] ?? [])].slice(0, 5) : [],
    alternatives: ranked.slice(1, 3).map(([objective, score]) => ({ objective, score })),
    scores,
  };
}
