/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prio_class - priority classes chosen by task name, served by weight.
 *
 * Every task belongs to one of four classes, each with its own queue:
 *   0 latency    - kernel threads, tasks with nice < -4
 *   1 normal     - everything else
 *   2 build      - compilers, linkers and build tools: cc1*, gcc, g++, c++,
 *                  clang, rustc, cargo, make, ninja, ld, ld.*, lld, as, ar,
 *                  cc, collect2, and the batch fixture's roles cc1_, ld_,
 *                  ar_, gen_
 *   3 background - tasks with nice > 9
 * The `class_of_comm` map (task-name prefix, NUL-padded char[16] -> class
 * 0-3; the longest matching prefix wins) overrides these rules; a userspace
 * part or an operator fills it. Within a class tasks run first come, first
 * served. Between classes, by default each class receives CPU time in
 * proportion to its weight (`weight_*`: the class with the least
 * weight-scaled CPU time goes next); with `strict` the lowest-numbered
 * non-empty class always goes first. Either way a class that has waited
 * `starve_ms` is served next, so nothing starves.
 *
 * Works well when: a machine shared by known kinds of work - keep a
 * desktop or a service responsive while a build or a batch job soaks up
 * the rest of the CPU, without renicing anything.
 * Costs: classes come from names, so a renamed or unknown program lands in
 * "normal"; first-come-first-served inside a class (no fairness between
 * two builds); strict mode gives lower classes only the starvation guard's
 * crumbs under load.
 */
#include "scx_common.bpf.h"

SCX_LICENSE_GPL;

#define NR_CLASSES 4 /* DSQ c is class c's queue */
#define CLS_LATENCY 0
#define CLS_NORMAL 1
#define CLS_BUILD 2
#define CLS_BACKGROUND 3
#define CLASS_RECHECK_NS (100 * NSEC_PER_MSEC)

/* Time slice, in microseconds. */
SCX_PARAM(u64, slice_us, 5000);
/* Serve classes in strict order (0 first) instead of by weight. */
SCX_PARAM(bool, strict, false);
/* CPU share weight of the latency class. */
SCX_PARAM(u32, weight_latency, 800);
/* CPU share weight of the normal class. */
SCX_PARAM(u32, weight_normal, 400);
/* CPU share weight of the build class. */
SCX_PARAM(u32, weight_build, 200);
/* CPU share weight of the background class. */
SCX_PARAM(u32, weight_background, 50);
/* A class whose tasks waited this long is served next, in milliseconds. */
SCX_PARAM(u32, starve_ms, 500);

u64 stat_latency;    /* enqueues to the latency class */
u64 stat_normal;     /* enqueues to the normal class */
u64 stat_build;      /* enqueues to the build class */
u64 stat_background; /* enqueues to the background class */
u64 stat_mapped;     /* class decisions taken from class_of_comm */
u64 stat_starved;    /* dispatches forced by the starvation guard */

UEI_DEFINE(uei);

/* task-name prefix (NUL-padded) -> class 0..3; filled by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[COMM_LEN]);
	__type(value, u32);
} class_of_comm SEC(".maps");

struct task_ctx {
	u64 comm[2];    /* the name the class was decided for */
	u64 class_at;   /* when the class was last decided */
	u64 started_at; /* when it last got a CPU */
	u32 cls;
};

SCX_TASK_STORAGE(task_ctxs, struct task_ctx);

/* Per class: weight-scaled CPU time received, and when it was last served. */
u64 class_vtime[NR_CLASSES];
u64 class_served_at[NR_CLASSES];
/* class_vtime of the class served last: idle classes catch up to it */
u64 vtime_now;

static __always_inline struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

/* Compile-time 8-byte little-endian word of a short string literal. */
#define CH(s, i) \
	((i) < sizeof(s) - 1 ? (u64)(u8)(s)[(i) < sizeof(s) ? (i) : 0] << (8 * (i)) : 0)
#define WORD(s) \
	(CH(s, 0) | CH(s, 1) | CH(s, 2) | CH(s, 3) | CH(s, 4) | CH(s, 5) | CH(s, 6) | CH(s, 7))
#define MASK(n) ((n) >= 8 ? ~0ULL : (1ULL << (8 * (n))) - 1)
/* name starts with s (s at most 8 characters) */
#define HAS_PREFIX(lo, s) (((lo) & MASK(sizeof(s) - 1)) == WORD(s))
/* name is exactly s (s at most 7 characters) */
#define IS_NAME(lo, s) (((lo) & MASK(sizeof(s))) == WORD(s))

static __always_inline bool is_build_tool(u64 lo)
{
	return HAS_PREFIX(lo, "cc1") || HAS_PREFIX(lo, "gcc") ||
	       HAS_PREFIX(lo, "g++") || HAS_PREFIX(lo, "c++") ||
	       HAS_PREFIX(lo, "clang") || HAS_PREFIX(lo, "rustc") ||
	       HAS_PREFIX(lo, "cargo") || HAS_PREFIX(lo, "make") ||
	       HAS_PREFIX(lo, "ninja") || HAS_PREFIX(lo, "ld.") ||
	       HAS_PREFIX(lo, "ld_") || HAS_PREFIX(lo, "ar_") ||
	       HAS_PREFIX(lo, "gen_") || HAS_PREFIX(lo, "collect2") ||
	       IS_NAME(lo, "ld") || IS_NAME(lo, "lld") || IS_NAME(lo, "as") ||
	       IS_NAME(lo, "ar") || IS_NAME(lo, "cc");
}

/*
 * class_of_comm entry for the longest prefix of the name: class + 1, or 0 if
 * none. Global: the verifier checks the prefix loop once.
 */
__noinline u32 mapped_class(const struct comm_buf *name)
{
	u32 *v = comm_prefix_lookup(&class_of_comm, name);

	if (!v)
		return 0;
	return (*v < NR_CLASSES ? *v : CLS_NORMAL) + 1;
}

static __always_inline u32 class_weight(u32 cls)
{
	u32 w;

	switch (cls) {
	case CLS_LATENCY:
		w = weight_latency;
		break;
	case CLS_BUILD:
		w = weight_build;
		break;
	case CLS_BACKGROUND:
		w = weight_background;
		break;
	default:
		w = weight_normal;
	}
	return w ? w : 1;
}

/* Decide @p's class: on a new name, and on wakeups at most every CLASS_RECHECK_NS. */
static __always_inline u32 task_class(struct task_struct *p,
				      struct task_ctx *tctx, bool wakeup)
{
	struct comm_buf name = {};
	u64 now = scx_now();
	u32 m, weight;

	bpf_probe_read_kernel(&name, sizeof(name), p->comm);
	if (name.w[0] == tctx->comm[0] && name.w[1] == tctx->comm[1] &&
	    (!wakeup || now - tctx->class_at < CLASS_RECHECK_NS))
		return tctx->cls;
	tctx->comm[0] = name.w[0];
	tctx->comm[1] = name.w[1];
	tctx->class_at = now;

	m = mapped_class(&name);
	/*
	 * The verifier sees a global function's result as any u32; clang knows
	 * its range and would drop the class bound check in enqueue otherwise.
	 */
	barrier_var(m);
	if (m) {
		stat_add(&stat_mapped, 1);
		tctx->cls = m - 1;
		return tctx->cls;
	}
	weight = p->scx.weight;
	if (p->flags & PF_KTHREAD || weight > 300)
		tctx->cls = CLS_LATENCY;
	else if (weight < 12)
		tctx->cls = CLS_BACKGROUND;
	else if (is_build_tool(name.w[0]))
		tctx->cls = CLS_BUILD;
	else
		tctx->cls = CLS_NORMAL;
	return tctx->cls;
}

static __always_inline void count_class(u32 cls)
{
	switch (cls) {
	case CLS_LATENCY:
		stat_add(&stat_latency, 1);
		break;
	case CLS_BUILD:
		stat_add(&stat_build, 1);
		break;
	case CLS_BACKGROUND:
		stat_add(&stat_background, 1);
		break;
	default:
		stat_add(&stat_normal, 1);
	}
}

static __always_inline bool serve(u32 cls, u64 now)
{
	if (cls >= NR_CLASSES || !scx_move_to_local(cls))
		return false;
	class_served_at[cls] = now;
	vtime_now = class_vtime[cls];
	return true;
}

s32 BPF_STRUCT_OPS(prio_class_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	s32 cpu;

	scx_select_cpu_direct(p, prev_cpu, wake_flags, slice_us * NSEC_PER_USEC, &cpu);
	return cpu;
}

void BPF_STRUCT_OPS(prio_class_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 now = scx_now();
	u32 cls = CLS_NORMAL;

	if (tctx)
		cls = task_class(p, tctx, enq_flags & SCX_ENQ_WAKEUP);
	if (cls >= NR_CLASSES)
		cls = CLS_NORMAL;

	if (scx_bpf_dsq_nr_queued(cls) == 0) {
		/* the class was idle: it starts waiting now, with no banked credit */
		class_served_at[cls] = now;
		vtime_limit_credit(&class_vtime[cls], vtime_now, slice_us * NSEC_PER_USEC);
	}
	count_class(cls);
	scx_insert(p, cls, slice_us * NSEC_PER_USEC, enq_flags);
}

void BPF_STRUCT_OPS(prio_class_dispatch, s32 cpu, struct task_struct *prev)
{
	u64 now = scx_now(), starve_ns = (u64)starve_ms * NSEC_PER_MSEC;
	s32 pick = -1;
	u32 c;

	/* starvation guard first */
	for (c = 0; c < NR_CLASSES; c++) {
		if (scx_bpf_dsq_nr_queued(c) > 0 &&
		    now - class_served_at[c] > starve_ns && serve(c, now)) {
			stat_add(&stat_starved, 1);
			return;
		}
	}
	if (!strict) {
		/* the non-empty class with the least weight-scaled CPU time */
		for (c = 0; c < NR_CLASSES; c++) {
			if (scx_bpf_dsq_nr_queued(c) <= 0)
				continue;
			if (pick < 0 || vtime_before(class_vtime[c], class_vtime[pick & 3]))
				pick = c;
		}
		if (pick >= 0 && serve(pick, now))
			return;
	}
	for (c = 0; c < NR_CLASSES; c++)
		if (serve(c, now))
			return;
}

void BPF_STRUCT_OPS(prio_class_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (tctx)
		tctx->started_at = scx_now();
}

void BPF_STRUCT_OPS(prio_class_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);
	u32 cls;

	if (!tctx || !tctx->started_at)
		return;
	cls = tctx->cls;
	if (cls >= NR_CLASSES)
		return;
	__sync_fetch_and_add(&class_vtime[cls],
			     weight_scale(scx_now() - tctx->started_at, class_weight(cls)));
}

s32 BPF_STRUCT_OPS(prio_class_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	struct task_ctx *tctx;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return -ENOMEM;
	tctx->cls = CLS_NORMAL;
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(prio_class_init)
{
	return scx_create_dsqs(NR_CLASSES);
}

void BPF_STRUCT_OPS(prio_class_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(prio_class_ops,
	       .select_cpu = (void *)prio_class_select_cpu,
	       .enqueue = (void *)prio_class_enqueue,
	       .dispatch = (void *)prio_class_dispatch,
	       .running = (void *)prio_class_running,
	       .stopping = (void *)prio_class_stopping,
	       .init_task = (void *)prio_class_init_task,
	       .init = (void *)prio_class_init,
	       .exit = (void *)prio_class_exit,
	       .name = "prio_class");
