/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_joblen.bpf.h - how long will this job run? Shared by the job-length
 * schedulers (sjf, ljf, hybrid): one place for the estimate, three policies on it.
 *
 * The expected length of a task comes from, in order:
 *   0. the `job_lens` task storage: a length userspace (scx-job-hints) found
 *      for this process from its command line, cgroup or process group /
 *      session when it exec'd (the `joblen_exec` tracepoint below tells it
 *      through the `job_execs` ring buffer); a thread without an entry uses
 *      its thread group leader's. Which rule wins among argv, cgroup, pgid,
 *      sid and comm is decided in userspace (argv > cgroup > pgid > sid >
 *      comm, see sched-rust/schedulers/job-hints);
 *   1. the `job_hints` map: the longest prefix of the task name (comm) with an
 *      entry; userspace fills it (sched-rust's scx-job-hints);
 *   2. the task name, when it follows `<role>_<L|S><units>_<index>`
 *      (e.g. job_L039_00): units x `unit_us`;
 *   3. nothing (SRC_HISTORY): the scheduler falls back on observed CPU bursts.
 * Sources 0 and 1 both count as SRC_HINT (stat_hinted); stat_exec_hinted
 * counts the jobs (task, exec) that took a length from source 0.
 *
 * The second half is the scheduling core the three policies share: one queue
 * ordered by the policy's key (JOB_DSQ, keys in dsq_vtime), wakeups straight
 * to an idle CPU, the running job kept while it is still first, a starvation
 * guard, and the CPU-time accounting the estimate and the keys need. A policy
 * supplies only its order, job_order() or joblen_key(), and says what it adds.
 *
 * The core's callbacks are struct_ops programs defined here, with fixed names,
 * for the policy's SCX_OPS_DEFINE table to point at:
 *   joblen_select_cpu, joblen_dispatch, joblen_init_task, joblen_init  (every policy)
 *   joblen_enqueue, joblen_running, joblen_stopping   (with a system lane only)
 * A policy without a system lane (hybrid) writes its own enqueue, running and
 * stopping around joblen_queued(), joblen_run_start() and joblen_charge().
 * The policy file keeps its .exit (UEI_RECORD) and its ops table, and defines
 * only what it adds (hybrid: .enable). No program is defined here that a
 * policy's table does not use: a struct_ops program outside the object's ops
 * table has nothing to attach to.
 *
 * Include it after scx_common.bpf.h and after declaring
 *   SCX_PARAM(u64, slice_us, ...)   slice of the job queue, in us
 *   SCX_PARAM(u64, unit_us, ...)    CPU time one size unit stands for, in us
 *   SCX_PARAM(u32, max_wait_ms, ...) the starvation guard's limit, in ms
 *   #define JOB_DSQ <id>            the ordered queue
 * With a short-burst system lane (sjf, ljf), also
 *   #define SYS_DSQ <id>            first-come-first-served, served first
 *   SCX_PARAM(u64, sys_burst_us, ...) bursts below this use the lane, in us
 *   u64 stat_sys, stat_hinted, stat_named, stat_history;   (bumped here)
 * and after it define
 *   static __always_inline u64 job_order(u64 expected, u64 run)
 * a job's place in the queue (length-ish ns, lower runs first) from how long
 * it is expected to run and how long it has run; the core turns it into the
 * key, order_key(job_order(...), tctx->seq), and sends tasks whose bursts
 * stay below sys_burst_us to the system lane. Without a system lane (hybrid),
 * define instead
 *   static __always_inline bool joblen_key(struct task_struct *p,
 *           struct task_ctx *tctx, u64 extra, u64 *key)
 * which sets @p's queue key counting @extra ns of CPU time not charged yet
 * (the current run of a task still on a CPU). Keys are
 * order_key(length-ish ns, tctx->seq): lower runs first.
 * To add fields to the per-task context, define SCX_JOBLEN_CTX_EXTRA first
 * (e.g. `#define SCX_JOBLEN_CTX_EXTRA u64 vtime;`).
 *
 * The maps' names, layouts and sizes are the job-hints contract with
 * userspace: scx_job_hints_intf.h, checked below at compile time.
 */
#ifndef __SCX_JOBLEN_BPF_H
#define __SCX_JOBLEN_BPF_H

#ifndef SCX_JOBLEN_CTX_EXTRA
#define SCX_JOBLEN_CTX_EXTRA
#endif

#include "scx_job_hints_intf.h"

#define HINT_RECHECK_NS (100 * NSEC_PER_MSEC)
#define GUARD_SCAN 32 /* tasks the starvation guard looks at */

/* comm prefix (NUL-padded) -> expected runtime in ns; filled by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, char[COMM_LEN]);
	__type(value, u64);
} job_hints SEC(".maps");

/* the declarations above and below are the contract's (sizes from the BTF-style map macros) */
_Static_assert(COMM_LEN == JOB_COMM_LEN, "job_hints key: char[JOB_COMM_LEN]");
_Static_assert(sizeof(*job_hints.max_entries) == JOB_HINTS_MAX_ENTRIES * sizeof(int),
	       "job_hints max_entries is JOB_HINTS_MAX_ENTRIES");
_Static_assert(sizeof(*job_hints.key) == JOB_COMM_LEN, "job_hints key size");
_Static_assert(sizeof(*job_hints.value) == JOB_HINT_VALUE_SIZE, "job_hints value size");

/* What userspace writes into a task's `job_lens` storage: struct job_len (the contract). */
SCX_TASK_STORAGE(job_lens, struct job_len);

_Static_assert(sizeof(struct job_len) == JOB_LEN_SIZE, "struct job_len size");

/*
 * One struct exec_event per exec (userspace matches the new command line)
 * and per thread exit (userspace adds up what each program ran, to learn
 * lengths).
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, JOB_EXECS_BYTES);
} job_execs SEC(".maps");

_Static_assert(sizeof(struct exec_event) == JOB_EXEC_EVENT_SIZE, "struct exec_event size");

u64 stat_execs;        /* execs reported to userspace */
u64 stat_exec_drops;   /* execs not reported: ring buffer full (nobody reading) */
u64 stat_exec_hinted;  /* jobs sized from job_lens (argv/cgroup/pgid rules) */

/* Tell userspace about @p (a JOB_EXEC or JOB_EXIT record); false if the ring buffer is full. */
static __always_inline bool send_job_event(struct task_struct *p, u32 kind)
{
	struct exec_event *e = bpf_ringbuf_reserve(&job_execs, sizeof(*e), 0);

	if (!e) {
		stat_add(&stat_exec_drops, 1);
		return false;
	}
	e->pid = p->pid;
	e->tgid = p->tgid;
	e->kind = kind;
	e->pad = 0;
	/* JOB_EXIT: the thread's CPU time; JOB_EXEC: what ran before the exec, not this job's */
	e->runtime_ns = p->se.sum_exec_runtime;
	bpf_ringbuf_submit(e, 0);
	return true;
}

/*
 * A new program is a new job: forget the old image's length and tell
 * userspace, which matches the new command line and may write a new one.
 * Attached by scx-job-hints (plain scx-loader leaves it unattached).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(joblen_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	bpf_task_storage_delete(&job_lens, p);
	if (send_job_event(p, JOB_EXEC))
		stat_add(&stat_execs, 1);
	return 0;
}

/*
 * A thread ends: report its CPU time, so userspace can record how long each
 * command line ran (learned lengths). Attached by scx-job-hints --learn only.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(joblen_exit, struct task_struct *p)
{
	send_job_event(p, JOB_EXIT);
	return 0;
}

/* The length userspace matched for @p (or its thread group leader); 0 = none. */
static __always_inline u64 exec_hint(struct task_struct *p)
{
	struct job_len *jl = bpf_task_storage_get(&job_lens, p, 0, 0);

	if (!jl)
		jl = bpf_task_storage_get(&job_lens, p->group_leader, 0, 0);
	return jl ? jl->expected_ns : 0;
}

enum len_source { SRC_HISTORY, SRC_HINT, SRC_NAME };

struct task_ctx {
	SCX_JOBLEN_CTX_EXTRA
	u64 seq;          /* spawn order: stable tie-breaker */
	u64 comm[2];      /* the name the estimate below was made for */
	u64 expected_ns;  /* from a hint or the name; 0 = unknown */
	u64 name_ns;      /* length the name stands for; 0 = not a job name */
	u64 hint_at;      /* when job_hints was last consulted */
	u64 exec_ns;      /* length taken from job_lens; 0 = none */
	u32 source;       /* enum len_source */
	u64 job_run_ns;   /* CPU time used since the task took this name */
	u64 avg_burst_ns; /* CPU time per wakeup, exponentially weighted */
	u64 burst_ns;     /* CPU time since the last wakeup */
	u64 started_at;   /* when it last got a CPU */
	u64 queued_at;    /* when it was last queued */
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

static __always_inline struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

/*
 * Expected runtime from job_hints: the entry for the longest prefix of the
 * name, 0 if none. A global (not inlined) function: the verifier checks it
 * once instead of at every call site.
 */
__noinline u64 hint_lookup(const struct comm_buf *name)
{
	u64 *v = comm_prefix_lookup(&job_hints, name);

	return v ? *v : 0;
}

/*
 * Size in units from a name `<role>_<L|S><3+ digits>_<digits>` with a role
 * of 1-4 characters; 0 if the name does not follow the scheme.
 */
__noinline u64 name_units(const struct comm_buf *name)
{
	u32 state = 0, digits = 0, idx_digits = 0;
	u64 units = 0;
	int i;

	if (!name)
		return 0;
	/* unrolled, not bpf_for: the counters below would keep an iterator loop from converging */
#pragma unroll
	for (i = 0; i < COMM_LEN; i++) {
		char ch = name->c[i];

		if (state == 0) {		/* role, then '_' */
			if (ch == '_' && i >= 1)
				state = 1;
			else if (!ch || ch == '_' || i >= 4)
				return 0;
		} else if (state == 1) {	/* size class letter */
			if (ch != 'L' && ch != 'S')
				return 0;
			state = 2;
		} else if (state == 2) {	/* size in units */
			if (ch >= '0' && ch <= '9' && digits < 6) {
				units = units * 10 + (ch - '0');
				digits++;
			} else if (ch == '_' && digits >= 3) {
				state = 3;
			} else {
				return 0;
			}
		} else {			/* spawn index, up to the end */
			if (ch >= '0' && ch <= '9')
				idx_digits++;
			else if (!ch)
				break;
			else
				return 0;
		}
	}
	return state == 3 && idx_digits ? units : 0;
}

/*
 * Work out @p's expected length. job_lens (one task-storage lookup, no
 * hashing) is read every time, so a length userspace writes a few ms after
 * an exec takes effect at the next enqueue or slice end. The name is parsed
 * only when it changes; job_hints is looked up again on wakeups at most every
 * HINT_RECHECK_NS, so hints changed by userspace are picked up without a
 * lookup per wakeup.
 */
static __always_inline void refresh_estimate(struct task_struct *p,
					     struct task_ctx *tctx, bool wakeup)
{
	struct comm_buf name = {};
	u64 now = scx_now(), v;
	bool renamed;

	bpf_probe_read_kernel(&name, sizeof(name), p->comm);
	renamed = name.w[0] != tctx->comm[0] || name.w[1] != tctx->comm[1];
	if (renamed) {
		/* a new name is a new job: its own CPU time starts now */
		tctx->comm[0] = name.w[0];
		tctx->comm[1] = name.w[1];
		tctx->job_run_ns = 0;
		tctx->name_ns = name_units(&name) * unit_us * NSEC_PER_USEC;
	}
	v = exec_hint(p);
	if (v) {
		if (!tctx->exec_ns)
			stat_add(&stat_exec_hinted, 1);
		tctx->exec_ns = v;
		tctx->expected_ns = v;
		tctx->source = SRC_HINT;
		return;
	}
	if (tctx->exec_ns) {
		/* its entry went away (a new exec): estimate afresh below */
		tctx->exec_ns = 0;
	} else if (!renamed && (!wakeup || now - tctx->hint_at < HINT_RECHECK_NS)) {
		return;
	}
	tctx->hint_at = now;

	v = hint_lookup(&name);
	if (v) {
		tctx->expected_ns = v;
		tctx->source = SRC_HINT;
	} else if (tctx->name_ns) {
		tctx->expected_ns = tctx->name_ns;
		tctx->source = SRC_NAME;
	} else {
		tctx->expected_ns = 0;
		tctx->source = SRC_HISTORY;
	}
}

/* ==== the scheduling core ================================================ */

u64 stat_direct;      /* wakeups sent straight to an idle CPU */
u64 stat_rescued;     /* waiting tasks run by the starvation guard */
u64 stat_kept;        /* slice ends where the running task stayed ahead of the queue */

u64 next_seq;         /* spawn order, for the tie-breaker */
u64 last_guard_check; /* when the starvation guard last looked */

static __always_inline bool joblen_key(struct task_struct *p,
				       struct task_ctx *tctx, u64 extra, u64 *key);

/* Queue order: length in ~us in the high bits, spawn order in the low 20. */
static __always_inline u64 order_key(u64 len_ns, u64 seq)
{
	return ((len_ns >> 10) << 20) | (seq & 0xfffff);
}

/*
 * Expected CPU time still to come. A job past its estimate counts as about
 * to finish (0), so it stays ahead of its unstarted equals and runs to
 * completion; estimates are often low (slow machine, wrong unit), and
 * pushing an overrunning job back would make equal jobs share the CPU
 * round-robin. A wildly wrong hint can therefore hold a CPU until the job
 * ends (the starvation guard still serves the others).
 */
static __always_inline u64 remaining_ns(u64 expected_ns, u64 run_ns)
{
	return expected_ns > run_ns ? expected_ns - run_ns : 0;
}

/*
 * How long @tctx's job is expected to run (*expected) and has run (*run),
 * counting @extra ns not charged yet. A task of unknown length counts as a
 * fresh job as long as its CPU burst (the longer of its average and current
 * one); false if that is below @min_burst_ns (a short-burst task).
 */
static __always_inline bool job_length(struct task_ctx *tctx, u64 extra,
				       u64 min_burst_ns, u64 *expected, u64 *run)
{
	u64 est;

	if (tctx->source != SRC_HISTORY) {
		*expected = tctx->expected_ns;
		*run = tctx->job_run_ns + extra;
		return true;
	}
	est = MAX(tctx->avg_burst_ns, tctx->burst_ns + extra);
	*expected = est;
	*run = 0;
	return est >= min_burst_ns;
}

/* .select_cpu: a wakeup that finds an idle CPU runs there at once, without queueing. */
s32 BPF_STRUCT_OPS(joblen_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	return scx_select_cpu_stat(p, prev_cpu, wake_flags, slice_us * NSEC_PER_USEC, &stat_direct);
}

/* Before @p is queued: its estimate is current and its wait starts now. */
static __always_inline void joblen_queued(struct task_struct *p,
					  struct task_ctx *tctx, u64 enq_flags)
{
	refresh_estimate(p, tctx, enq_flags & SCX_ENQ_WAKEUP);
	tctx->queued_at = scx_now();
}

/*
 * The kernel asks for the next task while the current one (@prev) is still
 * on the CPU and in no queue: if its slice ran out but it is still ahead of
 * everything queued, keep it running instead of switching to the head of
 * the queue. Without this, a job longer than one slice would lose the CPU to
 * an equal job at every slice end (round-robin among equals).
 */
static __always_inline bool keep_running(struct task_struct *prev)
{
	struct task_struct *head;
	struct task_ctx *tctx;
	bool keep = true;
	u64 key;

	if (!(prev->scx.flags & SCX_TASK_QUEUED))
		return false; /* going to sleep or exiting */
	tctx = task_ctx(prev);
	if (!tctx)
		return false;
	refresh_estimate(prev, tctx, false); /* renamed while running? */
	if (!joblen_key(prev, tctx, scx_now() - tctx->started_at, &key))
		return false;
	bpf_for_each(scx_dsq, head, JOB_DSQ, 0) {
		keep = !vtime_before(head->scx.dsq_vtime, key);
		break;
	}
	if (keep) {
		scx_set_slice(prev, slice_us * NSEC_PER_USEC);
		stat_add(&stat_kept, 1);
	}
	return keep;
}

/*
 * Starvation guard: scanning from the back of the job queue (at most
 * GUARD_SCAN tasks), run the first task that has waited longer than
 * max_wait_ms. Scanning, not just the last task, because the last one may
 * be the same task every time while others behind the front also wait.
 */
static __always_inline bool rescue_starved(s32 cpu)
{
	u64 now = scx_now(), limit = (u64)max_wait_ms * NSEC_PER_MSEC;
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	bool moved = false;
	int i;

	/* looking once a millisecond is plenty */
	if (now - last_guard_check < NSEC_PER_MSEC)
		return false;
	last_guard_check = now;

	if (bpf_iter_scx_dsq_new(&it, JOB_DSQ, SCX_DSQ_ITER_REV)) {
		bpf_iter_scx_dsq_destroy(&it);
		return false;
	}
	bpf_for(i, 0, GUARD_SCAN) {
		struct task_ctx *tctx;

		p = bpf_iter_scx_dsq_next(&it);
		if (!p)
			break;
		tctx = task_ctx(p);
		if (!tctx || now - tctx->queued_at <= limit ||
		    !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		moved = scx_bpf_dsq_move(&it, p, SCX_DSQ_LOCAL, 0);
		break;
	}
	bpf_iter_scx_dsq_destroy(&it);
	if (moved)
		stat_add(&stat_rescued, 1);
	return moved;
}

/* .dispatch: starved tasks first, then the system lane, then the running job if still first, then the queue. */
void BPF_STRUCT_OPS(joblen_dispatch, s32 cpu, struct task_struct *prev)
{
	if (rescue_starved(cpu))
		return;
#ifdef SYS_DSQ
	if (scx_move_to_local(SYS_DSQ))
		return;
#endif
	if (prev && keep_running(prev))
		return;
	scx_move_to_local(JOB_DSQ);
}

/* @p gets a CPU: its run starts now. */
static __always_inline void joblen_run_start(struct task_struct *p, struct task_ctx *tctx)
{
	if (!tctx)
		return;
	/*
	 * A task can rename itself and first run under the new name without an
	 * enqueue (a wakeup sent straight to an idle CPU): notice the new job
	 * here, so the CPU time it runs from now on is charged to it.
	 */
	refresh_estimate(p, tctx, false);
	tctx->started_at = scx_now();
}

/* @p leaves the CPU: charge the run to its job and burst; returns its length in ns. */
static __always_inline u64 joblen_charge(struct task_struct *p, struct task_ctx *tctx,
					 bool runnable)
{
	u64 used;

	if (!tctx || !tctx->started_at)
		return 0;
	/* renamed during this run (a new job): the run counts for the new job */
	refresh_estimate(p, tctx, false);
	used = scx_now() - tctx->started_at;
	tctx->burst_ns += used;
	tctx->job_run_ns += used;
	if (!runnable) {
		/* going to sleep: the burst is over, fold it into the average */
		tctx->avg_burst_ns = ewma(tctx->avg_burst_ns, tctx->burst_ns);
		tctx->burst_ns = 0;
	}
	return used;
}

/* .init_task: a new task's context, and its place in spawn order. */
s32 BPF_STRUCT_OPS(joblen_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	struct task_ctx *tctx = scx_task_storage_new(&task_ctxs, p);

	if (!tctx)
		return -ENOMEM;
	tctx->seq = __sync_fetch_and_add(&next_seq, 1);
	return 0;
}

/* .init: the queues (the system lane's, if any, and the job queue). */
s32 BPF_STRUCT_OPS_SLEEPABLE(joblen_init)
{
#ifdef SYS_DSQ
	s32 ret = scx_bpf_create_dsq(SYS_DSQ, -1);

	if (ret)
		return ret;
#endif
	return scx_bpf_create_dsq(JOB_DSQ, -1);
}

#ifdef SYS_DSQ
/*
 * The system lane's enqueue: true and @p's key if @p goes to the job queue
 * (counted by where its length came from), false if it goes to the system
 * lane (a task whose bursts stay below sys_burst_us, or one without context).
 */
static __always_inline bool lane_enqueue(struct task_struct *p, u64 enq_flags, u64 *key)
{
	struct task_ctx *tctx = task_ctx(p);

	if (!tctx)
		return false;
	joblen_queued(p, tctx, enq_flags);
	if (!joblen_key(p, tctx, 0, key)) {
		stat_add(&stat_sys, 1);
		return false;
	}
	if (tctx->source == SRC_HINT)
		stat_add(&stat_hinted, 1);
	else if (tctx->source == SRC_NAME)
		stat_add(&stat_named, 1);
	else
		stat_add(&stat_history, 1);
	return true;
}

static __always_inline u64 job_order(u64 expected, u64 run);

/* The key with a system lane: job_order() for a task whose bursts reach sys_burst_us, else false. */
static __always_inline bool joblen_key(struct task_struct *p,
				       struct task_ctx *tctx, u64 extra, u64 *key)
{
	u64 expected, run;

	if (!job_length(tctx, extra, sys_burst_us * NSEC_PER_USEC, &expected, &run))
		return false;
	*key = order_key(job_order(expected, run), tctx->seq);
	return true;
}

/* .enqueue with a system lane: the job queue by key, or the system lane first-come-first-served. */
void BPF_STRUCT_OPS(joblen_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 key;

	if (lane_enqueue(p, enq_flags, &key))
		scx_insert_vtime(p, JOB_DSQ, slice_us * NSEC_PER_USEC, key, enq_flags);
	else
		scx_insert(p, SYS_DSQ, sys_burst_us * NSEC_PER_USEC, enq_flags);
}

/* .running with a system lane: only the core's accounting. */
void BPF_STRUCT_OPS(joblen_running, struct task_struct *p)
{
	joblen_run_start(p, task_ctx(p));
}

/* .stopping with a system lane: only the core's accounting. */
void BPF_STRUCT_OPS(joblen_stopping, struct task_struct *p, bool runnable)
{
	joblen_charge(p, task_ctx(p), runnable);
}
#endif /* SYS_DSQ */

#endif /* __SCX_JOBLEN_BPF_H */
