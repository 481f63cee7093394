/* SPDX-License-Identifier: GPL-2.0 */
/* two_ops - two ops tables in one object (tests `--ops` selection). */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

void BPF_STRUCT_OPS(alpha_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_insert(p, SCX_DSQ_GLOBAL, 5000 * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(beta_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_insert(p, SCX_DSQ_GLOBAL, 1000 * NSEC_PER_USEC, enq_flags);
}

SCX_OPS_DEFINE(alpha_ops, .enqueue = (void *)alpha_enqueue, .name = "alpha");
SCX_OPS_DEFINE(beta_ops, .enqueue = (void *)beta_enqueue, .name = "beta");
