/* SPDX-License-Identifier: GPL-2.0 */
/* no_ops - a BPF object without a struct_ops map (the loader must refuse it). */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

SCX_PARAM(u32, knob, 1);
u64 stat_hits;

SEC("syscall")
int noop(void *ctx)
{
	stat_add(&stat_hits, knob);
	return 0;
}
