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
 * Include it after scx_common.bpf.h and after declaring
 *   SCX_PARAM(u64, unit_us, ...)   CPU time one size unit stands for, in us
 * To add fields to the per-task context, define SCX_JOBLEN_CTX_EXTRA first
 * (e.g. `#define SCX_JOBLEN_CTX_EXTRA u64 vtime;`).
 */
#ifndef __SCX_JOBLEN_BPF_H
#define __SCX_JOBLEN_BPF_H

#ifndef SCX_JOBLEN_CTX_EXTRA
#define SCX_JOBLEN_CTX_EXTRA
#endif

#define COMM_LEN 16
#define HINT_RECHECK_NS (100 * NSEC_PER_MSEC)

/* comm prefix (NUL-padded) -> expected runtime in ns; filled by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, char[COMM_LEN]);
	__type(value, u64);
} job_hints SEC(".maps");

/*
 * What userspace writes into a task's `job_lens` storage (key: a pidfd).
 * Layout shared with sched-rust/schedulers/job-hints (struct JobLen).
 */
struct job_len {
	u64 expected_ns;  /* expected CPU time of this job, ns; 0 = none */
	u64 rule;         /* which rule matched: kind << 32 | (index + 1) */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct job_len);
} job_lens SEC(".maps");

/*
 * One record per exec (userspace matches the new command line) and per
 * thread exit (userspace adds up what each program ran, to learn lengths).
 * Layout shared with sched-rust/schedulers/job-hints (exec.rs).
 */
enum job_event_kind { JOB_EXEC = 1, JOB_EXIT = 2 };

struct exec_event {
	u32 pid;
	u32 tgid;
	u32 kind;         /* enum job_event_kind */
	u32 pad;
	u64 runtime_ns;   /* JOB_EXIT: the thread's CPU time */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} job_execs SEC(".maps");

u64 stat_execs;        /* execs reported to userspace */
u64 stat_exec_drops;   /* execs not reported: ring buffer full (nobody reading) */
u64 stat_exec_hinted;  /* jobs sized from job_lens (argv/cgroup/pgid rules) */

/*
 * A new program is a new job: forget the old image's length and tell
 * userspace, which matches the new command line and may write a new one.
 * Attached by scx-job-hints (plain scx-loader leaves it unattached).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(joblen_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct exec_event *e;

	bpf_task_storage_delete(&job_lens, p);
	e = bpf_ringbuf_reserve(&job_execs, sizeof(*e), 0);
	if (!e) {
		stat_add(&stat_exec_drops, 1);
		return 0;
	}
	e->pid = p->pid;
	e->tgid = p->tgid;
	e->kind = JOB_EXEC;
	e->pad = 0;
	e->runtime_ns = p->se.sum_exec_runtime; /* what ran before the exec, not this job's */
	bpf_ringbuf_submit(e, 0);
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
	struct exec_event *e;

	e = bpf_ringbuf_reserve(&job_execs, sizeof(*e), 0);
	if (!e) {
		stat_add(&stat_exec_drops, 1);
		return 0;
	}
	e->pid = p->pid;
	e->tgid = p->tgid;
	e->kind = JOB_EXIT;
	e->pad = 0;
	e->runtime_ns = p->se.sum_exec_runtime;
	bpf_ringbuf_submit(e, 0);
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

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

static __always_inline struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

/* A task name as the kernel keeps it: 16 bytes, NUL-padded. */
struct comm_buf {
	union {
		char c[COMM_LEN];
		u64 w[2];
	};
};

/*
 * Expected runtime from job_hints: the entry for the longest prefix of the
 * name, 0 if none. A global (not inlined) function: the verifier checks it
 * once instead of at every call site. Prefixes are built by masking the two
 * 8-byte halves of the name, which keeps the verifier's work small.
 */
__noinline u64 hint_lookup(const struct comm_buf *name)
{
	u64 key[2], lo, hi, *v;
	int i, j, len = COMM_LEN - 1;

	if (!name)
		return 0;
	lo = name->w[0];
	hi = name->w[1];
	bpf_for(i, 0, COMM_LEN - 1) {
		if (!name->c[i]) {
			len = i;
			break;
		}
	}
	bpf_for(j, 0, len) {
		i = len - j; /* prefix length, longest first */
		if (i >= 8) {
			key[0] = lo;
			key[1] = i == 8 ? 0 : hi & ((1ULL << ((i - 8) * 8)) - 1);
		} else {
			key[0] = lo & ((1ULL << (i * 8)) - 1);
			key[1] = 0;
		}
		v = bpf_map_lookup_elem(&job_hints, key);
		if (v)
			return *v;
	}
	return 0;
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

#endif /* __SCX_JOBLEN_BPF_H */
