/* SPDX-License-Identifier: GPL-2.0 */
/*
 * percpu_steal - one queue per CPU; idle CPUs steal from the busiest.
 *
 * A task is queued on the CPU it was placed on (the kernel's default choice
 * at wakeup: its previous CPU, or an idle one nearby), so it usually runs
 * where its cache is warm, and CPUs do not fight over one shared queue. A
 * CPU that runs out of work looks at every other queue and takes the head
 * of the longest one, if it holds at least `steal_min` tasks. When a task
 * is queued behind a busy CPU while another CPU is idle, the idle one is
 * woken so it can steal at once.
 *
 * Works well when: many CPUs and many short tasks (servers, message
 * passing, build farms) - queueing is CPU-local and cheap, and load still
 * evens out through stealing.
 * Costs: no global order: a task may wait behind a busy CPU's queue while
 * another CPU's queue moves faster (until a steal happens); no weights or
 * priorities; an idle CPU scans every queue, which costs more on machines
 * with hundreds of CPUs.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/* An idle CPU steals only from a queue holding at least this many tasks. */
SCX_PARAM(u32, steal_min, 1);

u64 stat_local;      /* tasks a CPU took from its own queue */
u64 stat_stolen;     /* tasks an idle CPU took from another CPU's queue */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_kicks;      /* idle CPUs woken to steal */

UEI_DEFINE(uei);

s32 BPF_STRUCT_OPS(percpu_steal_select_cpu, struct task_struct *p,
		   s32 prev_cpu, u64 wake_flags)
{
	return scx_select_cpu_stat(p, prev_cpu, wake_flags, slice_us * NSEC_PER_USEC, &stat_direct);
}

void BPF_STRUCT_OPS(percpu_steal_enqueue, struct task_struct *p, u64 enq_flags)
{
	/* the CPU the task sits on is always one it may run on */
	s32 cpu = scx_bpf_task_cpu(p), idle;

	scx_insert(p, (u64)cpu, slice_us * NSEC_PER_USEC, enq_flags);

	/* its CPU is busy: wake an idle one (if any) to come and steal */
	if (!scx_bpf_test_and_clear_cpu_idle(cpu)) {
		idle = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
		if (idle >= 0) {
			scx_bpf_kick_cpu(idle, SCX_KICK_IDLE);
			stat_add(&stat_kicks, 1);
		}
	} else {
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	}
}

void BPF_STRUCT_OPS(percpu_steal_dispatch, s32 cpu, struct task_struct *prev)
{
	s32 i, victim = -1, most = 0, n;

	if (scx_move_to_local((u64)cpu)) {
		stat_add(&stat_local, 1);
		return;
	}
	/* nothing of our own: find the longest other queue */
	bpf_for(i, 0, nr_cpus()) {
		if (i == cpu)
			continue;
		n = scx_bpf_dsq_nr_queued((u64)i);
		if (n > most) {
			most = n;
			victim = i;
		}
	}
	if (victim >= 0 && most >= (s32)steal_min &&
	    scx_move_to_local((u64)victim))
		stat_add(&stat_stolen, 1);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(percpu_steal_init)
{
	return scx_create_dsqs(nr_cpus()); /* DSQ i is CPU i's queue */
}

void BPF_STRUCT_OPS(percpu_steal_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(percpu_steal_ops,
	       .select_cpu = (void *)percpu_steal_select_cpu,
	       .enqueue = (void *)percpu_steal_enqueue,
	       .dispatch = (void *)percpu_steal_dispatch,
	       .init = (void *)percpu_steal_init,
	       .exit = (void *)percpu_steal_exit,
	       .name = "percpu_steal");
