/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fifo - one global first-in-first-out queue for every task.
 *
 * Every runnable task goes to the shared global queue and CPUs take tasks
 * from it in arrival order, each for `slice_us`. A task that wakes up on an
 * idle CPU goes straight to that CPU's local queue, skipping the global one.
 *
 * Works well when: a handful of similar CPU-bound jobs, throughput matters
 * more than fairness, few CPUs (one queue is cheap to share).
 * Costs: no priorities and no fairness - a burst of busy tasks delays an
 * interactive one by up to (queue length x slice); one shared queue becomes
 * a point of contention on large machines.
 *
 * This is the starting point for new schedulers: copy it, keep the shape
 * (params, stats, callbacks, exit record, ops table last).
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

/* Time slice each task gets when it is picked, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);

u64 stat_enqueued;     /* tasks put on the global queue */
u64 stat_direct;       /* wakeups sent straight to an idle CPU */
u64 stat_slice_ns;     /* total slice time handed out (÷ picks = the slice in use) */

UEI_DEFINE(uei);

s32 BPF_STRUCT_OPS(fifo_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);

	/* An idle CPU was found: run there right away, no queueing. */
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
