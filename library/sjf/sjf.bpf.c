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

void BPF_STRUCT_OPS(sjf_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

/* every callback but .exit is the job-length core's (scx_joblen.bpf.h) */
SCX_OPS_DEFINE(sjf_ops,
	       .select_cpu = (void *)joblen_select_cpu,
	       .enqueue = (void *)joblen_enqueue,
	       .dispatch = (void *)joblen_dispatch,
	       .running = (void *)joblen_running,
	       .stopping = (void *)joblen_stopping,
	       .init_task = (void *)joblen_init_task,
	       .init = (void *)joblen_init,
	       .exit = (void *)sjf_exit,
	       .name = "sjf");
