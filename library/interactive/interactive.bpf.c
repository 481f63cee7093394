/* SPDX-License-Identifier: GPL-2.0 */
/*
 * interactive - low wakeup latency: sleepers first, CPU hogs wait.
 *
 * The scheduler learns, per task, how much CPU it uses between two sleeps
 * (an exponentially weighted average). A task whose bursts stay under
 * `wake_slice_us` counts as interactive: when it wakes up it joins the wake
 * lane (first come, first served) with a short slice of `wake_slice_us`.
 * Everything else - tasks whose slice ran out, tasks with long bursts -
 * joins the hog lane (first come, first served, slice `slice_us`). A free
 * CPU serves the wake lane first, unless the hog at the head of the hog lane
 * has waited longer than `hog_delay_us` (so hogs never starve, however busy
 * the wake lane is). When an interactive task wakes and no CPU is idle, a
 * CPU running a hog is kicked (`preempt_kick`) to cut the hog's slice short
 * - only a hog that has already run for at least `wake_slice_us`, so every
 * hog makes progress between preemptions - and that CPU takes the wakeup
 * from the wake lane, not another hog.
 *
 * Works well when: desktops, audio/video, request/response servers beside
 * batch work - anything where the p99 wakeup latency of short tasks
 * matters more than the throughput of long ones.
 * Costs: more context switches and colder caches for CPU-bound tasks
 * (they lose the CPU whenever a sleeper wakes); the average-burst rule can
 * be gamed by a task that sleeps briefly and often; nice levels are ignored.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define WAKE_DSQ 0 /* interactive wakeups, FIFO, served first */
#define HOG_DSQ 1  /* everything else, FIFO */

/* Slice of CPU-bound tasks, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/*
 * Slice of woken interactive tasks; also the burst limit under which a task
 * counts as interactive, in microseconds.
 */
SCX_PARAM(u64, wake_slice_us, 1000);
/*
 * Starvation bound of the hog lane: a hog that has waited this long runs
 * before the wake lane, in microseconds.
 */
SCX_PARAM(u64, hog_delay_us, 50000);
/* Preempt a CPU running a hog when an interactive task wakes up and no CPU is idle. */
SCX_PARAM(bool, preempt_kick, true);

u64 stat_boosted;    /* interactive wakeups queued ahead of hogs */
u64 stat_overdue;    /* hogs run before the wake lane (waited > hog_delay_us) */
u64 stat_hog;        /* enqueues of hogs and tasks whose slice ran out */
u64 stat_kicks;      /* CPUs preempted for an interactive wakeup */
u64 stat_direct;     /* wakeups sent straight to an idle CPU */

UEI_DEFINE(uei);

struct task_ctx {
	u64 avg_burst_ns; /* CPU time per wakeup, exponentially weighted */
	u64 burst_ns;     /* CPU time since the last wakeup */
	u64 started_at;   /* when it last got a CPU */
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

/* Per CPU: since when it has been running a hog (0: not running one). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, u32);
	__type(value, u64);
} hog_since SEC(".maps");

static __always_inline struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

static __always_inline bool is_interactive(struct task_ctx *tctx)
{
	u64 limit = wake_slice_us * NSEC_PER_USEC;

	return tctx->avg_burst_ns < limit && tctx->burst_ns < limit;
}

/*
 * Is @cpu running a hog that has had at least one interactive slice of CPU?
 * Hogs younger than that are left alone: kicking them at every wakeup made
 * tasks with medium bursts thrash (measured: hackbench 2-4x slower).
 */
static __always_inline bool preemptible_hog(s32 cpu, u64 now)
{
	u32 key = cpu;
	u64 *since = bpf_map_lookup_elem(&hog_since, &key);

	return since && *since && now - *since >= wake_slice_us * NSEC_PER_USEC;
}

/* Cut short a hog's slice somewhere: the task's own CPU first, else any CPU. */
static __always_inline void kick_a_hog(struct task_struct *p, u64 now)
{
	s32 cpu = scx_bpf_task_cpu(p), i;

	if (preemptible_hog(cpu, now) && bpf_cpumask_test_cpu(cpu, p->cpus_ptr)) {
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		stat_add(&stat_kicks, 1);
		return;
	}
	bpf_for(i, 0, nr_cpus()) {
		if (preemptible_hog(i, now) && bpf_cpumask_test_cpu(i, p->cpus_ptr)) {
			scx_bpf_kick_cpu(i, SCX_KICK_PREEMPT);
			stat_add(&stat_kicks, 1);
			return;
		}
	}
}

s32 BPF_STRUCT_OPS(interactive_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 slice = (tctx && is_interactive(tctx) ? wake_slice_us : slice_us) * NSEC_PER_USEC;

	return scx_select_cpu_stat(p, prev_cpu, wake_flags, slice, &stat_direct);
}

void BPF_STRUCT_OPS(interactive_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 now = scx_now();

	if (tctx && (enq_flags & SCX_ENQ_WAKEUP) && is_interactive(tctx)) {
		stat_add(&stat_boosted, 1);
		scx_insert_vtime(p, WAKE_DSQ, wake_slice_us * NSEC_PER_USEC,
				 now, enq_flags);
		if (preempt_kick)
			kick_a_hog(p, now);
		return;
	}
	stat_add(&stat_hog, 1);
	scx_insert_vtime(p, HOG_DSQ, slice_us * NSEC_PER_USEC, now, enq_flags);
}

/* Has the hog at the head of the hog lane waited longer than hog_delay_us? */
static __always_inline bool hog_overdue(void)
{
	struct task_struct *head;
	bool overdue = false;

	bpf_for_each(scx_dsq, head, HOG_DSQ, 0) {
		overdue = scx_now() - head->scx.dsq_vtime >
			  hog_delay_us * NSEC_PER_USEC;
		break;
	}
	return overdue;
}

void BPF_STRUCT_OPS(interactive_dispatch, s32 cpu, struct task_struct *prev)
{
	if (hog_overdue() && scx_move_to_local(HOG_DSQ)) {
		stat_add(&stat_overdue, 1);
		return;
	}
	if (scx_move_to_local(WAKE_DSQ))
		return;
	scx_move_to_local(HOG_DSQ);
}

void BPF_STRUCT_OPS(interactive_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);
	u32 key = bpf_get_smp_processor_id();
	u64 now = scx_now(), *since;

	if (!tctx)
		return;
	tctx->started_at = now;
	since = bpf_map_lookup_elem(&hog_since, &key);
	if (since)
		*since = is_interactive(tctx) ? 0 : now;
}

void BPF_STRUCT_OPS(interactive_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);
	u32 key = bpf_get_smp_processor_id();
	u64 *since;

	since = bpf_map_lookup_elem(&hog_since, &key);
	if (since)
		*since = 0;
	if (!tctx || !tctx->started_at)
		return;
	tctx->burst_ns += scx_now() - tctx->started_at;
	if (!runnable) {
		/* going to sleep: fold the burst into the average */
		tctx->avg_burst_ns = ewma(tctx->avg_burst_ns, tctx->burst_ns);
		tctx->burst_ns = 0;
	}
}

s32 BPF_STRUCT_OPS(interactive_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	return scx_task_storage_init(&task_ctxs, p);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(interactive_init)
{
	s32 ret = scx_bpf_create_dsq(WAKE_DSQ, -1);

	if (ret)
		return ret;
	return scx_bpf_create_dsq(HOG_DSQ, -1);
}

void BPF_STRUCT_OPS(interactive_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(interactive_ops,
	       .select_cpu = (void *)interactive_select_cpu,
	       .enqueue = (void *)interactive_enqueue,
	       .dispatch = (void *)interactive_dispatch,
	       .running = (void *)interactive_running,
	       .stopping = (void *)interactive_stopping,
	       .init_task = (void *)interactive_init_task,
	       .init = (void *)interactive_init,
	       .exit = (void *)interactive_exit,
	       .name = "interactive");
