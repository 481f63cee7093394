/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sjf - shortest job first, for batches of jobs of uneven length.
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
 * Jobs with a known length wait in one queue ordered by remaining expected
 * time (expected minus CPU time used so far; 0 once past the estimate), ties
 * broken by spawn order: the job that has run the most of equal jobs stays
 * ahead, so each job runs to completion instead of sharing the CPU
 * round-robin with its equals.
 * CPU-bound tasks without a known length join the same queue, ordered by
 * their history. Tasks whose bursts stay short (shells, daemons, kernel
 * threads, anything interactive) go to a first-come-first-served system lane
 * that is served first; their slice is that short burst limit, so a task
 * that turns into a CPU hog drops to the job queue within one slice.
 * When a slice ends, the running job keeps the CPU if it is still ahead of
 * every queued job (it is not requeued behind its equals).
 * Starvation guard: a task of the job queue that has waited more than
 * `max_wait_ms` is run by the next free CPU (looking at the 32 tasks at the
 * back of the queue).
 *
 * Works well when: a batch of CPU-bound jobs with known or guessable sizes,
 * and mean completion time (how long each job waits for its result) matters:
 * the short jobs all finish early.
 * Costs: the longest job finishes last (makespan can exceed fair sharing or
 * LJF); wrong hints mislead it; under a steady stream of short jobs a long
 * one only advances through the starvation guard; the system lane trusts
 * any task with short bursts.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#ifndef ENOMEM
#define ENOMEM 12
#endif

#define SYS_DSQ 0 /* short-burst tasks, FIFO, served first */
#define JOB_DSQ 1 /* everything else, ordered by expected length */
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

/*
 * @p's place in the job queue, counting @extra ns of CPU time not charged
 * yet (the current run of a task still on a CPU). False: it belongs to the
 * system lane.
 */
static __always_inline bool job_key(struct task_ctx *tctx, u64 extra, u64 *key)
{
	u64 est;

	if (tctx->source != SRC_HISTORY) {
		*key = order_key(remaining_ns(tctx, extra), tctx->seq);
		return true;
	}
	est = MAX(tctx->avg_burst_ns, tctx->burst_ns + extra);
	if (est < sys_burst_us * NSEC_PER_USEC)
		return false;
	*key = order_key(est, tctx->seq);
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

s32 BPF_STRUCT_OPS(sjf_select_cpu, struct task_struct *p, s32 prev_cpu,
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

void BPF_STRUCT_OPS(sjf_enqueue, struct task_struct *p, u64 enq_flags)
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

void BPF_STRUCT_OPS(sjf_dispatch, s32 cpu, struct task_struct *prev)
{
	if (rescue_starved(cpu))
		return;
	if (scx_move_to_local(SYS_DSQ))
		return;
	if (prev && keep_running(prev))
		return;
	scx_move_to_local(JOB_DSQ);
}

void BPF_STRUCT_OPS(sjf_running, struct task_struct *p)
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

void BPF_STRUCT_OPS(sjf_stopping, struct task_struct *p, bool runnable)
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

s32 BPF_STRUCT_OPS(sjf_init_task, struct task_struct *p,
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

s32 BPF_STRUCT_OPS_SLEEPABLE(sjf_init)
{
	s32 ret = scx_bpf_create_dsq(SYS_DSQ, -1);

	if (ret)
		return ret;
	return scx_bpf_create_dsq(JOB_DSQ, -1);
}

void BPF_STRUCT_OPS(sjf_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(sjf_ops,
	       .select_cpu = (void *)sjf_select_cpu,
	       .enqueue = (void *)sjf_enqueue,
	       .dispatch = (void *)sjf_dispatch,
	       .running = (void *)sjf_running,
	       .stopping = (void *)sjf_stopping,
	       .init_task = (void *)sjf_init_task,
	       .init = (void *)sjf_init,
	       .exit = (void *)sjf_exit,
	       .name = "sjf");
