//! Process exit codes and the kernel's `enum scx_exit_kind`.

use serde_json::{json, Value};

/// Exit status of `scx-loader` (and of scheduler crates built on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitStatus {
    /// Detached cleanly (signal or --duration-s), or a host-side command succeeded.
    Ok = 0,
    /// Bad arguments or parameters, unreadable/invalid object, no struct_ops map.
    BadArgs = 2,
    /// Environment: not root, kernel without sched_ext, another scheduler active.
    Environment = 3,
    /// libbpf/verifier refused to load the object.
    LoadFailed = 4,
    /// Loaded, but attaching (enabling) the scheduler failed.
    AttachFailed = 5,
    /// A scheduler-specific hook (e.g. feeding a BPF map) failed.
    HookFailed = 6,
    /// The kernel ejected the scheduler: unregistered (also DONE, SYSRQ).
    EjectedUnregistered = 10,
    /// The kernel ejected the scheduler: error exit (scx_bpf_error, runtime error, unknown).
    EjectedError = 11,
    /// The kernel ejected the scheduler: runnable task stall (watchdog).
    EjectedStall = 12,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        self as i32
    }
    pub fn all() -> &'static [ExitStatus] {
        use ExitStatus::*;
        &[
            Ok,
            BadArgs,
            Environment,
            LoadFailed,
            AttachFailed,
            HookFailed,
            EjectedUnregistered,
            EjectedError,
            EjectedStall,
        ]
    }
    pub fn describe(self) -> &'static str {
        match self {
            ExitStatus::Ok => "detached cleanly / success",
            ExitStatus::BadArgs => "bad arguments or parameters",
            ExitStatus::Environment => "environment (not root, no sched_ext, another scheduler active)",
            ExitStatus::LoadFailed => "load/verifier failure",
            ExitStatus::AttachFailed => "attach failure",
            ExitStatus::HookFailed => "scheduler-specific userspace hook failed",
            ExitStatus::EjectedUnregistered => "ejected: unregistered",
            ExitStatus::EjectedError => "ejected: error exit",
            ExitStatus::EjectedStall => "ejected: runnable task stall",
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s.code() as u8)
    }
}

// enum scx_exit_kind (kernel/sched/ext_internal.h)
pub const SCX_EXIT_NONE: i64 = 0;
pub const SCX_EXIT_DONE: i64 = 1;
pub const SCX_EXIT_UNREG: i64 = 64;
pub const SCX_EXIT_UNREG_BPF: i64 = 65;
pub const SCX_EXIT_UNREG_KERN: i64 = 66;
pub const SCX_EXIT_SYSRQ: i64 = 67;
pub const SCX_EXIT_ERROR: i64 = 1024;
pub const SCX_EXIT_ERROR_BPF: i64 = 1025;
pub const SCX_EXIT_ERROR_STALL: i64 = 1026;

/// Protocol name of an exit kind code.
pub fn kind_name(code: i64) -> &'static str {
    match code {
        SCX_EXIT_DONE => "done",
        SCX_EXIT_UNREG | SCX_EXIT_UNREG_BPF | SCX_EXIT_UNREG_KERN => "unregistered",
        SCX_EXIT_SYSRQ => "sysrq",
        SCX_EXIT_ERROR | SCX_EXIT_ERROR_BPF => "error",
        SCX_EXIT_ERROR_STALL => "stall",
        _ => "unknown",
    }
}

/// The kernel's own name of the enumerator (for messages).
pub fn kind_enum_name(code: i64) -> &'static str {
    match code {
        SCX_EXIT_NONE => "SCX_EXIT_NONE",
        SCX_EXIT_DONE => "SCX_EXIT_DONE",
        SCX_EXIT_UNREG => "SCX_EXIT_UNREG",
        SCX_EXIT_UNREG_BPF => "SCX_EXIT_UNREG_BPF",
        SCX_EXIT_UNREG_KERN => "SCX_EXIT_UNREG_KERN",
        SCX_EXIT_SYSRQ => "SCX_EXIT_SYSRQ",
        SCX_EXIT_ERROR => "SCX_EXIT_ERROR",
        SCX_EXIT_ERROR_BPF => "SCX_EXIT_ERROR_BPF",
        SCX_EXIT_ERROR_STALL => "SCX_EXIT_ERROR_STALL",
        _ => "?",
    }
}

/// Exit status of the loader when the kernel ejected the scheduler with this kind.
/// Kinds >= 1024 are errors in the kernel's numbering; unknown kinds (incl. 0,
/// "could not tell") count as errors.
pub fn status_for_kind(code: i64) -> ExitStatus {
    match code {
        SCX_EXIT_ERROR_STALL => ExitStatus::EjectedStall,
        c if c >= SCX_EXIT_ERROR => ExitStatus::EjectedError,
        SCX_EXIT_DONE | SCX_EXIT_UNREG | SCX_EXIT_UNREG_BPF | SCX_EXIT_UNREG_KERN | SCX_EXIT_SYSRQ => {
            ExitStatus::EjectedUnregistered
        }
        c if (2..SCX_EXIT_ERROR).contains(&c) => ExitStatus::EjectedUnregistered,
        _ => ExitStatus::EjectedError,
    }
}

/// The reason text the kernel prints (scx_exit_reason()) for each kind.
pub fn kernel_reason(code: i64) -> Option<&'static str> {
    Some(match code {
        SCX_EXIT_DONE => "done",
        SCX_EXIT_UNREG => "unregistered from user space",
        SCX_EXIT_UNREG_BPF => "unregistered from BPF",
        SCX_EXIT_UNREG_KERN => "unregistered from the main kernel",
        SCX_EXIT_SYSRQ => "disabled by sysrq-S",
        SCX_EXIT_ERROR => "runtime error",
        SCX_EXIT_ERROR_BPF => "scx_bpf_error",
        SCX_EXIT_ERROR_STALL => "runnable task stall",
        _ => return None,
    })
}

/// Guess the kind from a kernel log line such as
/// `sched_ext: BPF scheduler "fifo" disabled (runnable task stall)`.
pub fn kind_from_text(text: &str) -> Option<i64> {
    // Longest reasons first: "unregistered from BPF" must not match as "unregistered from user space".
    let table = [
        (SCX_EXIT_ERROR_STALL, "runnable task stall"),
        (SCX_EXIT_ERROR_BPF, "scx_bpf_error"),
        (SCX_EXIT_ERROR, "runtime error"),
        (SCX_EXIT_UNREG_KERN, "unregistered from the main kernel"),
        (SCX_EXIT_UNREG_BPF, "unregistered from BPF"),
        (SCX_EXIT_UNREG, "unregistered from user space"),
        (SCX_EXIT_SYSRQ, "sysrq"),
    ];
    table.iter().find(|(_, needle)| text.contains(needle)).map(|(k, _)| *k)
}

/// Decoded user-exit-info record (`struct scx_user_exit_info`, UEI_DEFINE).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExitInfo {
    pub kind: i64,
    pub exit_code: i64,
    pub reason: String,
    pub message: String,
    /// Where it came from: "uei", "kmsg" or "sysfs".
    pub source: &'static str,
}

impl ExitInfo {
    pub fn status(&self) -> ExitStatus {
        status_for_kind(self.kind)
    }

    /// The `{"type":"exit", ...}` protocol line.
    pub fn to_json(&self, t_ms: u64) -> Value {
        json!({
            "type": "exit",
            "kind": kind_name(self.kind),
            "kind_code": self.kind,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "message": self.message,
            "source": self.source,
            "t_ms": t_ms,
            "loader_exit": self.status().code(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_mapping() {
        assert_eq!(kind_name(1), "done");
        assert_eq!(kind_name(64), "unregistered");
        assert_eq!(kind_name(65), "unregistered");
        assert_eq!(kind_name(66), "unregistered");
        assert_eq!(kind_name(67), "sysrq");
        assert_eq!(kind_name(1024), "error");
        assert_eq!(kind_name(1025), "error");
        assert_eq!(kind_name(1026), "stall");
        assert_eq!(kind_name(0), "unknown");
        assert_eq!(kind_name(4242), "unknown");
    }

    #[test]
    fn kind_to_exit_status() {
        assert_eq!(status_for_kind(1026).code(), 12);
        assert_eq!(status_for_kind(1025).code(), 11);
        assert_eq!(status_for_kind(1024).code(), 11);
        assert_eq!(status_for_kind(2000).code(), 11);
        assert_eq!(status_for_kind(64).code(), 10);
        assert_eq!(status_for_kind(65).code(), 10);
        assert_eq!(status_for_kind(66).code(), 10);
        assert_eq!(status_for_kind(67).code(), 10);
        assert_eq!(status_for_kind(1).code(), 10);
        assert_eq!(status_for_kind(0).code(), 11);
        assert_eq!(status_for_kind(-5).code(), 11);
    }

    #[test]
    fn exit_codes_are_stable() {
        let codes: Vec<i32> = ExitStatus::all().iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 2, 3, 4, 5, 6, 10, 11, 12]);
    }

    #[test]
    fn reasons_roundtrip() {
        for k in [1026, 1025, 1024, 66, 65, 64, 67] {
            let r = kernel_reason(k).unwrap();
            assert_eq!(kind_from_text(&format!("sched_ext: BPF scheduler \"x\" disabled ({r})")), Some(k), "{r}");
        }
        assert_eq!(kind_from_text("nothing here"), None);
    }

    #[test]
    fn exit_json_shape() {
        let e = ExitInfo {
            kind: 1026,
            exit_code: 0,
            reason: "runnable task stall".into(),
            message: "kworker[1] failed to run for 5.0s".into(),
            source: "uei",
        };
        let v = e.to_json(1234);
        assert_eq!(v["type"], "exit");
        assert_eq!(v["kind"], "stall");
        assert_eq!(v["kind_code"], 1026);
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["reason"], "runnable task stall");
        assert_eq!(v["t_ms"], 1234);
        assert_eq!(v["loader_exit"], 12);
    }
}
