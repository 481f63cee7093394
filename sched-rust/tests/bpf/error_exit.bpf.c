/* SPDX-License-Identifier: GPL-2.0 */
/*
 * error_exit - VM fixture: calls scx_bpf_error() after `fail_after` enqueues
 * (expect loader exit 11, kind "error", message "error_exit: giving up after N").
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

SCX_PARAM(u64, fail_after, 200);

u64 stat_enqueued;

UEI_DEFINE(uei);

void BPF_STRUCT_OPS(ee_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 n = __sync_fetch_and_add(&stat_enqueued, 1) + 1;

	if (n == fail_after)
		scx_bpf_error("error_exit: giving up after %llu", n);
	scx_insert(p, SCX_DSQ_GLOBAL, 5000 * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(ee_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(ee_ops,
	       .enqueue = (void *)ee_enqueue,
	       .exit = (void *)ee_exit,
	       .name = "error_exit");
