//! Environment checks (root, sched_ext present and idle) and sysfs state.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// `/sys/kernel/sched_ext` (overridable with SCX_LOADER_SYSFS for tests).
#[derive(Debug, Clone)]
pub struct SchedExtSysfs {
    pub root: PathBuf,
}

impl Default for SchedExtSysfs {
    fn default() -> Self {
        let root = std::env::var_os("SCX_LOADER_SYSFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/sys/kernel/sched_ext"));
        SchedExtSysfs { root }
    }
}

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

impl SchedExtSysfs {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        SchedExtSysfs { root: root.into() }
    }
    pub fn present(&self) -> bool {
        self.root.is_dir()
    }
    /// "enabled", "enabling", "disabling", "disabled", ...
    pub fn state(&self) -> Option<String> {
        read_trim(&self.root.join("state"))
    }
    /// Name of the active root scheduler, if any.
    pub fn active_ops(&self) -> Option<String> {
        read_trim(&self.root.join("root").join("ops")).filter(|s| !s.is_empty())
    }
    /// The kernel's sched_ext event counters (`root/events`, kernels >= 6.15), e.g.
    /// SCX_EV_SELECT_CPU_FALLBACK; None where the file does not exist.
    pub fn events(&self) -> Option<BTreeMap<String, u64>> {
        fs::read_to_string(self.root.join("root").join("events")).ok().map(|t| parse_events(&t))
    }
}

/// `NAME value` lines of `root/events`; lines that are not that shape are skipped.
pub fn parse_events(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            match (it.next(), it.next(), it.next()) {
                (Some(k), Some(v), None) if k.starts_with("SCX_EV_") => v.parse().ok().map(|n| (k.to_string(), n)),
                _ => None,
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// not_root | no_sched_ext | busy
    pub code: &'static str,
    pub message: String,
    pub hint: String,
}

/// Check that we can load a scheduler. `need_idle`: also require that no
/// other sched_ext scheduler is active (needed to attach, not to load).
pub fn check(euid: u32, sysfs: &SchedExtSysfs, need_idle: bool) -> Result<(), EnvError> {
    if euid != 0 {
        return Err(EnvError {
            code: "not_root",
            message: format!("must run as root to load BPF schedulers (euid is {euid})"),
            hint: "run scx-loader as root inside the sandbox VM".into(),
        });
    }
    if !sysfs.present() {
        return Err(EnvError {
            code: "no_sched_ext",
            message: format!("kernel without sched_ext: {} does not exist", sysfs.root.display()),
            hint: "boot a kernel built with CONFIG_SCHED_CLASS_EXT=y (the sandbox VM's kernel)".into(),
        });
    }
    if need_idle {
        let state = sysfs.state().unwrap_or_default();
        if !state.is_empty() && state != "disabled" {
            let ops = sysfs.active_ops().unwrap_or_else(|| "?".into());
            return Err(EnvError {
                code: "busy",
                message: format!("another sched_ext scheduler is active: {ops} (state {state})"),
                hint: "stop the running scheduler first (kill its loader or remove its bpffs pin)".into(),
            });
        }
    }
    Ok(())
}

pub fn euid() -> u32 {
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(state: Option<&str>, ops: Option<&str>) -> (tempdir::Dir, SchedExtSysfs) {
        let d = tempdir::Dir::new();
        let root = d.0.join("sched_ext");
        fs::create_dir_all(root.join("root")).unwrap();
        if let Some(s) = state {
            fs::write(root.join("state"), format!("{s}\n")).unwrap();
        }
        if let Some(o) = ops {
            fs::write(root.join("root/ops"), format!("{o}\n")).unwrap();
        }
        (d, SchedExtSysfs::at(root))
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "scx-loader-env-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn events() {
        let t = "SCX_EV_SELECT_CPU_FALLBACK 12\nSCX_EV_BYPASS_DURATION 0\ngarbage line here\nSCX_EV_X notanumber\n";
        let e = parse_events(t);
        assert_eq!(e.len(), 2);
        assert_eq!(e["SCX_EV_SELECT_CPU_FALLBACK"], 12);
        let (_d, s) = fake(Some("enabled"), Some("fifo"));
        assert_eq!(s.events(), None);
        fs::write(s.root.join("root/events"), t).unwrap();
        assert_eq!(s.events().unwrap()["SCX_EV_BYPASS_DURATION"], 0);
    }

    #[test]
    fn not_root() {
        let (_d, s) = fake(Some("disabled"), None);
        let e = check(1000, &s, true).unwrap_err();
        assert_eq!(e.code, "not_root");
        assert!(e.message.contains("root"));
    }

    #[test]
    fn no_sched_ext() {
        let s = SchedExtSysfs::at("/nonexistent/sched_ext");
        let e = check(0, &s, true).unwrap_err();
        assert_eq!(e.code, "no_sched_ext");
        assert!(e.message.starts_with("kernel without sched_ext"));
    }

    #[test]
    fn busy_and_idle() {
        let (_d, s) = fake(Some("enabled"), Some("scx_rusty"));
        let e = check(0, &s, true).unwrap_err();
        assert_eq!(e.code, "busy");
        assert_eq!(e.message, "another sched_ext scheduler is active: scx_rusty (state enabled)");
        // loading without attaching does not need an idle sched_ext
        assert!(check(0, &s, false).is_ok());
        let (_d2, idle) = fake(Some("disabled"), None);
        assert!(check(0, &idle, true).is_ok());
        assert_eq!(idle.state().as_deref(), Some("disabled"));
        assert_eq!(idle.active_ops(), None);
    }
}
