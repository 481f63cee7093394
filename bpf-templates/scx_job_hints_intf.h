/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_job_hints_intf.h - the job-hints contract, in one place.
 *
 * What the job-length core (scx_joblen.bpf.h, in sjf, ljf and hybrid) and its
 * userspace feeder (sched-rust/schedulers/job-hints, scx-job-hints) both rely
 * on: the names of the maps and programs, the layouts of their keys, values
 * and records, the sizes, the rule codes and the statistics userspace reads.
 * Plain C with fixed-width types and nothing else, so that it is read three ways:
 *   - BPF: scx_joblen.bpf.h includes it and checks its map declarations
 *     against it at compile time (_Static_assert);
 *   - Rust: sched-rust/schedulers/job-hints/src/intf.rs parses this file in a
 *     test and compares it with the crate's constants and byte offsets;
 *   - TypeScript: tests/unit/job-hints-intf.test.ts parses it and compares it
 *     with core/job-hints.ts (prefix length, rule kinds, how many hints).
 * Change a number here and the other two fail their tests until they follow.
 * Lines of the form `#define JOB_<NAME> <value>` and the two structs below are
 * what the parsers read: keep one definition per line.
 */
#ifndef __SCX_JOB_HINTS_INTF_H
#define __SCX_JOB_HINTS_INTF_H

/*
 * job_hints: BPF_MAP_TYPE_HASH, key char[JOB_COMM_LEN] = a task-name prefix,
 * NUL-padded; value u64 = expected CPU time in ns. The longest prefix of a
 * task's name with an entry wins. A prefix has at most JOB_COMM_LEN - 1 bytes
 * (the kernel truncates names to 15).
 */
#define JOB_HINTS_MAP "job_hints"
#define JOB_COMM_LEN 16
#define JOB_HINTS_MAX_ENTRIES 4096
#define JOB_HINT_VALUE_SIZE 8

/*
 * job_lens: BPF_MAP_TYPE_TASK_STORAGE (key: a pidfd from userspace), value
 * struct job_len: the length scx-job-hints matched for a process at exec.
 */
#define JOB_LENS_MAP "job_lens"
#define JOB_LEN_SIZE 16

struct job_len {
	__u64 expected_ns; /* expected CPU time of this job, ns; 0 = none */
	__u64 rule;        /* which rule matched: JOB_RULE_CODE(kind, index) */
};

/*
 * Rule kinds, in order of precedence when several match one process (argv
 * first); within a kind the first rule in the list wins. `rule` in struct
 * job_len is kind << 32 | (index + 1).
 */
#define JOB_RULE_ARGV 1
#define JOB_RULE_CGROUP 2
#define JOB_RULE_PGID 3
#define JOB_RULE_SID 4
#define JOB_RULE_COMM 5
#define JOB_RULE_CODE(kind, index) (((__u64)(kind) << 32) | ((__u64)(index) + 1))

/*
 * job_execs: BPF_MAP_TYPE_RINGBUF of struct exec_event, one record per exec
 * (program joblen_exec) and, with --learn, per thread exit (joblen_exit).
 */
#define JOB_EXECS_MAP "job_execs"
#define JOB_EXECS_BYTES 65536
#define JOB_EXEC_PROG "joblen_exec"
#define JOB_EXIT_PROG "joblen_exit"
#define JOB_EXEC 1
#define JOB_EXIT 2
#define JOB_EXEC_EVENT_SIZE 24

struct exec_event {
	__u32 pid;
	__u32 tgid;
	__u32 kind;        /* JOB_EXEC or JOB_EXIT */
	__u32 pad;
	__u64 runtime_ns;  /* JOB_EXIT: the thread's CPU time; JOB_EXEC: what ran before */
};

/*
 * Statistics of the core that userspace reads (the loader prints every
 * stat_<name> global as <name>): jobs sized from job_lens, and the exec
 * records sent and dropped.
 */
#define JOB_STATS "exec_hinted execs exec_drops"

#endif /* __SCX_JOB_HINTS_INTF_H */
