/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rr - round-robin with a slice that shrinks as the queue grows.
 *
 * All runnable tasks wait in one first-in-first-out queue. A task runs for a
 * slice, then goes to the back of the queue. The slice is the target latency
 * divided by the number of waiting tasks, kept between `min_slice_us` and
 * `slice_us`: with few tasks each runs long (fewer switches), with many tasks
 * every one still gets a turn within about `target_latency_us`. A task waking
 * up while a CPU is idle runs there at once.
 *
 * Works well when: many similar tasks that should all make steady progress
 * (test suites, worker pools, time-sharing), where no task has a known
 * length or priority.
 * Costs: no weights (nice is ignored) and no memory of past use - a task
 * that sleeps a lot gets no more than one that never sleeps; short slices
 * under load mean more context switches and colder caches; a batch of jobs
 * all finish late because they share the CPU until the end.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define RR_DSQ 0

/* Longest slice, used when few tasks wait, in microseconds. */
SCX_PARAM(u64, slice_us, 10000);
/* Shortest slice, however long the queue, in microseconds. */
SCX_PARAM(u64, min_slice_us, 1000);
/* Every waiting task should get a turn within about this, in microseconds. */
SCX_PARAM(u64, target_latency_us, 20000);

u64 stat_enqueued;   /* tasks put at the back of the queue */
u64 stat_requeued;   /* ... of which had used up their slice (not wakeups) */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_dispatched; /* tasks moved from the queue to a CPU */

UEI_DEFINE(uei);

/* Slice for the next turn: target latency shared among those waiting. */
static __always_inline u64 rr_slice(void)
{
	s32 queued = scx_bpf_dsq_nr_queued(RR_DSQ);
	u64 slice = target_latency_us / (queued > 0 ? (u64)queued + 1 : 1);

	if (slice > slice_us)
		slice = slice_us;
	if (slice < min_slice_us)
		slice = min_slice_us;
	return slice * NSEC_PER_USEC;
}

s32 BPF_STRUCT_OPS(rr_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	return scx_select_cpu_stat(p, prev_cpu, wake_flags, rr_slice(), &stat_direct);
}

void BPF_STRUCT_OPS(rr_enqueue, struct task_struct *p, u64 enq_flags)
{
	stat_add(&stat_enqueued, 1);
	if (!(enq_flags & SCX_ENQ_WAKEUP))
		stat_add(&stat_requeued, 1);
	scx_insert(p, RR_DSQ, rr_slice(), enq_flags);
}

void BPF_STRUCT_OPS(rr_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_move_to_local(RR_DSQ))
		stat_add(&stat_dispatched, 1);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(rr_init)
{
	return scx_bpf_create_dsq(RR_DSQ, -1);
}

void BPF_STRUCT_OPS(rr_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(rr_ops,
	       .select_cpu = (void *)rr_select_cpu,
	       .enqueue = (void *)rr_enqueue,
	       .dispatch = (void *)rr_dispatch,
	       .init = (void *)rr_init,
	       .exit = (void *)rr_exit,
	       .name = "rr");
