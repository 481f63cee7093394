/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hybrid - fair sharing and shortest-job-first, blended by one knob.
 *
 * Every task waits in one queue ordered by a blend of two keys:
 *   - its weighted virtual runtime, as in vtime_fair (CPU time used, scaled
 *     by 100 / weight; a sleeper keeps at most one slice of credit), and
 *   - its expected remaining length, as in sjf: from the `job_hints` map
 *     (longest task-name prefix, value in ns), else from a task name
 *     `<role>_<C><UUU>_<NN>` (UUU units of `unit_us`), else from history
 *     (the longer of its average CPU burst and its current burst).
 * key = fair_pct% x virtual runtime + (100 - fair_pct)% x expected length,
 * ties broken by spawn order. fair_pct = 100 is plain weighted fair
 * sharing; fair_pct = 0 is shortest-(remaining)-job-first where each job
 * runs to completion; values in between let short jobs overtake long ones
 * while long ones still progress as the others' virtual runtime grows.
 * With `wake_boost`, a task that wakes up is placed `boost_us` earlier in
 * the queue (lower wakeup latency for interactive tasks). The rest is the
 * job-length core's (bpf-templates/scx_joblen.bpf.h): the length estimate,
 * keeping the running task while its key is still first, and the
 * starvation guard (`max_wait_ms`).
 *
 * Works well when: mixed machines - a batch of uneven jobs beside
 * interactive or service work - and as the knob to explore between
 * fairness (fair_pct high) and mean completion time (fair_pct low).
 * Costs: a blend is harder to reason about than either pure policy; the
 * length part trusts hints and names; the virtual-runtime part makes equal
 * jobs share the CPU round-robin (longer makespan and mean completion) as
 * fair_pct grows; one shared queue.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define JOB_DSQ 0 /* every task, ordered by the blended key */

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 10000);
/*
 * Weight of fair sharing against job length in the queue order, in percent
 * (100 = fair only, 0 = job length only).
 */
SCX_PARAM(u32, fair_pct, 50);
/* CPU time one size unit of a job name stands for, in microseconds. */
SCX_PARAM(u64, unit_us, 10000);
/* Place tasks that wake up earlier in the queue. */
SCX_PARAM(bool, wake_boost, true);
/* How much earlier a waking task is placed, in microseconds. */
SCX_PARAM(u64, boost_us, 2000);
/* Starvation guard: a queued task runs once it has waited this long, in milliseconds. */
SCX_PARAM(u32, max_wait_ms, 1000);

u64 stat_jobs;       /* enqueues of tasks with a known length (hint or name) */
u64 stat_history;    /* enqueues of tasks sized by history */
u64 stat_boosted;    /* wakeups placed earlier */

UEI_DEFINE(uei);

#define SCX_JOBLEN_CTX_EXTRA u64 vtime; /* weighted CPU time received */
#include "scx_joblen.bpf.h"

/* The virtual clock: the highest virtual runtime seen on a CPU so far. */
u64 vtime_now;

static __always_inline u64 fair_share_pct(void)
{
	return fair_pct > 100 ? 100 : fair_pct;
}

/*
 * The blend: fair_pct% of @p's weighted virtual runtime plus the rest of its
 * expected remaining length, counting @extra ns not charged yet.
 */
static __always_inline u64 blend_key(struct task_struct *p,
				     struct task_ctx *tctx, u64 extra)
{
	u64 pct = fair_share_pct(), expected, run, len;
	u64 vtime = tctx->vtime + weight_scale(extra, p->scx.weight);

	job_length(tctx, extra, 0, &expected, &run);
	len = remaining_ns(expected, run);
	/*
	 * Only differences between keys matter, so absolute vtime is fine.
	 * Divide first: pct x vtime could overflow after a long uptime.
	 */
	return pct * (vtime / 100) + (100 - pct) * (len / 100);
}

/* The order key of a running task (for keeping it); every task is in the one queue. */
static __always_inline bool joblen_key(struct task_struct *p,
				       struct task_ctx *tctx, u64 extra, u64 *key)
{
	*key = order_key(blend_key(p, tctx, extra), tctx->seq);
	return true;
}

void BPF_STRUCT_OPS(hybrid_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 slice = slice_us * NSEC_PER_USEC, key;
	struct task_ctx *tctx = task_ctx(p);

	if (!tctx) {
		key = order_key(fair_share_pct() * (vtime_now / 100), 0);
		scx_insert_vtime(p, JOB_DSQ, slice, key, enq_flags);
		return;
	}
	joblen_queued(p, tctx, enq_flags);

	/* fair part: a sleeper keeps at most one slice of credit */
	vtime_limit_credit(&tctx->vtime, vtime_now, slice);

	if (tctx->source != SRC_HISTORY)
		stat_add(&stat_jobs, 1);
	else
		stat_add(&stat_history, 1);

	key = blend_key(p, tctx, 0);
	if ((enq_flags & SCX_ENQ_WAKEUP) && wake_boost) {
		key -= boost_us * NSEC_PER_USEC;
		stat_add(&stat_boosted, 1);
	}
	scx_insert_vtime(p, JOB_DSQ, slice, order_key(key, tctx->seq), enq_flags);
}

void BPF_STRUCT_OPS(hybrid_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	joblen_run_start(p, tctx);
	if (tctx)
		vtime_advance(&vtime_now, tctx->vtime);
}

void BPF_STRUCT_OPS(hybrid_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 used = joblen_charge(p, tctx, runnable);

	/* the fair part: weighted CPU time */
	if (tctx)
		tctx->vtime += weight_scale(used, p->scx.weight);
}

void BPF_STRUCT_OPS(hybrid_enable, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (tctx)
		tctx->vtime = vtime_now;
}

void BPF_STRUCT_OPS(hybrid_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

/* select_cpu, dispatch, init_task and init are the job-length core's (scx_joblen.bpf.h) */
SCX_OPS_DEFINE(hybrid_ops,
	       .select_cpu = (void *)joblen_select_cpu,
	       .enqueue = (void *)hybrid_enqueue,
	       .dispatch = (void *)joblen_dispatch,
	       .running = (void *)hybrid_running,
	       .stopping = (void *)hybrid_stopping,
	       .enable = (void *)hybrid_enable,
	       .init_task = (void *)joblen_init_task,
	       .init = (void *)joblen_init,
	       .exit = (void *)hybrid_exit,
	       .name = "hybrid");
