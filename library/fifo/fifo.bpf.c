/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fifo - one global first-come-first-served queue with long slices.
 *
 * Every runnable task joins the tail of one shared queue; a CPU that needs
 * work takes the task at the head and lets it run for `slice_us` (20 ms by
 * default, long enough that most CPU bursts finish inside one slice). A task
 * that wakes up while some CPU is idle skips the queue and runs there at once.
 *
 * Works well when: a batch of similar CPU-bound jobs on a few CPUs, where
 * finishing jobs in arrival order (and switching rarely) beats sharing the
 * CPUs; jobs spawned longest-first finish at the makespan bound.
 * Costs: no fairness and no priorities - one long job holds a CPU for whole
 * slices while short ones wait behind it, and a wakeup waits up to
 * (queue length x slice) when every CPU is busy. One shared queue is a point
 * of contention on machines with many CPUs.
 *
 * This is also the template for new schedulers (bpf-templates/fifo/fifo.bpf.c
 * is a link to this file): copy it and keep the shape - policy comment,
 * params, stats, callbacks, exit record, ops table last.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

/* Time slice each task gets when it is picked, in microseconds. */
SCX_PARAM(u64, slice_us, 20000);

u64 stat_enqueued;     /* tasks put on the global queue */
u64 stat_direct;       /* wakeups sent straight to an idle CPU */
u64 stat_slice_ns;     /* total slice time handed out (÷ picks = the slice in use) */

UEI_DEFINE(uei);

s32 BPF_STRUCT_OPS(fifo_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);

	/*
	 * An idle CPU was found: run there right away, no queueing. (Spelled
	 * out in this template; other policies call scx_select_cpu_direct()
	 * or scx_select_cpu_stat() from scx_common.bpf.h for this.)
	 */
	if (is_idle) {
		stat_add(&stat_direct, 1);
		stat_add(&stat_slice_ns, slice_us * NSEC_PER_USEC);
		scx_insert(p, SCX_DSQ_LOCAL, slice_us * NSEC_PER_USEC, 0);
	}
	return cpu;
}

void BPF_STRUCT_OPS(fifo_enqueue, struct task_struct *p, u64 enq_flags)
{
	stat_add(&stat_enqueued, 1);
	stat_add(&stat_slice_ns, slice_us * NSEC_PER_USEC);
	scx_insert(p, SCX_DSQ_GLOBAL, slice_us * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(fifo_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(fifo_ops,
	       .select_cpu = (void *)fifo_select_cpu,
	       .enqueue = (void *)fifo_enqueue,
	       .exit = (void *)fifo_exit,
	       .name = "fifo");
