//! Test support (used by this workspace's tests): compile the BPF fixtures in
//! `sched-rust/tests/bpf/` with clang.
//!
//! Headers: a real kernel's `vmlinux.h` + `scx_target_api.h` when one is
//! found ($SCX_KERNEL_DIR, else `<cache>/kernels/*/` with <cache> =
//! $SCX_MCP_CACHE, $XDG_CACHE_HOME/scx-mcp or ~/.cache/scx-mcp), otherwise
//! the abridged `tests/bpf/mini/` stand-ins (good for open/inspect only).
//! clang: $CLANG, else clang-19, else clang. Without clang, `build` returns
//! None and the caller skips with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn fixtures_dir() -> PathBuf {
    workspace_dir().join("tests").join("bpf")
}

/// bpf-templates/ (scx_common.bpf.h), next to sched-rust/ in the repo.
pub fn templates_dir() -> PathBuf {
    std::env::var_os("SCX_TEMPLATES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().parent().unwrap().join("bpf-templates"))
}

pub fn clang() -> Option<PathBuf> {
    let candidates: Vec<String> = match std::env::var("CLANG") {
        Ok(c) => vec![c],
        Err(_) => vec!["clang-19".into(), "clang".into()],
    };
    candidates
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().map(|o| o.status.success()).unwrap_or(false))
        .map(PathBuf::from)
}

/// (include dir, is a real kernel's headers)
pub fn kernel_headers() -> (PathBuf, bool) {
    let ok = |d: &Path| d.join("vmlinux.h").is_file() && d.join("scx_target_api.h").is_file();
    if let Some(d) = std::env::var_os("SCX_KERNEL_DIR").map(PathBuf::from) {
        if ok(&d) {
            return (d, true);
        }
    }
    let mut caches = Vec::new();
    if let Some(c) = std::env::var_os("SCX_MCP_CACHE") {
        caches.push(PathBuf::from(c));
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        caches.push(PathBuf::from(x).join("scx-mcp"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        caches.push(PathBuf::from(h).join(".cache").join("scx-mcp"));
    }
    for c in caches {
        let Ok(rd) = std::fs::read_dir(c.join("kernels")) else { continue };
        let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| ok(p)).collect();
        dirs.sort();
        if let Some(d) = dirs.pop() {
            return (d, true);
        }
    }
    (fixtures_dir().join("mini"), false)
}

static LOCK: Mutex<()> = Mutex::new(());

/// Compile `tests/bpf/<name>.bpf.c` into `out_dir`; None (with a SKIP line on
/// stderr) when clang or bpf-templates is missing. Panics on compile errors.
pub fn build(name: &str, out_dir: &Path) -> Option<PathBuf> {
    build_src(&fixtures_dir().join(format!("{name}.bpf.c")), name, out_dir)
}

/// Same as [`build`] for any source file (e.g. bpf-templates/fifo/fifo.bpf.c).
pub fn build_src(src: &Path, name: &str, out_dir: &Path) -> Option<PathBuf> {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(clang) = clang() else {
        eprintln!("SKIP: clang not found (install clang-19 or set CLANG=...): BPF fixture {name} not built");
        return None;
    };
    let templates = templates_dir();
    if !templates.join("scx_common.bpf.h").is_file() {
        eprintln!("SKIP: {} has no scx_common.bpf.h: BPF fixture {name} not built", templates.display());
        return None;
    }
    let (kdir, real) = kernel_headers();
    std::fs::create_dir_all(out_dir).unwrap();
    let out = out_dir.join(format!("{name}{}.bpf.o", if real { "" } else { ".mini" }));
    let src = src.to_path_buf();
    let fresh = |o: &Path| -> bool {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        match (m(o), m(&src), m(&templates.join("scx_common.bpf.h"))) {
            (Some(o), Some(s), Some(t)) => o >= s && o >= t,
            _ => false,
        }
    };
    if fresh(&out) {
        return Some(out);
    }
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let res = Command::new(&clang)
        .args(["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-mcpu=v3", "-Wall"])
        .arg(format!("-I{}", templates.display()))
        .arg("-isystem")
        .arg(&kdir)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&tmp)
        .output()
        .expect("run clang");
    assert!(res.status.success(), "clang failed for {}:\n{}", src.display(), String::from_utf8_lossy(&res.stderr));
    std::fs::rename(&tmp, &out).unwrap();
    Some(out)
}
