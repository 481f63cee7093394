/* SPDX-License-Identifier: GPL-2.0 */
/*
 * edf - earliest deadline first, with deadlines from weight and run length.
 *
 * When a task becomes ready it gets a deadline: now plus a relative
 * deadline. The relative deadline is `deadline_us` plus `run_pct` percent of
 * the task's average run length (CPU time per turn, exponentially weighted),
 * scaled by 100 / weight - so short-running tasks and high-priority (low
 * nice) tasks get tight deadlines, CPU hogs and nice tasks loose ones. All
 * tasks wait in one queue ordered by deadline and a free CPU always runs the
 * earliest. Because deadlines are absolute times, a task with a loose
 * deadline still gets its turn once the clock passes it: nobody starves.
 * The scheduler counts how often a task got the CPU after its deadline.
 *
 * Works well when: soft real-time mixes (media, control loops, request
 * handling) beside background work: latency follows the deadline rule
 * instead of arrival order, with bounded delay for everyone.
 * Costs: not hard real-time - no admission control, so with too much work
 * deadlines are missed (see stat_missed); the run-length estimate lags
 * when a task changes behaviour; one shared queue.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define EDF_DSQ 0

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/* Base relative deadline at nice 0, in microseconds. */
SCX_PARAM(u64, deadline_us, 10000);
/* How much of its average run length is added to a task's relative deadline, in percent. */
SCX_PARAM(u32, run_pct, 100);

u64 stat_enqueued;   /* tasks queued with a deadline */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_dispatched; /* tasks moved from the queue to a CPU */
u64 stat_missed;     /* tasks that got a CPU after their deadline */

UEI_DEFINE(uei);

struct task_ctx {
	u64 deadline;   /* absolute, ns */
	u64 avg_run_ns; /* CPU time per turn, exponentially weighted */
	u64 started_at; /* when it last got a CPU */
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

static __always_inline struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

/* A new absolute deadline for @p, ready at @now. */
static __always_inline u64 new_deadline(struct task_struct *p,
					struct task_ctx *tctx, u64 now)
{
	u64 rel = deadline_us * NSEC_PER_USEC;

	if (tctx)
		rel += tctx->avg_run_ns * run_pct / 100;
	return now + weight_scale(rel, p->scx.weight);
}

s32 BPF_STRUCT_OPS(edf_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	struct task_ctx *tctx;
	s32 cpu;

	if (scx_select_cpu_direct(p, prev_cpu, wake_flags, slice_us * NSEC_PER_USEC, &cpu)) {
		/* it runs now: its deadline counts from now */
		tctx = task_ctx(p);
		if (tctx)
			tctx->deadline = new_deadline(p, tctx, scx_now());
		stat_add(&stat_direct, 1);
	}
	return cpu;
}

void BPF_STRUCT_OPS(edf_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 deadline = new_deadline(p, tctx, scx_now());

	if (tctx)
		tctx->deadline = deadline;
	stat_add(&stat_enqueued, 1);
	scx_insert_vtime(p, EDF_DSQ, slice_us * NSEC_PER_USEC, deadline,
			 enq_flags);
}

void BPF_STRUCT_OPS(edf_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_move_to_local(EDF_DSQ))
		stat_add(&stat_dispatched, 1);
}

void BPF_STRUCT_OPS(edf_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 now = scx_now();

	if (!tctx)
		return;
	tctx->started_at = now;
	if (tctx->deadline && (s64)(now - tctx->deadline) > 0)
		stat_add(&stat_missed, 1);
}

void BPF_STRUCT_OPS(edf_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);

	if (tctx && tctx->started_at)
		tctx->avg_run_ns = ewma(tctx->avg_run_ns, scx_now() - tctx->started_at);
}

s32 BPF_STRUCT_OPS(edf_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	return scx_task_storage_init(&task_ctxs, p);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(edf_init)
{
	return scx_bpf_create_dsq(EDF_DSQ, -1);
}

void BPF_STRUCT_OPS(edf_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(edf_ops,
	       .select_cpu = (void *)edf_select_cpu,
	       .enqueue = (void *)edf_enqueue,
	       .dispatch = (void *)edf_dispatch,
	       .running = (void *)edf_running,
	       .stopping = (void *)edf_stopping,
	       .init_task = (void *)edf_init_task,
	       .init = (void *)edf_init,
	       .exit = (void *)edf_exit,
	       .name = "edf");
