/* SPDX-License-Identifier: GPL-2.0 */
/*
 * params_test - a global-FIFO scheduler carrying one parameter of every kind
 * the loader supports, counters in .bss and .data, a counter array and an
 * unsupported (array) parameter. Test fixture for scx-loader's BTF decoding;
 * loadable in the sandbox VM as well (behaves like fifo).
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

enum pt_mode {
	PT_MODE_NEG = -1,
	PT_MODE_GLOBAL = 0,
	PT_MODE_LOCAL = 1,
};

SCX_PARAM(u64, slice_us, 5000);
SCX_PARAM(u32, nr_queues, 4);
SCX_PARAM(u16, weight, 100);
SCX_PARAM(u8, level, 3);
SCX_PARAM(s8, nice_bias, -5);
SCX_PARAM(s32, offset_us, -1000);
SCX_PARAM(s64, big_signed, -9000000000LL);
SCX_PARAM(bool, verbose, true);
SCX_PARAM(enum pt_mode, mode, PT_MODE_LOCAL);
const volatile u32 cpu_weights[4] = { 1, 2, 3, 4 }; /* not settable: array */

u64 stat_enqueued;          /* .bss */
u64 stat_direct;            /* .bss */
u64 stat_seeded = 42;       /* .data (initialised) */
u32 stat_small;             /* 32-bit counter */
u64 stat_per_queue[4];      /* counter array */
u64 not_a_stat;             /* ignored: no stat_ prefix */

UEI_DEFINE(uei);

s32 BPF_STRUCT_OPS(pt_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);

	if (is_idle && mode == PT_MODE_LOCAL) {
		stat_add(&stat_direct, 1);
		scx_insert(p, SCX_DSQ_LOCAL, slice_us * NSEC_PER_USEC, 0);
	}
	return cpu;
}

void BPF_STRUCT_OPS(pt_enqueue, struct task_struct *p, u64 enq_flags)
{
	u32 q = (u32)p->pid % 4;

	stat_add(&stat_enqueued, 1);
	stat_add(&stat_per_queue[q & 3], 1);
	__sync_fetch_and_add(&stat_small, 1);
	if (verbose && level > 200 && nice_bias < -100 && offset_us > 0 &&
	    big_signed > 0 && weight == 0 && nr_queues == 0 && cpu_weights[0] == 9)
		not_a_stat++;
	scx_insert(p, SCX_DSQ_GLOBAL, slice_us * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(pt_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(pt_ops,
	       .select_cpu = (void *)pt_select_cpu,
	       .enqueue = (void *)pt_enqueue,
	       .exit = (void *)pt_exit,
	       .timeout_ms = 5000,
	       .name = "params_test");
