/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ljf - longest job first, to finish a batch of uneven jobs sooner.
 *
 * Jobs wait in one queue ordered longest first, ties broken by spawn order,
 * so the long jobs start at once and the short jobs fill the other CPUs
 * around them; a job that runs past its estimate counts as at least as long
 * as it has run. The expected length, the queue, the system lane for
 * short-burst tasks, keeping the running job (each job runs to completion)
 * and the starvation guard are the job-length core's
 * (bpf-templates/scx_joblen.bpf.h): lengths come from scx-job-hints (job_lens
 * at exec, the `job_hints` map by task-name prefix), a batch name such as
 * job_L039_00 (units of `unit_us`), else the task's CPU bursts.
 *
 * Works well when: a batch with one or a few long jobs and many short ones,
 * where the time until the whole batch is done (makespan) matters: starting
 * the long job first keeps it off the critical path (the classic LPT rule).
 * Costs: short jobs wait behind long ones, so mean completion time is worse
 * than SJF; wrong hints mislead it; equally long CPU hogs of unknown length
 * run one after another (the later ones only through the starvation guard);
 * the system lane trusts any task with short bursts.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define SYS_DSQ 0 /* short-burst tasks, FIFO, served first */
#define JOB_DSQ 1 /* everything else, longest expected length first */

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

#define LEN_MAX (1ULL << 50) /* about 13 days, in ns */

/* The queue order: longest first (LEN_MAX - length); past its estimate a job is as long as it has run. */
static __always_inline u64 job_order(u64 expected, u64 run)
{
	return LEN_MAX - MIN(MAX(expected, run), LEN_MAX);
}

void BPF_STRUCT_OPS(ljf_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

/* every callback but .exit is the job-length core's (scx_joblen.bpf.h) */
SCX_OPS_DEFINE(ljf_ops,
	       .select_cpu = (void *)joblen_select_cpu,
	       .enqueue = (void *)joblen_enqueue,
	       .dispatch = (void *)joblen_dispatch,
	       .running = (void *)joblen_running,
	       .stopping = (void *)joblen_stopping,
	       .init_task = (void *)joblen_init_task,
	       .init = (void *)joblen_init,
	       .exit = (void *)ljf_exit,
	       .name = "ljf");
