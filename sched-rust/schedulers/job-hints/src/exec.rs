//! The exec watcher: attaches the scheduler's `joblen_exec` tracepoint
//! (`tp_btf/sched_process_exec`, in bpf-templates/scx_joblen.bpf.h), reads
//! its `job_execs` ring buffer on a thread of its own, matches each new
//! program's /proc entry against the rules (`rules.rs`) and writes the
//! expected length into the `job_lens` task storage (key: a pidfd), which
//! the scheduler reads in its order key. Processes that were already running
//! when the scheduler loaded are matched once, from a scan of /proc.
//!
//! With `learn`, the `joblen_exit` tracepoint (`tp_btf/sched_process_exit`)
//! is attached too: the CPU time of every program seen to exec is added up
//! over its threads and printed when it ends, as
//! `{"type":"job_done","pid","cmdline","cpu_ms","wall_ms","hint"}` with the
//! normalised command line (argv[0] as its basename, arguments joined by
//! spaces): what an earlier run teaches the next one (learned lengths).

use std::collections::HashMap;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scx_loader::libbpf_rs::{libbpf_sys, AsRawLibbpf, MapCore, MapFlags, MapHandle, RingBufferBuilder};
use scx_loader::{Emitter, HookCtx, HookError, ObjectInfo};
use serde_json::json;

use crate::rules::{best_match, ProcInfo, Rule};

pub const LENS_MAP: &str = "job_lens";
pub const EXECS_MAP: &str = "job_execs";
pub const EXEC_PROG: &str = "joblen_exec";
pub const EXIT_PROG: &str = "joblen_exit";
/// `struct exec_event.kind` (bpf-templates/scx_job_hints_intf.h, checked by `intf.rs`).
pub const JOB_EXEC: u32 = 1;
pub const JOB_EXIT: u32 = 2;
/// Bytes of `struct job_len` (the `job_lens` value) and of `struct exec_event`.
pub const JOB_LEN_SIZE: usize = 16;
pub const EXEC_EVENT_SIZE: usize = 24;
/// a program's other threads may report their exit just after its leader
const FINISH_GRACE: Duration = Duration::from_millis(200);
const BPF_MAP_TYPE_RINGBUF: u32 = 27;
const BPF_MAP_TYPE_TASK_STORAGE: u32 = 29;
/// job_hint lines printed at most (the counters keep counting).
const MAX_LINES: u64 = 2000;

/// Value of `job_lens` (struct job_len in scx_job_hints_intf.h): expected_ns, rule.
pub fn job_len_value(expect_ns: u64, rule_code: u64) -> [u8; JOB_LEN_SIZE] {
    let mut v = [0u8; JOB_LEN_SIZE];
    v[..8].copy_from_slice(&expect_ns.to_ne_bytes());
    v[8..].copy_from_slice(&rule_code.to_ne_bytes());
    v
}

/// A `job_execs` record (struct exec_event in scx_job_hints_intf.h), decoded:
/// (kind, pid, tgid, runtime_ns).
pub type ExecEvent = (u32, i32, i32, u64);

/// A `job_execs` record as an [`ExecEvent`]; None if it is too short.
pub fn parse_exec_event(d: &[u8]) -> Option<ExecEvent> {
    if d.len() < EXEC_EVENT_SIZE {
        return None;
    }
    let u = |i: usize| u32::from_ne_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    let rt = u64::from_ne_bytes([d[16], d[17], d[18], d[19], d[20], d[21], d[22], d[23]]);
    Some((u(8), u(0) as i32, u(4) as i32, rt))
}

/// The object must have the exec half of the job-length core.
pub fn check_object(info: &ObjectInfo) -> Result<(), HookError> {
    let need = "argv/cgroup/pgid/sid hints and --learn need the job-length core's exec half (bpf-templates/scx_joblen.bpf.h: job_lens, job_execs, joblen_exec, joblen_exit); comm hints work without it";
    check_object_inner(info, need)
}

fn check_object_inner(info: &ObjectInfo, need: &str) -> Result<(), HookError> {
    let lens = info
        .map(LENS_MAP)
        .ok_or_else(|| HookError::bad_input(format!("object has no BPF map named {LENS_MAP}")).with_hint(need))?;
    if lens.map_type != BPF_MAP_TYPE_TASK_STORAGE || lens.value_size as usize != JOB_LEN_SIZE {
        return Err(HookError::bad_input(format!(
            "map {LENS_MAP} must be task storage with a 16-byte value (struct job_len), is type {} value_size {}",
            scx_loader::objinfo::map_type_name(lens.map_type),
            lens.value_size
        )));
    }
    let ex = info
        .map(EXECS_MAP)
        .ok_or_else(|| HookError::bad_input(format!("object has no BPF map named {EXECS_MAP}")).with_hint(need))?;
    if ex.map_type != BPF_MAP_TYPE_RINGBUF {
        return Err(HookError::bad_input(format!("map {EXECS_MAP} must be a ring buffer")).with_hint(need));
    }
    Ok(())
}

#[derive(Default, Debug)]
pub struct Counts {
    pub execs: AtomicU64,
    pub matched: AtomicU64,
    pub unmatched: AtomicU64,
    pub gone: AtomicU64,
    pub errors: AtomicU64,
    pub done: AtomicU64,
    lines: AtomicU64,
}

impl Counts {
    pub fn json(&self) -> serde_json::Value {
        json!({
            "execs": self.execs.load(Ordering::Relaxed),
            "matched": self.matched.load(Ordering::Relaxed),
            "unmatched": self.unmatched.load(Ordering::Relaxed),
            "gone": self.gone.load(Ordering::Relaxed),
            "errors": self.errors.load(Ordering::Relaxed),
            "done": self.done.load(Ordering::Relaxed),
        })
    }
}

#[derive(Debug)]
pub struct ExecWatch {
    link: usize, // *mut bpf_link, kept for the process's life
    exit_link: usize,
    stop: Arc<AtomicBool>,
    pub counts: Arc<Counts>,
}

impl Drop for ExecWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for l in [self.link, self.exit_link] {
            if l != 0 {
                unsafe { libbpf_sys::bpf_link__destroy(l as *mut libbpf_sys::bpf_link) };
            }
        }
    }
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        None
    } else {
        Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }
}

/// The command line as learned lengths key it: argv[0] as its basename, the
/// arguments joined by single spaces (what an argv glob is matched against).
pub fn normalise(info: &ProcInfo) -> String {
    let mut v = info.argv.clone();
    if let Some(a0) = v.first_mut() {
        if let Some(b) = a0.rsplit('/').next() {
            *a0 = b.to_string();
        }
    }
    let mut s = v.join(" ");
    if s.len() > 4000 {
        let mut cut = 4000;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Match one process and write its length. Returns what was read and the
/// matched rule, as JSON (for the job_done line).
fn apply(
    lens: &MapHandle,
    rules: &Mutex<Vec<Rule>>,
    counts: &Counts,
    out: &mut Emitter,
    pid: i32,
    at: &str,
) -> Option<(ProcInfo, Option<serde_json::Value>)> {
    let Some(info) = ProcInfo::read("/proc", pid) else {
        counts.gone.fetch_add(1, Ordering::Relaxed);
        return None;
    };
    let rules = rules.lock().unwrap_or_else(|e| e.into_inner());
    let Some(rule) = best_match(&rules, &info) else {
        counts.unmatched.fetch_add(1, Ordering::Relaxed);
        return Some((info, None));
    };
    let summary = json!({"kind": rule.kind().name(), "rule": rule.index, "expect_ms": rule.expect_ns as f64 / 1e6, "source": rule.source});
    let Some(fd) = pidfd_open(pid) else {
        counts.gone.fetch_add(1, Ordering::Relaxed);
        return None;
    };
    let key = fd.as_fd().as_raw_fd_i32().to_ne_bytes();
    let val = job_len_value(rule.expect_ns, rule.code());
    match lens.update(&key, &val, MapFlags::ANY) {
        Ok(()) => {
            counts.matched.fetch_add(1, Ordering::Relaxed);
            if counts.lines.fetch_add(1, Ordering::Relaxed) < MAX_LINES {
                let mut cmd = info.cmdline();
                cmd.truncate(200);
                out.emit(&json!({
                    "type": "job_hint", "pid": pid, "at": at, "kind": rule.kind().name(), "rule": rule.index,
                    "pattern": rule.pattern(), "expect_ns": rule.expect_ns, "source": rule.source, "cmdline": cmd,
                }));
            }
        }
        Err(e) => {
            // ESRCH: it exited between the read and the write
            if e.to_string().contains("No such process") {
                counts.gone.fetch_add(1, Ordering::Relaxed);
            } else {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                out.emit(&json!({"type": "warning", "message": format!("writing {LENS_MAP} for pid {pid}: {e}")}));
            }
            return Some((info, None));
        }
    }
    Some((info, Some(summary)))
}

/// A program seen to exec, while it runs (learn mode).
struct Job {
    cmdline: String,
    started: Instant,
    /// the leader's CPU time at exec (not this program's)
    base_ns: u64,
    cpu_ns: u64,
    hint: Option<serde_json::Value>,
    ended: Option<Instant>,
}

fn attach(ctx: &HookCtx, name: &str) -> Result<usize, HookError> {
    let prog = ctx
        .object
        .progs()
        .find(|p| p.name() == name)
        .ok_or_else(|| HookError::new(format!("program {name} not found after load")))?;
    let link = unsafe { libbpf_sys::bpf_program__attach(prog.as_libbpf_object().as_ptr()) };
    let err = unsafe { libbpf_sys::libbpf_get_error(link as *const _) };
    if link.is_null() || err != 0 {
        return Err(HookError::new(format!("attaching {name} failed: error {err}")));
    }
    Ok(link as usize)
}

trait RawFdI32 {
    fn as_raw_fd_i32(&self) -> i32;
}
impl RawFdI32 for std::os::fd::BorrowedFd<'_> {
    fn as_raw_fd_i32(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.as_raw_fd()
    }
}

/// Attach the tracepoint(s), match what runs already, start the reader thread.
pub fn start(ctx: &mut HookCtx, rules: Arc<Mutex<Vec<Rule>>>, learn: bool) -> Result<ExecWatch, HookError> {
    let lens_map = ctx.map(LENS_MAP).ok_or_else(|| HookError::new(format!("map {LENS_MAP} not found after load")))?;
    let lens = MapHandle::try_from(&lens_map).map_err(|e| HookError::new(format!("{LENS_MAP}: {e}")))?;
    let execs_map =
        ctx.map(EXECS_MAP).ok_or_else(|| HookError::new(format!("map {EXECS_MAP} not found after load")))?;
    let execs = MapHandle::try_from(&execs_map).map_err(|e| HookError::new(format!("{EXECS_MAP}: {e}")))?;
    let link = attach(ctx, EXEC_PROG)?;
    let exit_link = if learn { attach(ctx, EXIT_PROG)? } else { 0 };
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let watch = ExecWatch { link, exit_link, stop: stop.clone(), counts: counts.clone() };

    // what runs already (the tracepoint is attached first, so nothing falls between)
    let mut out = Emitter::stdout();
    let me = std::process::id() as i32;
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
                if pid != me {
                    apply(&lens, &rules, &counts, &mut out, pid, "start");
                }
            }
        }
    }
    // the scan's non-matches are not news; count only exec-time ones
    counts.unmatched.store(0, Ordering::Relaxed);
    counts.gone.store(0, Ordering::Relaxed);
    ctx.emit(json!({"type": "exec_hints", "attached": EXEC_PROG, "learn": learn, "rules": rules.lock().map(|r| r.len()).unwrap_or(0), "at_start": counts.json()}));

    std::thread::Builder::new()
        .name("exec-hints".into())
        .spawn(move || {
            let pending: Arc<Mutex<Vec<ExecEvent>>> = Arc::default();
            let p2 = pending.clone();
            let mut b = RingBufferBuilder::new();
            if b.add(&execs, move |d: &[u8]| {
                if let Some(ev) = parse_exec_event(d) {
                    p2.lock().unwrap_or_else(|e| e.into_inner()).push(ev);
                }
                0
            })
            .is_err()
            {
                return;
            }
            let Ok(rb) = b.build() else { return };
            let mut out = Emitter::stdout();
            let mut jobs: HashMap<i32, Job> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                let _ = rb.poll(Duration::from_millis(100));
                let evs = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
                for (kind, pid, tgid, rt) in evs {
                    if kind == JOB_EXEC {
                        counts.execs.fetch_add(1, Ordering::Relaxed);
                        let r = apply(&lens, &rules, &counts, &mut out, tgid, "exec");
                        if let (true, Some((info, hint))) = (learn, r) {
                            let cmdline = normalise(&info);
                            jobs.insert(
                                tgid,
                                Job { cmdline, started: Instant::now(), base_ns: rt, cpu_ns: 0, hint, ended: None },
                            );
                        }
                    } else if kind == JOB_EXIT {
                        if let Some(j) = jobs.get_mut(&tgid) {
                            if pid == tgid {
                                j.cpu_ns += rt.saturating_sub(j.base_ns);
                                j.ended = Some(Instant::now());
                            } else {
                                j.cpu_ns += rt;
                            }
                        }
                    }
                }
                if learn {
                    let now = Instant::now();
                    let done: Vec<i32> = jobs
                        .iter()
                        .filter(|(_, j)| j.ended.is_some_and(|t| now - t >= FINISH_GRACE))
                        .map(|(p, _)| *p)
                        .collect();
                    for pid in done {
                        let j = jobs.remove(&pid).expect("listed");
                        counts.done.fetch_add(1, Ordering::Relaxed);
                        let ended = j.ended.unwrap_or(now);
                        out.emit(&json!({
                            "type": "job_done", "pid": pid, "cmdline": j.cmdline,
                            "cpu_ms": (j.cpu_ns as f64 / 1e4).round() / 100.0,
                            "wall_ms": ((ended - j.started).as_secs_f64() * 1e5).round() / 100.0,
                            "hint": j.hint,
                        }));
                    }
                }
            }
        })
        .map_err(|e| HookError::new(format!("starting the exec reader: {e}")))?;
    Ok(watch)
}
