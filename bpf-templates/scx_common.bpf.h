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

#endif /* __SCX_COMMON_BPF_H */
