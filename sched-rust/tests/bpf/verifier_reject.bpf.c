/* SPDX-License-Identifier: GPL-2.0 */
/*
 * verifier_reject - VM fixture: dereferences a hash-map lookup without a
 * NULL check (expect loader exit 4, stage "load", reason
 * "R0 invalid mem access 'map_value_or_null'" at verifier_reject.bpf.c).
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

UEI_DEFINE(uei);

void BPF_STRUCT_OPS(vr_enqueue, struct task_struct *p, u64 enq_flags)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&counts, &key);

	*v += 1; /* BUG on purpose: v may be NULL */
	scx_insert(p, SCX_DSQ_GLOBAL, 5000 * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(vr_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(vr_ops,
	       .enqueue = (void *)vr_enqueue,
	       .exit = (void *)vr_exit,
	       .name = "verifier_reject");
