/* SPDX-License-Identifier: GPL-2.0 */
/*
 * central - one CPU makes every scheduling decision.
 *
 * All tasks wait in one queue. Only the central CPU (`central_cpu`) takes
 * tasks out of it: for itself, and for every other CPU that has asked for
 * work. A CPU that runs dry raises its "wants work" flag and pokes the
 * central CPU, which walks the queue, hands the first task allowed on that
 * CPU straight to that CPU's local queue and wakes it. Tasks pinned to a
 * single CPU (per-CPU kernel threads) skip the central queue.
 *
 * Works well when: the policy is expensive or must see the whole picture
 * (one place to implement global ordering, admission control or a
 * userspace-driven plan), and on machines where most CPUs should just run
 * their task undisturbed (the others never make decisions themselves).
 * Costs: the central CPU spends time deciding for everyone and its own
 * tasks get preempted whenever another CPU asks for work; a CPU that runs
 * dry waits for the central CPU's round trip (slower wakeups); one CPU's
 * decisions do not scale to hundreds of CPUs.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define CENTRAL_DSQ 0

/* The CPU that makes the decisions (CPU 0 if this one does not exist). */
SCX_PARAM(u32, central_cpu, 0);
/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 10000);

u64 stat_placed;     /* tasks the central CPU handed to another CPU */
u64 stat_self;       /* tasks the central CPU took for itself */
u64 stat_requests;   /* times a CPU ran dry and asked for work */
u64 stat_pinned;     /* single-CPU tasks queued on their own CPU */

UEI_DEFINE(uei);

/* Per CPU: 1 while it waits for the central CPU to give it work. */
u32 wants_work[MAX_CPUS];
/* How many CPUs wait (racy hint: only decides how hard to poke). */
u32 nr_waiting;

static __always_inline s32 the_central_cpu(void)
{
	return central_cpu < nr_cpus() ? (s32)central_cpu : 0;
}

/* Hand the first queued task allowed on @cpu to @cpu's local queue. */
static __always_inline bool place_on(s32 cpu)
{
	struct task_struct *p;

	bpf_for_each(scx_dsq, p, CENTRAL_DSQ, 0) {
		if (!bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		if (scx_bpf_dsq_move(&___it, p, SCX_DSQ_LOCAL_ON | cpu, 0))
			return true;
	}
	return false;
}

s32 BPF_STRUCT_OPS(central_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	/* placement is the central CPU's job: stay put until it decides */
	return prev_cpu;
}

void BPF_STRUCT_OPS(central_enqueue, struct task_struct *p, u64 enq_flags)
{
	s32 central = the_central_cpu();

	if (p->nr_cpus_allowed == 1) {
		stat_add(&stat_pinned, 1);
		scx_insert(p, SCX_DSQ_LOCAL, slice_us * NSEC_PER_USEC, enq_flags);
		return;
	}
	scx_insert(p, CENTRAL_DSQ, slice_us * NSEC_PER_USEC, enq_flags);
	/*
	 * Someone is waiting for work: interrupt the central CPU so it hands
	 * this task out now. Otherwise only wake it if it is idle.
	 */
	scx_bpf_kick_cpu(central, nr_waiting ? SCX_KICK_PREEMPT : SCX_KICK_IDLE);
}

void BPF_STRUCT_OPS(central_dispatch, s32 cpu, struct task_struct *prev)
{
	s32 central = the_central_cpu(), i;

	if (cpu < 0 || cpu >= MAX_CPUS)
		return;

	if (cpu != central) {
		/* ran dry: ask the central CPU for work */
		if (__sync_val_compare_and_swap(&wants_work[cpu], 0, 1) == 0)
			__sync_fetch_and_add(&nr_waiting, 1);
		stat_add(&stat_requests, 1);
		if (scx_bpf_dsq_nr_queued(CENTRAL_DSQ) > 0)
			scx_bpf_kick_cpu(central, SCX_KICK_PREEMPT);
		return;
	}

	/* the central CPU: serve the CPUs that asked, then itself */
	bpf_for(i, 0, nr_cpus()) {
		if (i == central || !wants_work[i])
			continue;
		if (!place_on(i))
			continue;
		if (__sync_val_compare_and_swap(&wants_work[i], 1, 0) == 1)
			__sync_fetch_and_sub(&nr_waiting, 1);
		stat_add(&stat_placed, 1);
		scx_bpf_kick_cpu(i, SCX_KICK_IDLE);
	}
	if (scx_move_to_local(CENTRAL_DSQ))
		stat_add(&stat_self, 1);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(central_init)
{
	return scx_bpf_create_dsq(CENTRAL_DSQ, -1);
}

void BPF_STRUCT_OPS(central_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(central_ops,
	       .select_cpu = (void *)central_select_cpu,
	       .enqueue = (void *)central_enqueue,
	       .dispatch = (void *)central_dispatch,
	       .init = (void *)central_init,
	       .exit = (void *)central_exit,
	       .name = "central");
