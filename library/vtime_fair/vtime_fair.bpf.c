/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vtime_fair - weighted fair sharing by virtual time (nice-aware).
 *
 * Each task carries a virtual runtime: the CPU time it used, scaled by
 * 100 / weight (weight 100 is nice 0; nice -5 is about 335, nice 5 about 29),
 * so a task of twice the weight ages half as fast. All tasks wait in one
 * queue ordered by virtual time and the CPU always goes to the one that has
 * had the least weighted service. A task that slept does not bank unlimited
 * credit: on wakeup its virtual time is raised to at most `max_credit_slices`
 * slices behind the current virtual clock, so it gets ahead of CPU hogs
 * without monopolising the CPU.
 *
 * Works well when: general-purpose desktops and servers, mixed workloads
 * where every task (or nice level) should get its share, nothing starves.
 * Costs: no notion of job length or deadlines - a batch of equal jobs shares
 * the CPUs round-robin, so every job finishes late (mean completion is poor
 * next to SJF/FIFO); one shared queue on many-CPU machines.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define FAIR_DSQ 0

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/* How much idle credit (in slices) a sleeping task may keep on wakeup. */
SCX_PARAM(u32, max_credit_slices, 1);

u64 stat_enqueued;   /* tasks put on the fair queue */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_dispatched; /* tasks moved from the fair queue to a CPU */
u64 stat_clamped;    /* wakeups whose idle credit was cut to the limit */

UEI_DEFINE(uei);

/* The virtual clock: the highest virtual time seen on a CPU so far. */
u64 vtime_now;

struct task_ctx {
	u64 vtime;      /* weighted CPU time received */
	u64 started_at; /* when it last got a CPU */
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

static __always_inline struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

static __always_inline u64 slice_ns(void)
{
	return slice_us * NSEC_PER_USEC;
}

s32 BPF_STRUCT_OPS(vtime_fair_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	return scx_select_cpu_stat(p, prev_cpu, wake_flags, slice_ns(), &stat_direct);
}

void BPF_STRUCT_OPS(vtime_fair_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 vtime = tctx ? tctx->vtime : vtime_now;

	/*
	 * A long sleeper would otherwise come back with a virtual time far in
	 * the past and hold a CPU until it caught up: keep at most the allowed
	 * credit.
	 */
	if (vtime_limit_credit(&vtime, vtime_now, (u64)max_credit_slices * slice_ns())) {
		if (tctx)
			tctx->vtime = vtime;
		stat_add(&stat_clamped, 1);
	}
	stat_add(&stat_enqueued, 1);
	scx_insert_vtime(p, FAIR_DSQ, slice_ns(), vtime, enq_flags);
}

void BPF_STRUCT_OPS(vtime_fair_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_move_to_local(FAIR_DSQ))
		stat_add(&stat_dispatched, 1);
}

void BPF_STRUCT_OPS(vtime_fair_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (!tctx)
		return;
	tctx->started_at = scx_now();
	vtime_advance(&vtime_now, tctx->vtime);
}

void BPF_STRUCT_OPS(vtime_fair_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);

	if (!tctx || !tctx->started_at)
		return;
	/* charge the time used, scaled by the inverse of the task's weight */
	tctx->vtime += weight_scale(scx_now() - tctx->started_at, p->scx.weight);
}

void BPF_STRUCT_OPS(vtime_fair_enable, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	/* new tasks start at the current virtual clock: no head start, no debt */
	if (tctx)
		tctx->vtime = vtime_now;
}

s32 BPF_STRUCT_OPS(vtime_fair_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	return scx_task_storage_init(&task_ctxs, p);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(vtime_fair_init)
{
	return scx_bpf_create_dsq(FAIR_DSQ, -1);
}

void BPF_STRUCT_OPS(vtime_fair_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(vtime_fair_ops,
	       .select_cpu = (void *)vtime_fair_select_cpu,
	       .enqueue = (void *)vtime_fair_enqueue,
	       .dispatch = (void *)vtime_fair_dispatch,
	       .running = (void *)vtime_fair_running,
	       .stopping = (void *)vtime_fair_stopping,
	       .enable = (void *)vtime_fair_enable,
	       .init_task = (void *)vtime_fair_init_task,
	       .init = (void *)vtime_fair_init,
	       .exit = (void *)vtime_fair_exit,
	       .name = "vtime_fair");
