/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_common.bpf.h - everything a scx-mcp scheduler needs beside vmlinux.h.
 *
 * Include this one header and nothing else from the kernel side:
 *
 *   #include "scx_common.bpf.h"
 *
 * The toolchain compiles every scheduler with -I pointing at this directory
 * and at the target kernel's directory, which holds two generated headers:
 *   vmlinux.h         - all kernel types, from the target kernel's BTF
 *   scx_target_api.h  - SCX_HAS_<kfunc> 1 for every sched_ext kfunc that the
 *                       target kernel exports (generated from the same BTF)
 *
 * Conventions shared with the loader (sched-rust) and the tools:
 *   - Parameters are `const volatile` globals (in .rodata): the loader sets
 *     them by name before load (`--param slice_us=5000`). Declare them with
 *     SCX_PARAM so a reader can find them at a glance.
 *   - Statistics are u64 globals named `stat_<name>` (in .bss), bumped with
 *     stat_add(); the loader prints every `stat_*` variable it finds.
 *   - Exit information: every scheduler declares UEI_DEFINE(uei) and calls
 *     UEI_RECORD(uei, ei) from its .exit callback, so the loader can report
 *     why the kernel stopped it (stall, scx_bpf_error, unregister).
 *   - The ops table goes last, through SCX_OPS_DEFINE, and the licence must
 *     be GPL-compatible (SCX_LICENSE_GPL): kfuncs refuse other programs.
 */
#ifndef __SCX_COMMON_BPF_H
#define __SCX_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "scx_target_api.h"

#define BPF_STRUCT_OPS(name, args...) \
	SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) \
	SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/* The ops table; `.link` makes bpftool/libbpf attach it as a struct_ops link. */
#define SCX_OPS_DEFINE(__name, ...) \
	SEC(".struct_ops.link") struct sched_ext_ops __name = { __VA_ARGS__ }

#define SCX_LICENSE_GPL char _license[] SEC("license") = "GPL"

/* A tunable the loader may set before load. */
#define SCX_PARAM(type, name, dflt) const volatile type name = dflt

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#ifndef NSEC_PER_USEC
#define NSEC_PER_USEC 1000ULL
#endif
#ifndef NSEC_PER_MSEC
#define NSEC_PER_MSEC 1000000ULL
#endif

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Kernel #defines that vmlinux.h (types only) does not carry. */
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef PF_KTHREAD
#define PF_KTHREAD 0x00200000
#endif

/* Per-task state: a task-storage map @name of @vtype values, created in init_task. */
#define SCX_TASK_STORAGE(name, vtype)                                        \
	struct {                                                             \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                     \
		__uint(map_flags, BPF_F_NO_PREALLOC);                        \
		__type(key, int);                                            \
		__type(value, vtype);                                        \
	} name SEC(".maps")

/* ---- statistics ------------------------------------------------------- */

/* Counters are racy across CPUs by design only if you use plain ++: use this. */
static __always_inline void stat_add(u64 *counter, u64 v)
{
	__sync_fetch_and_add(counter, v);
}

/* ---- exit information (user exit info) -------------------------------- */

#define UEI_REASON_LEN 128
#define UEI_MSG_LEN 1024

struct scx_user_exit_info {
	s32 kind;          /* enum scx_exit_kind, 0 while running */
	s64 exit_code;
	char reason[UEI_REASON_LEN];
	char msg[UEI_MSG_LEN];
};

#define UEI_DEFINE(__name) struct scx_user_exit_info __name SEC(".data")

#define UEI_RECORD(__uei, __ei)                                              \
	({                                                                   \
		bpf_probe_read_kernel_str(__uei.reason, sizeof(__uei.reason), \
					  (__ei)->reason);                   \
		bpf_probe_read_kernel_str(__uei.msg, sizeof(__uei.msg),       \
					  (__ei)->msg);                      \
		__uei.exit_code = (__ei)->exit_code;                         \
		/* kind last: the loader treats kind != 0 as "record complete" */ \
		__sync_val_compare_and_swap(&__uei.kind, 0, (__ei)->kind);   \
	})

/* ---- scx_bpf_error with printf-style arguments -------------------------- */

/*
 * The format string must live in writable memory: the verifier rejects a
 * pointer into .rodata here ("write into map forbidden"), hence `static char`.
 */
#define scx_bpf_error(fmt, args...)                                          \
	({                                                                   \
		static char ___fmt[] = fmt;                                  \
		unsigned long long ___param[___bpf_narg(args) + 1];          \
		___bpf_fill(___param, args);                                 \
		scx_bpf_error_bstr(___fmt, ___param, sizeof(___param));      \
	})

/* ---- compatibility layer over kfuncs renamed between kernels ------------
 *
 * sched_ext renamed its core kfuncs in 6.13 (dispatch -> dsq_insert,
 * consume -> dsq_move_to_local) and added ___v2 variants later. Schedulers
 * call the scx_* wrappers below; which kfunc each one uses is decided at
 * compile time from scx_target_api.h, i.e. from the target kernel's own BTF.
 */

static __always_inline void scx_insert(struct task_struct *p, u64 dsq_id,
				       u64 slice, u64 enq_flags)
{
#if defined(SCX_HAS_scx_bpf_dsq_insert)
	scx_bpf_dsq_insert(p, dsq_id, slice, enq_flags);
#elif defined(SCX_HAS_scx_bpf_dispatch)
	scx_bpf_dispatch(p, dsq_id, slice, enq_flags);
#else
#error "target kernel has neither scx_bpf_dsq_insert nor scx_bpf_dispatch"
#endif
}

static __always_inline void scx_insert_vtime(struct task_struct *p, u64 dsq_id,
					     u64 slice, u64 vtime,
					     u64 enq_flags)
{
#if defined(SCX_HAS_scx_bpf_dsq_insert_vtime)
	scx_bpf_dsq_insert_vtime(p, dsq_id, slice, vtime, enq_flags);
#elif defined(SCX_HAS_scx_bpf_dispatch_vtime)
	scx_bpf_dispatch_vtime(p, dsq_id, slice, vtime, enq_flags);
#else
#error "target kernel has no vtime insert kfunc"
#endif
}

static __always_inline bool scx_move_to_local(u64 dsq_id)
{
#if defined(SCX_HAS_scx_bpf_dsq_move_to_local)
	return scx_bpf_dsq_move_to_local(dsq_id);
#elif defined(SCX_HAS_scx_bpf_consume)
	return scx_bpf_consume(dsq_id);
#else
#error "target kernel has neither scx_bpf_dsq_move_to_local nor scx_bpf_consume"
#endif
}

/* Give a task on a CPU a new slice: the kfunc where the kernel has one (6.14+). */
static __always_inline void scx_set_slice(struct task_struct *p, u64 slice)
{
#if defined(SCX_HAS_scx_bpf_task_set_slice)
	scx_bpf_task_set_slice(p, slice);
#else
	p->scx.slice = slice;
#endif
}

/* Monotonic time in ns: scx_bpf_now() where the kernel has it (cheaper, rq clock). */
static __always_inline u64 scx_now(void)
{
#if defined(SCX_HAS_scx_bpf_now)
	return scx_bpf_now();
#else
	return bpf_ktime_get_ns();
#endif
}

/* a before b in virtual time, wrap-safe */
static __always_inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

/* ---- what most policies do the same way ----------------------------------
 *
 * Small pieces that several schedulers of the library share word for word;
 * each keeps its policy in its own file and calls these for the mechanics.
 */

/*
 * select_cpu's usual first step: the kernel's default CPU for waking @p in
 * *@cpu (its previous CPU if that is idle, else an idle one nearby, else the
 * previous one). If that CPU is idle, @p goes straight to its local queue
 * with a slice of @slice ns, so enqueue is skipped, and the result is true.
 */
static __always_inline bool scx_select_cpu_direct(struct task_struct *p, s32 prev_cpu,
						  u64 wake_flags, u64 slice, s32 *cpu)
{
	bool is_idle = false, direct;

	*cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	direct = is_idle; /* a copy the insert below cannot change */
	if (direct)
		scx_insert(p, SCX_DSQ_LOCAL, slice, 0);
	return direct;
}

/* select_cpu's whole body for most policies: the above, counting direct wakeups in *@stat. */
static __always_inline s32 scx_select_cpu_stat(struct task_struct *p, s32 prev_cpu,
					       u64 wake_flags, u64 slice, u64 *stat)
{
	s32 cpu;

	if (scx_select_cpu_direct(p, prev_cpu, wake_flags, slice, &cpu))
		stat_add(stat, 1);
	return cpu;
}

/* @p's entry in the task-storage @map, created if it has none; NULL if it cannot be. */
static __always_inline void *scx_task_storage_new(void *map, struct task_struct *p)
{
	return bpf_task_storage_get(map, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* init_task's usual body: create @p's entry in the task-storage @map; 0 or -ENOMEM. */
static __always_inline s32 scx_task_storage_init(void *map, struct task_struct *p)
{
	if (!scx_task_storage_new(map, p))
		return -ENOMEM;
	return 0;
}

/* Per-CPU arrays and loops are sized for at most this many CPUs. */
#ifndef MAX_CPUS
#define MAX_CPUS 1024
#endif

/* The number of CPU ids, at most MAX_CPUS. */
static __always_inline u32 nr_cpus(void)
{
	u32 nr = scx_bpf_nr_cpu_ids();

	return nr < MAX_CPUS ? nr : MAX_CPUS;
}

/*
 * Create DSQs 0 to @n - 1, for schedulers whose queues are numbered from 0
 * (one per CPU: scx_create_dsqs(nr_cpus())); 0, or the first error.
 */
static __always_inline s32 scx_create_dsqs(u32 n)
{
	s32 i, ret;

	bpf_for(i, 0, n) {
		ret = scx_bpf_create_dsq((u64)i, -1);
		if (ret)
			return ret;
	}
	return 0;
}

/* Exponentially weighted average: @avg moved a quarter of the way to @sample. */
static __always_inline u64 ewma(u64 avg, u64 sample)
{
	return (avg * 3 + sample) / 4;
}

/*
 * @ns of CPU time (or of a deadline) scaled by 100 / @weight, the task's
 * p->scx.weight: 100 is nice 0, so a task of twice the weight ages half as fast.
 */
static __always_inline u64 weight_scale(u64 ns, u32 weight)
{
	return ns * 100 / (weight ? weight : 1);
}

/*
 * Idle credit: raise *@vtime to at most @credit ns behind the virtual clock
 * @now, so a long sleeper does not come back owed the whole time it slept.
 * True if it was raised.
 */
static __always_inline bool vtime_limit_credit(u64 *vtime, u64 now, u64 credit)
{
	u64 floor = now - credit;

	if (!vtime_before(*vtime, floor))
		return false;
	*vtime = floor;
	return true;
}

/* Move the virtual clock *@clock forward to @vtime (racy across CPUs, but it only moves forward). */
static __always_inline void vtime_advance(u64 *clock, u64 vtime)
{
	if (vtime_before(*clock, vtime))
		*clock = vtime;
}

/* ---- task names ----------------------------------------------------------
 *
 * Maps keyed by a task-name prefix (sjf/ljf/hybrid's job_hints, prio_class's
 * class_of_comm): key char[COMM_LEN], the prefix NUL-padded; the entry for the
 * longest prefix of a task's name wins.
 */
/* TASK_COMM_LEN: a name has at most 15 bytes */
#define COMM_LEN 16

/* A task name as the kernel keeps it: 16 bytes, NUL-padded. */
struct comm_buf {
	union {
		char c[COMM_LEN];
		u64 w[2];
	};
};

/*
 * The value of @map (key char[COMM_LEN]) for the longest prefix of @name with
 * an entry, NULL if none. Prefixes are built by masking the two 8-byte halves
 * of the name, which keeps the verifier's work small. Call it from a global
 * (__noinline, non-static) function of your own that returns the value, so
 * the verifier checks the loops once instead of at every call site:
 *
 *   __noinline u64 hint_lookup(const struct comm_buf *name)
 *   {
 *           u64 *v = comm_prefix_lookup(&job_hints, name);
 *
 *           return v ? *v : 0;
 *   }
 */
static __always_inline void *comm_prefix_lookup(void *map, const struct comm_buf *name)
{
	u64 key[2], lo, hi;
	int i, j, len = COMM_LEN - 1;
	void *v;

	if (!name)
		return NULL;
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
		v = bpf_map_lookup_elem(map, key);
		if (v)
			return v;
	}
	return NULL;
}

#endif /* __SCX_COMMON_BPF_H */
