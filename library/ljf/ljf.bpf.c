/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ljf - longest job first, to finish a batch of uneven jobs sooner.
 *
 * Each task gets an expected length, from the first source that knows it:
 *   1. the `job_hints` map: the longest prefix of the task name (comm) with
 *      an entry gives its expected runtime in ns (a userspace part fills it);
 *   2. the task name, if it follows the batch scheme `<role>_<C><UUU>_<NN>`
 *      (job_L039_00, job_S001_07, cc1_L012_034): UUU size units of
 *      `unit_us` each;
 *   3. otherwise its observed history: the longer of its average CPU burst
 *      (CPU time between wakeups, exponentially weighted) and its current
 *      burst.
 * Jobs wait in one queue ordered longest first, ties broken by spawn order,
 * so the long jobs start at once and the short jobs fill the other CPUs
 * around them. A job that runs past its estimate counts as at least as long
 * as it has run so far. When a slice ends, the running job keeps the CPU if
 * it is still ahead of every queued job, so each job runs to completion
 * instead of sharing the CPU round-robin with its equals. CPU-bound tasks
 * without a known length join the same queue, ordered by their history.
 * Tasks whose bursts stay short (shells, daemons, kernel threads, anything
 * interactive) go to a first-come-first-served system lane that is served
 * first; their slice is that short burst limit, so a task that turns into a
 * CPU hog drops to the job queue within one slice. Starvation guard: a task
 * of the job queue that has waited more than `max_wait_ms` is run by the
 * next free CPU (looking at the 32 tasks at the back of the queue).
 *
 * Works well when: a batch with one or a few long jobs and many short ones,
 * where the time until the whole batch is done (makespan) matters: starting
 * the long job first keeps it off the critical path (the classic LPT rule).
 * Costs: short jobs wait behind long ones, so mean completion time is worse
 * than SJF; wrong hints mislead it; equally long CPU hogs of unknown length
 * run one after another (the later ones only through the starvation guard);
 * the system lane trusts any task with short bursts.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#ifndef ENOMEM
#define ENOMEM 12
#endif

#define SYS_DSQ 0 /* short-burst tasks, FIFO, served first */
#define JOB_DSQ 1 /* everything else, longest expected length first */
#define GUARD_SCAN 32 /* tasks the starvation guard looks at */

/* Slice for jobs and CPU-bound tasks, in microseconds. */
SCX_PARAM(u64, slice_us, 20000);
/* CPU time one size unit of a job name stands for, in microseconds. */
SCX_PARAM(u64, unit_us, 10000);
/*
 * Tasks of unknown length whose CPU bursts stay below this use the system
 * lane (and get it as their slice), in microseconds.
 */
SCX_PARAM(u64, sys_burst_us, 2000);
/* Starvation guard: a queued task runs once it has waited this long, in milliseconds. */
SCX_PARAM(u32, max_wait_ms, 1000);

u64 stat_sys;        /* enqueues to the system lane */
u64 stat_hinted;     /* enqueues of jobs sized by a job_hints entry */
u64 stat_named;      /* enqueues of jobs sized by their name */
u64 stat_history;    /* enqueues of CPU-bound tasks sized by history */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_rescued;    /* waiting jobs run by the starvation guard */
u64 stat_kept;       /* slice ends where the running job stayed ahead of the queue */

UEI_DEFINE(uei);

#include "scx_joblen.bpf.h"

u64 next_seq;
u64 last_guard_check;

/* Longest first: the queue key grows as the length shrinks. */
#define LEN_MAX (1ULL << 50) /* about 13 days, in ns */

static __always_inline u64 inverted(u64 len_ns)
{
	return LEN_MAX - (len_ns < LEN_MAX ? len_ns : LEN_MAX);
}

/* Queue order: inverted length in ~us in the high bits, spawn order in the low 20. */
static __always_inline u64 order_key(u64 len_ns, u64 seq)
{
	return ((len_ns >> 10) << 20) | (seq & 0xfffff);
}

/*
 * @p's place in the job queue, counting @extra ns of CPU time not charged
 * yet (the current run of a task still on a CPU). False: it belongs to the
 * system lane.
 */
static __always_inline bool job_key(struct task_ctx *tctx, u64 extra, u64 *key)
{
	u64 est;

	if (tctx->source != SRC_HISTORY) {
		/* past its estimate: at least as long as it has run */
		*key = order_key(inverted(MAX(tctx->expected_ns,
					      tctx->job_run_ns + extra)),
				 tctx->seq);
		return true;
	}
	est = MAX(tctx->avg_burst_ns, tctx->burst_ns + extra);
	if (est < sys_burst_us * NSEC_PER_USEC)
		return false;
	*key = order_key(inverted(est), tctx->seq);
	return true;
}

static __always_inline void set_slice(struct task_struct *p, u64 slice)
{
#if defined(SCX_HAS_scx_bpf_task_set_slice)
	scx_bpf_task_set_slice(p, slice);
#else
	p->scx.slice = slice;
#endif
}

/*
 * The kernel asks for the next task while the current one (@prev) is still
 * on the CPU and in no queue: if its slice ran out but it is still ahead of
 * everything queued, keep it running instead of switching to the head of
 * the queue. Without this, a job longer than one slice would lose the CPU to
 * an equal job at every slice end (round-robin among equals).
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
	if (!job_key(tctx, scx_now() - tctx->started_at, &key))
		return false;
	bpf_for_each(scx_dsq, head, JOB_DSQ, 0) {
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
 * Starvation guard: scanning from the back of the job queue (at most
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

	if (bpf_iter_scx_dsq_new(&it, JOB_DSQ, SCX_DSQ_ITER_REV)) {
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

s32 BPF_STRUCT_OPS(ljf_select_cpu, struct task_struct *p, s32 prev_cpu,
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

void BPF_STRUCT_OPS(ljf_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 sys_ns = sys_burst_us * NSEC_PER_USEC;
	struct task_ctx *tctx = task_ctx(p);
	u64 key;

	if (!tctx) {
		scx_insert(p, SYS_DSQ, sys_ns, enq_flags);
		return;
	}
	refresh_estimate(p, tctx, enq_flags & SCX_ENQ_WAKEUP);
	tctx->queued_at = scx_now();

	if (!job_key(tctx, 0, &key)) {
		stat_add(&stat_sys, 1);
		scx_insert(p, SYS_DSQ, sys_ns, enq_flags);
		return;
	}
	if (tctx->source == SRC_HINT)
		stat_add(&stat_hinted, 1);
	else if (tctx->source == SRC_NAME)
		stat_add(&stat_named, 1);
	else
		stat_add(&stat_history, 1);
	scx_insert_vtime(p, JOB_DSQ, slice_us * NSEC_PER_USEC, key, enq_flags);
}

void BPF_STRUCT_OPS(ljf_dispatch, s32 cpu, struct task_struct *prev)
{
	if (rescue_starved(cpu))
		return;
	if (scx_move_to_local(SYS_DSQ))
		return;
	if (prev && keep_running(prev))
		return;
	scx_move_to_local(JOB_DSQ);
}

void BPF_STRUCT_OPS(ljf_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (!tctx)
		return;
	/*
	 * A task can rename itself and first run under the new name without an
	 * enqueue (a wakeup sent straight to an idle CPU): notice the new job
	 * here, so the CPU time it runs from now on is charged to it.
	 */
	refresh_estimate(p, tctx, false);
	tctx->started_at = scx_now();
}

void BPF_STRUCT_OPS(ljf_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 used;

	if (!tctx || !tctx->started_at)
		return;
	/* renamed during this run (a new job): the run counts for the new job */
	refresh_estimate(p, tctx, false);
	used = scx_now() - tctx->started_at;
	tctx->burst_ns += used;
	tctx->job_run_ns += used;
	if (!runnable) {
		/* going to sleep: the burst is over, fold it into the average */
		tctx->avg_burst_ns = (tctx->avg_burst_ns * 3 + tctx->burst_ns) / 4;
		tctx->burst_ns = 0;
	}
}

s32 BPF_STRUCT_OPS(ljf_init_task, struct task_struct *p,
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

s32 BPF_STRUCT_OPS_SLEEPABLE(ljf_init)
{
	s32 ret = scx_bpf_create_dsq(SYS_DSQ, -1);

	if (ret)
		return ret;
	return scx_bpf_create_dsq(JOB_DSQ, -1);
}

void BPF_STRUCT_OPS(ljf_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(ljf_ops,
	       .select_cpu = (void *)ljf_select_cpu,
	       .enqueue = (void *)ljf_enqueue,
	       .dispatch = (void *)ljf_dispatch,
	       .running = (void *)ljf_running,
	       .stopping = (void *)ljf_stopping,
	       .init_task = (void *)ljf_init_task,
	       .init = (void *)ljf_init,
	       .exit = (void *)ljf_exit,
	       .name = "ljf");
