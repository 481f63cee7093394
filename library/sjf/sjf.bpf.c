/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sjf - shortest job first, for batches of jobs of uneven length.
 *
 * Jobs wait in one queue ordered by remaining expected time (expected minus
 * CPU time used so far; 0 once past the estimate), ties broken by spawn
 * order, so of equal jobs the one that has run the most stays ahead and each
 * job runs to completion instead of sharing the CPU round-robin. The
 * expected length, the queue, the system lane for short-burst tasks, keeping
 * the running job and the starvation guard are the job-length core's
 * (bpf-templates/scx_joblen.bpf.h): lengths come from scx-job-hints (job_lens
 * at exec, the `job_hints` map by task-name prefix), a batch name such as
 * job_S001_07 (units of `unit_us`), else the task's CPU bursts.
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

#define SYS_DSQ 0 /* short-burst tasks, FIFO, served first */
#define JOB_DSQ 1 /* everything else, shortest remaining first */

/* Slice for jobs and CPU-bound tasks, in microseconds. */
SCX_PARAM(u64, slice_us, 20000);
/* CPU time one size unit of a job name stands for, in microseconds. */
SCX_PARAM(u64, unit_us, 10000);
/* Tasks of unknown length with shorter CPU bursts use the system lane (with this slice), in microseconds. */
SCX_PARAM(u64, sys_burst_us, 2000);
/* Starvation guard: a queued task runs once it has waited this long, in milliseconds. */
SCX_PARAM(u32, max_wait_ms, 1000);

u64 stat_sys;        /* enqueues to the system lane */
u64 stat_hinted;     /* enqueues of jobs sized by a hint (job_lens or job_hints) */
u64 stat_named;      /* enqueues of jobs sized by their name */
u64 stat_history;    /* enqueues of CPU-bound tasks sized by history */

UEI_DEFINE(uei);

#include "scx_joblen.bpf.h"

/* The queue order: shortest remaining expected time first. */
static __always_inline u64 job_order(u64 expected, u64 run)
{
	return remaining_ns(expected, run);
}

s32 BPF_STRUCT_OPS(sjf_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	return joblen_select_cpu(p, prev_cpu, wake_flags);
}

void BPF_STRUCT_OPS(sjf_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 key;

	if (lane_enqueue(p, enq_flags, &key))
		scx_insert_vtime(p, JOB_DSQ, slice_us * NSEC_PER_USEC, key, enq_flags);
	else
		scx_insert(p, SYS_DSQ, sys_burst_us * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(sjf_dispatch, s32 cpu, struct task_struct *prev)
{
	joblen_dispatch(cpu, prev);
}

void BPF_STRUCT_OPS(sjf_running, struct task_struct *p)
{
	joblen_running(p, task_ctx(p));
}

void BPF_STRUCT_OPS(sjf_stopping, struct task_struct *p, bool runnable)
{
	joblen_stopping(p, task_ctx(p), runnable);
}

s32 BPF_STRUCT_OPS(sjf_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	return joblen_init_task(p);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(sjf_init)
{
	return joblen_init();
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
