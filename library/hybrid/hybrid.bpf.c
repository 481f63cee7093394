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
 * When a slice ends, the running task keeps the CPU if its key is still
 * ahead of every queued task.
 * With `wake_boost`, a task that wakes up is placed `boost_us` earlier in
 * the queue (lower wakeup latency for interactive tasks). A starvation guard
 * runs any task that waited more than `max_wait_ms` (looking at the 32 tasks
 * at the back of the queue).
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

#ifndef ENOMEM
#define ENOMEM 12
#endif

#define MAIN_DSQ 0
#define GUARD_SCAN 32 /* tasks the starvation guard looks at */

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
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_rescued;    /* waiting tasks run by the starvation guard */
u64 stat_kept;       /* slice ends where the running task stayed ahead of the queue */

UEI_DEFINE(uei);

#define SCX_JOBLEN_CTX_EXTRA u64 vtime; /* weighted CPU time received */
#include "scx_joblen.bpf.h"

u64 next_seq;
u64 last_guard_check;
/* The virtual clock: the highest virtual runtime seen on a CPU so far. */
u64 vtime_now;

/*
 * Expected CPU time still to come. A job past its estimate counts as about
 * to finish (0), so it stays ahead of its unstarted equals and runs to
 * completion; estimates are often low (slow machine, wrong unit), and
 * pushing an overrunning job back would make equal jobs share the CPU
 * round-robin. A wildly wrong hint can therefore hold a CPU until the job
 * ends (the starvation guard still serves the others).
 */
static __always_inline u64 remaining_ns(struct task_ctx *tctx, u64 extra)
{
	u64 run = tctx->job_run_ns + extra;

	return tctx->expected_ns > run ? tctx->expected_ns - run : 0;
}

/* Queue order: length in ~us in the high bits, spawn order in the low 20. */
static __always_inline u64 order_key(u64 len_ns, u64 seq)
{
	return ((len_ns >> 10) << 20) | (seq & 0xfffff);
}

static __always_inline void set_slice(struct task_struct *p, u64 slice)
{
#if defined(SCX_HAS_scx_bpf_task_set_slice)
	scx_bpf_task_set_slice(p, slice);
#else
	p->scx.slice = slice;
#endif
}

static __always_inline u64 fair_share_pct(void)
{
	return fair_pct > 100 ? 100 : fair_pct;
}

/*
 * @p's place in the queue, counting @extra ns of CPU time not charged yet
 * (the current run of a task still on a CPU): the blend of its weighted
 * virtual runtime and its expected remaining length.
 */
static __always_inline u64 blend_key(struct task_struct *p,
				     struct task_ctx *tctx, u64 extra)
{
	u64 pct = fair_share_pct(), len;
	u32 weight = p->scx.weight ? p->scx.weight : 1;
	u64 vtime = tctx->vtime + extra * 100 / weight;

	if (tctx->source != SRC_HISTORY)
		len = remaining_ns(tctx, extra);
	else
		len = MAX(tctx->avg_burst_ns, tctx->burst_ns + extra);
	/*
	 * Only differences between keys matter, so absolute vtime is fine.
	 * Divide first: pct x vtime could overflow after a long uptime.
	 */
	return pct * (vtime / 100) + (100 - pct) * (len / 100);
}

/*
 * The kernel asks for the next task while the current one (@prev) is still
 * on the CPU and in no queue: if its slice ran out but it is still ahead of
 * everything queued, keep it running instead of switching to the head of
 * the queue (with fair_pct = 0 this is what lets each job run to completion).
 */
static __always_inline bool keep_running(struct task_struct *prev)
{
	struct task_struct *head;
	struct task_ctx *tctx;
	bool keep = true;
	u64 key;

	if (!(prev->scx.flags & SCX_TASK_QUEUED))
		return false; /* going to sleep or exiting */
	tctx = task_ctx(prev);
	if (!tctx)
		return false;
	refresh_estimate(prev, tctx, false); /* renamed while running? */
	key = order_key(blend_key(prev, tctx, scx_now() - tctx->started_at),
			tctx->seq);
	bpf_for_each(scx_dsq, head, MAIN_DSQ, 0) {
		keep = !vtime_before(head->scx.dsq_vtime, key);
		break;
	}
	if (keep) {
		set_slice(prev, slice_us * NSEC_PER_USEC);
		stat_add(&stat_kept, 1);
	}
	return keep;
}

/*
 * Starvation guard: scanning from the back of the queue (at most
 * GUARD_SCAN tasks), run the first task that has waited longer than
 * max_wait_ms. Scanning, not just the last task, because the last one may
 * be the same task every time while others behind the front also wait.
 */
static __always_inline bool rescue_starved(s32 cpu)
{
	u64 now = scx_now(), limit = (u64)max_wait_ms * NSEC_PER_MSEC;
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	bool moved = false;
	int i;

	/* looking once a millisecond is plenty */
	if (now - last_guard_check < NSEC_PER_MSEC)
		return false;
	last_guard_check = now;

	if (bpf_iter_scx_dsq_new(&it, MAIN_DSQ, SCX_DSQ_ITER_REV)) {
		bpf_iter_scx_dsq_destroy(&it);
		return false;
	}
	bpf_for(i, 0, GUARD_SCAN) {
		struct task_ctx *tctx;

		p = bpf_iter_scx_dsq_next(&it);
		if (!p)
			break;
		tctx = task_ctx(p);
		if (!tctx || now - tctx->queued_at <= limit ||
		    !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		moved = scx_bpf_dsq_move(&it, p, SCX_DSQ_LOCAL, 0);
		break;
	}
	bpf_iter_scx_dsq_destroy(&it);
	if (moved)
		stat_add(&stat_rescued, 1);
	return moved;
}

s32 BPF_STRUCT_OPS(hybrid_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);

	if (is_idle) {
		stat_add(&stat_direct, 1);
		scx_insert(p, SCX_DSQ_LOCAL, slice_us * NSEC_PER_USEC, 0);
	}
	return cpu;
}

void BPF_STRUCT_OPS(hybrid_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 slice = slice_us * NSEC_PER_USEC, floor, key;
	struct task_ctx *tctx = task_ctx(p);
	bool wakeup = enq_flags & SCX_ENQ_WAKEUP;

	if (!tctx) {
		key = order_key(fair_share_pct() * (vtime_now / 100), 0);
		scx_insert_vtime(p, MAIN_DSQ, slice, key, enq_flags);
		return;
	}
	refresh_estimate(p, tctx, wakeup);
	tctx->queued_at = scx_now();

	/* fair part: a sleeper keeps at most one slice of credit */
	floor = vtime_now - slice;
	if (vtime_before(tctx->vtime, floor))
		tctx->vtime = floor;

	if (tctx->source != SRC_HISTORY)
		stat_add(&stat_jobs, 1);
	else
		stat_add(&stat_history, 1);

	key = blend_key(p, tctx, 0);
	if (wakeup && wake_boost) {
		key -= boost_us * NSEC_PER_USEC;
		stat_add(&stat_boosted, 1);
	}
	scx_insert_vtime(p, MAIN_DSQ, slice, order_key(key, tctx->seq), enq_flags);
}

void BPF_STRUCT_OPS(hybrid_dispatch, s32 cpu, struct task_struct *prev)
{
	if (rescue_starved(cpu))
		return;
	if (prev && keep_running(prev))
		return;
	scx_move_to_local(MAIN_DSQ);
}

void BPF_STRUCT_OPS(hybrid_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (!tctx)
		return;
	/* a job renamed and woken straight onto an idle CPU: charge it from now (see sjf) */
	refresh_estimate(p, tctx, false);
	tctx->started_at = scx_now();
	if (vtime_before(vtime_now, tctx->vtime))
		vtime_now = tctx->vtime;
}

void BPF_STRUCT_OPS(hybrid_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);
	u32 weight = p->scx.weight ? p->scx.weight : 1;
	u64 used;

	if (!tctx || !tctx->started_at)
		return;
	/* renamed during this run (a new job): the run counts for the new job */
	refresh_estimate(p, tctx, false);
	used = scx_now() - tctx->started_at;
	tctx->vtime += used * 100 / weight;
	tctx->burst_ns += used;
	tctx->job_run_ns += used;
	if (!runnable) {
		/* going to sleep: the burst is over, fold it into the average */
		tctx->avg_burst_ns = (tctx->avg_burst_ns * 3 + tctx->burst_ns) / 4;
		tctx->burst_ns = 0;
	}
}

void BPF_STRUCT_OPS(hybrid_enable, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (tctx)
		tctx->vtime = vtime_now;
}

s32 BPF_STRUCT_OPS(hybrid_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return -ENOMEM;
	tctx->seq = __sync_fetch_and_add(&next_seq, 1);
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(hybrid_init)
{
	return scx_bpf_create_dsq(MAIN_DSQ, -1);
}

void BPF_STRUCT_OPS(hybrid_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(hybrid_ops,
	       .select_cpu = (void *)hybrid_select_cpu,
	       .enqueue = (void *)hybrid_enqueue,
	       .dispatch = (void *)hybrid_dispatch,
	       .running = (void *)hybrid_running,
	       .stopping = (void *)hybrid_stopping,
	       .enable = (void *)hybrid_enable,
	       .init_task = (void *)hybrid_init_task,
	       .init = (void *)hybrid_init,
	       .exit = (void *)hybrid_exit,
	       .name = "hybrid");
