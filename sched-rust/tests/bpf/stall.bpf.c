/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stall - VM fixture: enqueue never inserts some tasks, so the watchdog
 * ejects the scheduler (expect loader exit 12, kind "stall").
 * Dropped: the process `stall_pid` (all its threads) and tasks whose comm
 * starts with "stallme"; everything else runs FIFO, so the guest stays
 * usable until the ejection. E.g.
 *   sh -c 'while :; do :; done' & scx-loader run stall.bpf.o \
 *       --param stall_pid=$! --timeout-ms 3000
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

/* tgid whose tasks are never inserted (0: none) */
SCX_PARAM(s32, stall_pid, 0);

u64 stat_enqueued;
u64 stat_dropped;

UEI_DEFINE(uei);

void BPF_STRUCT_OPS(stall_enqueue, struct task_struct *p, u64 enq_flags)
{
	if ((stall_pid && p->tgid == stall_pid) ||
	    (p->comm[0] == 's' && p->comm[1] == 't' && p->comm[2] == 'a' &&
	     p->comm[3] == 'l' && p->comm[4] == 'l' && p->comm[5] == 'm' &&
	     p->comm[6] == 'e')) {
		stat_add(&stat_dropped, 1);
		return; /* never inserted: runnable task stall */
	}
	stat_add(&stat_enqueued, 1);
	scx_insert(p, SCX_DSQ_GLOBAL, 5000 * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(stall_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(stall_ops,
	       .enqueue = (void *)stall_enqueue,
	       .exit = (void *)stall_exit,
	       .name = "stall");
