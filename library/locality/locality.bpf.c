/* SPDX-License-Identifier: GPL-2.0 */
/*
 * locality - keep tasks on the CPU whose cache they warmed.
 *
 * Every CPU has its own queue. A waking task goes back to the CPU it last
 * ran on if that CPU is idle. If the CPU is busy but the task ran within
 * the last `cache_hot_us` (its data is probably still in that CPU's cache)
 * and fewer than `max_queue` tasks already wait there, it queues there and
 * waits. Only a cold task, or one facing a longer queue, moves to an idle
 * CPU (picked by the kernel's topology-aware default, so a nearby core is
 * preferred). A CPU that runs dry takes work from another CPU's queue only
 * when that queue holds at least `steal_depth` tasks, so a single waiting
 * task keeps its warm cache instead of being pulled away.
 *
 * Works well when: cache-heavy workloads (databases, in-memory analytics,
 * compilers with big working sets, message passing between a few threads)
 * where a migration costs more than a short wait.
 * Costs: CPUs may sit idle while a hot task waits for its busy CPU (up to
 * one slice), so raw throughput and wakeup latency can be worse than with
 * eager balancing; no weights or priorities.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/* A task that ran this recently is cache-hot and prefers to wait for its CPU, in microseconds. */
SCX_PARAM(u64, cache_hot_us, 5000);
/* A hot task queues on its busy CPU only while fewer than this many tasks wait there. */
SCX_PARAM(u32, max_queue, 2);
/* A CPU that runs dry steals only from a queue at least this deep. */
SCX_PARAM(u32, steal_depth, 2);

u64 stat_stay_idle;  /* wakeups back on their idle previous CPU */
u64 stat_stay_hot;   /* hot wakeups queued on their busy previous CPU */
u64 stat_migrated;   /* wakeups moved to another idle CPU */
u64 stat_stolen;     /* tasks taken from another CPU's queue */

UEI_DEFINE(uei);

struct task_ctx {
	u64 last_ran; /* when it last stopped running */
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

s32 BPF_STRUCT_OPS(locality_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	u64 slice = slice_us * NSEC_PER_USEC;
	struct task_ctx *tctx;
	bool is_idle = false;
	s32 cpu;

	if (bpf_cpumask_test_cpu(prev_cpu, p->cpus_ptr)) {
		/* its previous CPU is free: nothing beats going home */
		if (scx_bpf_test_and_clear_cpu_idle(prev_cpu)) {
			stat_add(&stat_stay_idle, 1);
			scx_insert(p, SCX_DSQ_LOCAL, slice, 0);
			return prev_cpu;
		}
		/* busy, but the cache is still warm and the wait is short */
		tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
		if (tctx && scx_now() - tctx->last_ran < cache_hot_us * NSEC_PER_USEC &&
		    scx_bpf_dsq_nr_queued((u64)prev_cpu) < (s32)max_queue) {
			stat_add(&stat_stay_hot, 1);
			return prev_cpu; /* enqueue() puts it on prev_cpu's queue */
		}
	}
	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle) {
		stat_add(&stat_migrated, 1);
		scx_insert(p, SCX_DSQ_LOCAL, slice, 0);
	}
	return cpu;
}

void BPF_STRUCT_OPS(locality_enqueue, struct task_struct *p, u64 enq_flags)
{
	/* the CPU the task sits on now: always one it is allowed on */
	s32 cpu = scx_bpf_task_cpu(p);

	scx_insert(p, (u64)cpu, slice_us * NSEC_PER_USEC, enq_flags);
	scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

void BPF_STRUCT_OPS(locality_dispatch, s32 cpu, struct task_struct *prev)
{
	u32 nr = nr_cpus(), victim;
	s32 i;

	if (scx_move_to_local((u64)cpu))
		return;
	/* nearest CPUs (by number) first: often the same core or cache */
	bpf_for(i, 1, nr) {
		victim = ((u32)cpu + (u32)i) % nr;
		if (scx_bpf_dsq_nr_queued((u64)victim) >= (s32)steal_depth &&
		    scx_move_to_local((u64)victim)) {
			stat_add(&stat_stolen, 1);
			return;
		}
	}
}

void BPF_STRUCT_OPS(locality_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);

	if (tctx)
		tctx->last_ran = scx_now();
}

s32 BPF_STRUCT_OPS(locality_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	return scx_task_storage_init(&task_ctxs, p);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(locality_init)
{
	return scx_create_dsqs(nr_cpus()); /* DSQ i is CPU i's queue */
}

void BPF_STRUCT_OPS(locality_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(locality_ops,
	       .select_cpu = (void *)locality_select_cpu,
	       .enqueue = (void *)locality_enqueue,
	       .dispatch = (void *)locality_dispatch,
	       .stopping = (void *)locality_stopping,
	       .init_task = (void *)locality_init_task,
	       .init = (void *)locality_init,
	       .exit = (void *)locality_exit,
	       .name = "locality");
