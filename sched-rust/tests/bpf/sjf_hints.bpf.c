/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sjf_hints - shortest (or longest) job first, from userspace runtime hints.
 *
 * Userspace (the scx-job-hints loader) fills the `job_hints` hash map with
 * expected runtimes: key = a task-name (comm) prefix, NUL-padded to 16 bytes;
 * value = expected runtime in ns. A task's hint is the entry for the longest
 * prefix of its comm that has one (e.g. "job_long" matches "job_long_7").
 *
 * Every task goes to one shared vtime-ordered queue keyed by
 * (expected runtime, first-enqueue order): shortest first, or longest first
 * with `ljf=true`. The order key is stable per task, so equal jobs run to
 * completion one after another instead of round-robin.
 *
 * Works well when: a batch of CPU-bound jobs with known sizes (SJF cuts mean
 * completion time, LJF cuts makespan).
 * Costs: pure priority order - under SJF a long job waits while short ones
 * keep arriving; with a short timeout_ms the watchdog may eject the scheduler
 * for a starved task (that is the point of testing it). Up to 15 hash lookups
 * per enqueue (one per prefix length).
 *
 * Test scheduler for sched-rust (scx-loader / scx-job-hints).
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define SHARED_DSQ 0

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/* Longest job first instead of shortest job first. */
SCX_PARAM(bool, ljf, false);
/* Expected runtime of tasks without a hint, in milliseconds. */
SCX_PARAM(u64, default_runtime_ms, 1000);

u64 stat_enqueued;   /* tasks put on the shared queue */
u64 stat_hinted;     /* ... of which had a job hint */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */
u64 stat_dispatched; /* tasks moved from the shared queue to a CPU */

UEI_DEFINE(uei);

/* comm prefix (NUL-padded) -> expected runtime in ns; filled by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, char[COMM_LEN]);
	__type(value, u64);
} job_hints SEC(".maps");

struct task_ctx {
	u64 seq; /* first-enqueue order, stable tie-breaker */
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

u64 next_seq;

/* Expected runtime of @p in ns: longest comm prefix with a hint, else the default. */
static __always_inline u64 expected_runtime(struct task_struct *p, bool *hinted)
{
	char key[COMM_LEN] = {};
	bool ended = false;
	u64 *v;
	int i;

	__builtin_memcpy(key, p->comm, COMM_LEN);
	/* NUL-pad after the first NUL so keys compare equal to userspace's */
	for (i = 0; i < COMM_LEN; i++) {
		if (ended)
			key[i] = 0;
		else if (!key[i])
			ended = true;
	}
	key[COMM_LEN - 1] = 0;

	for (i = COMM_LEN - 1; i > 0; i--) {
		if (!key[i - 1])
			continue; /* prefix shorter than i: tried as a shorter one */
		key[i] = 0;
		v = bpf_map_lookup_elem(&job_hints, key);
		if (v) {
			*hinted = true;
			return *v;
		}
	}
	*hinted = false;
	return default_runtime_ms * NSEC_PER_MSEC;
}

s32 BPF_STRUCT_OPS(sjf_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	return scx_select_cpu_stat(p, prev_cpu, wake_flags, slice_us * NSEC_PER_USEC, &stat_direct);
}

void BPF_STRUCT_OPS(sjf_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;
	bool hinted = false;
	u64 rt_ms, rank, seq = 0;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (tctx) {
		if (!tctx->seq)
			tctx->seq = __sync_fetch_and_add(&next_seq, 1) + 1;
		seq = tctx->seq;
	}

	rt_ms = expected_runtime(p, &hinted) / NSEC_PER_MSEC;
	if (rt_ms > 0xffffffffULL)
		rt_ms = 0xffffffffULL;
	rank = ljf ? 0xffffffffULL - rt_ms : rt_ms;

	stat_add(&stat_enqueued, 1);
	if (hinted)
		stat_add(&stat_hinted, 1);
	scx_insert_vtime(p, SHARED_DSQ, slice_us * NSEC_PER_USEC,
			 (rank << 32) | (seq & 0xffffffffULL), enq_flags);
}

void BPF_STRUCT_OPS(sjf_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_move_to_local(SHARED_DSQ))
		stat_add(&stat_dispatched, 1);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(sjf_init)
{
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

void BPF_STRUCT_OPS(sjf_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(sjf_ops,
	       .select_cpu = (void *)sjf_select_cpu,
	       .enqueue = (void *)sjf_enqueue,
	       .dispatch = (void *)sjf_dispatch,
	       .init = (void *)sjf_init,
	       .exit = (void *)sjf_exit,
	       .name = "sjf_hints");
