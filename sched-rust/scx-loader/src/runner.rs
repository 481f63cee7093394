//! The load → attach → watch → detach sequence, with hooks for
//! scheduler-specific userspace code.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use libbpf_rs::{Link, Map, MapCore, MapFlags, Object, ObjectBuilder, OpenObject};
use serde_json::{json, Map as JMap, Value};

use crate::cli::{ParamArgs, RunArgs};
use crate::env::{self, SchedExtSysfs};
use crate::exit::{self, ExitInfo, ExitStatus};
use crate::failure;
use crate::kmsg::Kmsg;
use crate::libbpf_log;
use crate::objinfo::{ObjectInfo, StructOpsDesc};
use crate::output::{event, Emitter};
use crate::params::{self, ParamError, ResolvedParam};
use crate::verifier;

/// Largest sched_ext_ops.timeout_ms the kernel accepts (SCX_WATCHDOG_MAX_TIMEOUT = 30 s).
pub const MAX_TIMEOUT_MS: u32 = 30_000;
/// How often the exit record / sysfs state are polled.
pub const POLL_MS: u64 = 100;
/// After sysfs/link say "gone", how long to wait for ops.exit to fill `uei`.
pub const UEI_GRACE_MS: u64 = 1000;

/// A failed stage: the `{"type":"error"}` line and the exit status.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: ExitStatus,
    pub event: Value,
}

impl Failure {
    pub fn new(
        status: ExitStatus,
        stage: &str,
        message: impl Into<String>,
        hint: Option<&str>,
        extra: Value,
    ) -> Failure {
        let message = message.into();
        let mut m = JMap::new();
        m.insert("type".into(), json!("error"));
        m.insert("stage".into(), json!(stage));
        m.insert("message".into(), json!(message));
        m.insert("hint".into(), json!(hint));
        if let Value::Object(x) = extra {
            for (k, v) in x {
                m.insert(k, v);
            }
        }
        // every error line says what failed and what to do (failure.rs); a rejected load brings its own
        if !m.contains_key("failure") {
            m.insert("failure".into(), failure::plain(stage, &message, hint).to_json());
        }
        m.insert("exit_code".into(), json!(status.code()));
        Failure { status, event: Value::Object(m) }
    }
}

/// Error returned by a hook.
#[derive(Debug, Clone)]
pub struct HookError {
    pub message: String,
    pub hint: Option<String>,
    /// Exit status to use (HookFailed by default; BadArgs for input problems).
    pub status: ExitStatus,
}

impl HookError {
    pub fn new(message: impl Into<String>) -> HookError {
        HookError { message: message.into(), hint: None, status: ExitStatus::HookFailed }
    }
    pub fn bad_input(message: impl Into<String>) -> HookError {
        HookError { message: message.into(), hint: None, status: ExitStatus::BadArgs }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> HookError {
        self.hint = Some(hint.into());
        self
    }
}

/// What a hook sees once the object is loaded.
pub struct HookCtx<'a> {
    pub object: &'a Object,
    pub info: &'a ObjectInfo,
    /// ms since attach (0 before attach).
    pub t_ms: u64,
    pub attached: bool,
    emitter: &'a mut Emitter,
}

impl<'a> HookCtx<'a> {
    /// A loaded map by name (`job_hints`, or libbpf's names for data sections).
    pub fn map(&self, name: &str) -> Option<Map<'a>> {
        self.object.maps().find(|m| m.name() == name)
    }
    /// Print a protocol line (give it a "type").
    pub fn emit(&mut self, v: Value) {
        self.emitter.emit(&v);
    }
}

/// Scheduler-specific userspace code plugged into the loader.
pub trait Hook {
    fn name(&self) -> &str;
    /// After open and parameters, before load. No kernel needed: validate
    /// against the object here (also called by host-side checks).
    fn before_load(&mut self, _obj: &mut OpenObject, _info: &ObjectInfo) -> Result<(), HookError> {
        Ok(())
    }
    /// After load, before attach: maps exist in the kernel; fill them here.
    fn after_load(&mut self, _ctx: &mut HookCtx) -> Result<(), HookError> {
        Ok(())
    }
    /// Right after the scheduler is enabled.
    fn after_attach(&mut self, _ctx: &mut HookCtx) -> Result<(), HookError> {
        Ok(())
    }
    /// At each stats interval while attached. Errors are reported as warnings.
    fn on_tick(&mut self, _ctx: &mut HookCtx) -> Result<(), HookError> {
        Ok(())
    }
    /// Extra fields merged into the `loaded` line / check output.
    fn describe(&self) -> Option<Value> {
        None
    }
}

/// An opened object with parameters applied, ready to load.
pub struct Prepared {
    pub open: OpenObject,
    pub info: ObjectInfo,
    pub ops: StructOpsDesc,
    pub resolved: Vec<ResolvedParam>,
    /// Effective timeout_ms in the ops data (None when 0/unset).
    pub timeout_ms: Option<u64>,
    pub warnings: Vec<String>,
}

/// Open an object with libbpf (no kernel involved) and describe it.
pub fn open_object(path: &Path) -> Result<(OpenObject, ObjectInfo), Failure> {
    if !path.is_file() {
        return Err(Failure::new(
            ExitStatus::BadArgs,
            "open",
            format!("object file not found: {}", path.display()),
            None,
            json!({"code": "not_found"}),
        ));
    }
    let open = ObjectBuilder::default().open_file(path).map_err(|e| {
        Failure::new(
            ExitStatus::BadArgs,
            "open",
            format!("libbpf could not open {}: {e}", path.display()),
            Some("is it a BPF object built with clang -target bpf -g?"),
            json!({"code": "open_failed", "libbpf_errors": libbpf_log::warnings()}),
        )
    })?;
    let info = ObjectInfo::from_open(&open, path).map_err(|e| {
        Failure::new(
            ExitStatus::BadArgs,
            "open",
            e,
            Some("compile with -g so the object carries BTF"),
            json!({"code": "no_btf"}),
        )
    })?;
    Ok((open, info))
}

fn params_failure(errors: Vec<ParamError>) -> Failure {
    let message = if errors.len() == 1 {
        errors[0].message.clone()
    } else {
        format!(
            "{} parameter errors: {}",
            errors.len(),
            errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
        )
    };
    let code = errors[0].code;
    Failure::new(
        ExitStatus::BadArgs,
        "params",
        message,
        None,
        json!({"code": code, "errors": errors.iter().map(|e| e.to_json()).collect::<Vec<_>>()}),
    )
}

/// Open the object, pick the ops table, validate and apply parameters and timeout.
pub fn prepare(path: &Path, pa: &ParamArgs) -> Result<Prepared, Failure> {
    let (mut open, info) = open_object(path)?;
    let ops = info
        .select_ops(pa.ops.as_deref())
        .map_err(|m| {
            let code = if info.struct_ops.is_empty() {
                "no_struct_ops"
            } else if pa.ops.is_some() {
                "unknown_ops"
            } else {
                "ambiguous_ops"
            };
            Failure::new(
                ExitStatus::BadArgs,
                "open",
                m,
                Some("a scheduler defines its ops table with SCX_OPS_DEFINE(name, ...) from scx_common.bpf.h"),
                json!({"code": code, "struct_ops": info.struct_ops.iter().map(|s| s.to_json()).collect::<Vec<_>>()}),
            )
        })?
        .clone();

    let mut errors = Vec::new();
    let mut ranges = Vec::new();
    for r in &pa.param_ranges {
        match params::parse_range(r) {
            Ok(r) => ranges.push(r),
            Err(e) => errors.push(e),
        }
    }
    let resolved = match params::resolve(&info.params, &pa.params, &ranges) {
        Ok(r) => r,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    if let Some(t) = pa.timeout_ms {
        if t > MAX_TIMEOUT_MS {
            errors.push(ParamError {
                code: "out_of_range",
                param: Some("timeout_ms".into()),
                value: Some(t.to_string()),
                message: format!("--timeout-ms {t} is out of range: the kernel accepts at most {MAX_TIMEOUT_MS} ms (0 keeps the object's value)"),
                extra: JMap::new(),
            });
        } else if t > 0 && ops.timeout_field.is_none() {
            errors.push(ParamError {
                code: "unsupported_type",
                param: Some("timeout_ms".into()),
                value: Some(t.to_string()),
                message: format!("struct {} of ops map {} has no timeout_ms member", ops.type_name, ops.map),
                extra: JMap::new(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(params_failure(errors));
    }
    let mut warnings: Vec<String> = params::unknown_range_names(&info.params, &ranges)
        .into_iter()
        .map(|n| format!("--param-range given for {n:?}, which this object does not have"))
        .collect();
    if info.uei.is_none() {
        warnings.push("no `uei` exit record (UEI_DEFINE(uei)): exit reasons will come from the kernel log only".into());
    }

    // Apply parameters to the .rodata initial values.
    for r in &resolved {
        let def = info.params.iter().find(|d| d.name == r.name).expect("resolved against defs");
        let scalar = def.scalar.as_ref().expect("resolved params are scalar");
        let Some(map_name) = def.map.as_deref() else {
            return Err(Failure::new(
                ExitStatus::BadArgs,
                "params",
                format!("no map found for section {} of parameter {}", def.section, def.name),
                None,
                json!({"code": "no_section_map"}),
            ));
        };
        let mut done = false;
        for mut m in open.maps_mut() {
            if m.name() != map_name {
                continue;
            }
            if let Some(data) = m.initial_value_mut() {
                if let Some(slot) = data.get_mut(def.offset..def.offset + scalar.size) {
                    scalar.encode(r.value, slot);
                    done = true;
                }
            }
        }
        if !done {
            return Err(Failure::new(
                ExitStatus::BadArgs,
                "params",
                format!("could not write parameter {} into map {map_name}", def.name),
                None,
                json!({"code": "write_failed"}),
            ));
        }
    }

    // Timeout and struct_ops selection.
    let mut timeout_ms = ops.timeout_ms.filter(|t| *t > 0);
    for mut m in open.maps_mut() {
        if u32::from(m.map_type()) != crate::objinfo::BPF_MAP_TYPE_STRUCT_OPS {
            continue;
        }
        if m.name() != ops.map.as_str() {
            // Only the selected ops table is created and attached.
            let _ = m.set_autocreate(false);
            continue;
        }
        if let (Some(t), Some((off, size))) = (pa.timeout_ms.filter(|t| *t > 0), ops.timeout_field) {
            let data = m.initial_value_mut().ok_or_else(|| {
                Failure::new(
                    ExitStatus::BadArgs,
                    "params",
                    "libbpf gives no access to the struct_ops data (needs libbpf >= 1.5)",
                    None,
                    json!({"code": "write_failed"}),
                )
            })?;
            let slot = data.get_mut(off..off + size).ok_or_else(|| {
                Failure::new(
                    ExitStatus::BadArgs,
                    "params",
                    "timeout_ms outside struct_ops data",
                    None,
                    json!({"code": "write_failed"}),
                )
            })?;
            params::Scalar::unsigned(size).encode(t as i128, slot);
            timeout_ms = Some(t as u64);
        }
    }
    Ok(Prepared { open, info, ops, resolved, timeout_ms, warnings })
}

/// `check-params`: validate without loading. Returns the JSON line and status.
pub fn check_params(path: &Path, pa: &ParamArgs, hooks: &mut [Box<dyn Hook + '_>]) -> (Value, ExitStatus) {
    match prepare(path, pa) {
        Err(f) => (with_ok_false(f.event), f.status),
        Ok(mut p) => {
            for h in hooks.iter_mut() {
                if let Err(e) = h.before_load(&mut p.open, &p.info) {
                    let f = hook_failure(h.name(), "before_load", e);
                    return (with_ok_false(f.event), f.status);
                }
            }
            let set: JMap<String, Value> = p
                .resolved
                .iter()
                .map(|r| {
                    let d = p.info.params.iter().find(|d| d.name == r.name).unwrap();
                    (r.name.clone(), d.scalar.as_ref().unwrap().to_json(r.value))
                })
                .collect();
            let mut v = json!({
                "type": "check-params",
                "ok": true,
                "object": path.display().to_string(),
                "ops": p.ops.display_name(),
                "map": p.ops.map,
                "params": params::effective_json(&p.info.params, &p.resolved),
                "set": set,
                "timeout_ms": p.timeout_ms,
                "warnings": p.warnings,
            });
            for h in hooks.iter() {
                if let Some(Value::Object(extra)) = h.describe() {
                    for (k, x) in extra {
                        v[k] = x;
                    }
                }
            }
            (v, ExitStatus::Ok)
        }
    }
}

fn with_ok_false(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("ok".into(), json!(false));
    }
    v
}

fn hook_failure(hook: &str, phase: &str, e: HookError) -> Failure {
    Failure::new(
        e.status,
        "hook",
        format!("{hook}: {}", e.message),
        e.hint.as_deref(),
        json!({"hook": hook, "phase": phase}),
    )
}

// ---- signals -----------------------------------------------------------

static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALLED.store(sig, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(s, &sa, std::ptr::null_mut());
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}

fn bump_memlock() {
    let r = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    unsafe {
        libc::setrlimit(libc::RLIMIT_MEMLOCK, &r);
    }
}

fn link_hung_up(link: &Link) -> bool {
    let mut p = libc::pollfd { fd: link.as_fd().as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0
}

fn read_section(obj: &Object, map: &str) -> Option<Vec<u8>> {
    let m = obj.maps().find(|m| m.name() == map)?;
    m.lookup(&0u32.to_ne_bytes(), MapFlags::ANY).ok().flatten()
}

/// Current value of every `stat_*` counter.
pub fn read_stats(obj: &Object, info: &ObjectInfo) -> Value {
    let mut sections: BTreeMap<&str, Option<Vec<u8>>> = BTreeMap::new();
    let mut out = JMap::new();
    for s in &info.stats {
        let Some(map) = s.loc.map.as_deref() else {
            out.insert(s.name.clone(), Value::Null);
            continue;
        };
        let bytes = sections.entry(map).or_insert_with(|| read_section(obj, map));
        out.insert(s.name.clone(), bytes.as_deref().map(|b| s.decode(b)).unwrap_or(Value::Null));
    }
    Value::Object(out)
}

fn read_uei(obj: &Object, info: &ObjectInfo) -> Option<ExitInfo> {
    let u = info.uei.as_ref()?;
    let bytes = read_section(obj, u.loc.map.as_deref()?)?;
    u.decode(&bytes)
}

fn read_params(obj: &Object, info: &ObjectInfo, resolved: &[ResolvedParam]) -> Value {
    // Read back from the kernel's .rodata map; fall back to what was written.
    let mut out = JMap::new();
    let mut cache: BTreeMap<&str, Option<Vec<u8>>> = BTreeMap::new();
    for d in &info.params {
        let Ok(s) = &d.scalar else { continue };
        let live = d.map.as_deref().and_then(|m| {
            cache
                .entry(m)
                .or_insert_with(|| read_section(obj, m))
                .as_deref()
                .and_then(|b| b.get(d.offset..))
                .and_then(|b| s.decode(b))
        });
        let v = live.or_else(|| resolved.iter().find(|r| r.name == d.name).map(|r| r.value)).or(d.default);
        out.insert(d.name.clone(), v.map(|v| s.to_json(v)).unwrap_or(Value::Null));
    }
    Value::Object(out)
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// The generic loader: `Loader::new(args).hook(MyHook).run()`.
pub struct Loader<'h> {
    args: RunArgs,
    hooks: Vec<Box<dyn Hook + 'h>>,
    emitter: Emitter,
    sysfs: SchedExtSysfs,
}

enum Ending {
    Detached(&'static str, Option<i32>),
    Ejected(ExitInfo, Vec<String>),
}

impl<'h> Loader<'h> {
    pub fn new(args: RunArgs) -> Self {
        Loader { args, hooks: Vec::new(), emitter: Emitter::stdout(), sysfs: SchedExtSysfs::default() }
    }

    pub fn hook(mut self, h: impl Hook + 'h) -> Self {
        self.hooks.push(Box::new(h));
        self
    }

    pub fn emitter(mut self, e: Emitter) -> Self {
        self.emitter = e;
        self
    }

    pub fn sysfs(mut self, s: SchedExtSysfs) -> Self {
        self.sysfs = s;
        self
    }

    /// Run to the end; prints the protocol lines and returns the exit status.
    pub fn run(mut self) -> ExitStatus {
        libbpf_log::install(self.args.verbose);
        match self.run_inner() {
            Ok(s) => s,
            Err(f) => {
                self.emitter.emit(&f.event);
                f.status
            }
        }
    }

    fn run_inner(&mut self) -> Result<ExitStatus, Failure> {
        let args = self.args.clone();
        let mut p = prepare(&args.object, &args.params)?;
        for w in &p.warnings {
            self.emitter.emit(&event("warning", json!({"message": w})));
        }
        for h in self.hooks.iter_mut() {
            h.before_load(&mut p.open, &p.info).map_err(|e| hook_failure(h.name(), "before_load", e))?;
        }

        env::check(env::euid(), &self.sysfs, !args.load_only).map_err(|e| {
            Failure::new(ExitStatus::Environment, "env", e.message, Some(&e.hint), json!({"code": e.code}))
        })?;
        bump_memlock();
        let mut kmsg = Kmsg::open_at_end();

        // ---- load
        let Prepared { mut open, info, ops, resolved, timeout_ms, .. } = p;
        let budget = VerifyBudget::arm(args.verify_timeout_s);
        // First load at BPF_LOG_STATS into a small buffer of our own: the verifier's messages and
        // counters, no trace. With its own buffer libbpf neither loads again at log level 1 by itself
        // nor doubles a 16 MB buffer until a million-instruction trace fits.
        let short_logs = LogBufs::attach(&mut open, 4, verifier::SHORT_LOG_BYTES);
        let t0 = Instant::now();
        libbpf_log::take(); // only this load's messages matter now
        let mut stats_logs = &short_logs;
        let verbose_logs;
        let mut obj = match open.load() {
            Ok(o) => o,
            Err(e) => {
                let short = short_logs.failed(&libbpf_log::warnings());
                // a short log that did not fit its buffer (ENOSPC) says nothing about the program: load again
                let log_overflow = e.to_string().contains("os error 28");
                if !log_overflow && !short.as_ref().is_some_and(|(_, log)| verifier::verbose_reload_needed(log)) {
                    return Err(load_failure(&e.to_string(), short, &mut kmsg));
                }
                // once, at log level 1, where the short log does not say where it failed
                let mut again = prepare(&args.object, &args.params)?;
                for h in self.hooks.iter_mut() {
                    h.before_load(&mut again.open, &again.info)
                        .map_err(|e| hook_failure(h.name(), "before_load", e))?;
                }
                // after an overflow at level 4: level 0 (libbpf asks for level 1, into our buffer, only if it fails)
                verbose_logs =
                    LogBufs::attach(&mut again.open, if log_overflow { 0 } else { 1 }, verifier::VERBOSE_LOG_BYTES);
                libbpf_log::take();
                match again.open.load() {
                    Ok(o) => {
                        stats_logs = &verbose_logs;
                        o
                    }
                    Err(e) => {
                        let verbose = verbose_logs.failed(&libbpf_log::warnings()).or(short);
                        return Err(load_failure(&e.to_string(), verbose, &mut kmsg));
                    }
                }
            }
        };
        budget.disarm();
        let load_ms = ms(t0.elapsed());
        let verifier_stats = if args.verifier_stats {
            Some(
                stats_logs
                    .logs()
                    .iter()
                    .filter(|(_, l)| !l.is_empty())
                    .map(|(p, l)| verifier::stats_from_log(p, l))
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        let mut loaded = json!({
            "type": "loaded",
            "ops": ops.display_name(),
            "map": ops.map,
            "object": args.object.display().to_string(),
            "params": read_params(&obj, &info, &resolved),
            "load_ms": load_ms,
            "timeout_ms": timeout_ms,
            "stats": info.stats.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "uei": info.uei.is_some(),
            "loader": crate::loader_info(),
        });
        for h in self.hooks.iter() {
            if let Some(Value::Object(extra)) = h.describe() {
                for (k, v) in extra {
                    loaded[k] = v;
                }
            }
        }
        self.emitter.emit(&loaded);
        if let Some(st) = verifier_stats {
            self.emitter.emit(
                &json!({"type": "verifier_stats", "programs": st.iter().map(|p| p.to_json()).collect::<Vec<_>>()}),
            );
        }

        {
            let mut ctx = HookCtx { object: &obj, info: &info, t_ms: 0, attached: false, emitter: &mut self.emitter };
            for h in self.hooks.iter_mut() {
                h.after_load(&mut ctx).map_err(|e| hook_failure(h.name(), "after_load", e))?;
            }
        }

        if args.load_only {
            drop(obj);
            self.emitter.emit(&event("unloaded", json!({"reason": "load-only"})));
            return Ok(ExitStatus::Ok);
        }

        // ---- attach
        install_signal_handlers();
        let t1 = Instant::now();
        let link = {
            let mut maps = obj.maps_mut();
            let mut m = maps.find(|m| m.name() == ops.map.as_str()).ok_or_else(|| {
                Failure::new(
                    ExitStatus::AttachFailed,
                    "attach",
                    format!("struct_ops map {} missing after load", ops.map),
                    None,
                    json!({}),
                )
            })?;
            m.attach_struct_ops()
        };
        let link = match link {
            Ok(l) => l,
            Err(e) => {
                std::thread::sleep(Duration::from_millis(100)); // let ops.exit / the kernel log catch up
                let uei = read_uei(&obj, &info);
                let klog = kmsg.read_new("sched_ext", 50);
                let msg = e.to_string();
                let hint = if msg.contains("Device or resource busy") || msg.contains("EBUSY") {
                    "another sched_ext scheduler was attached meanwhile"
                } else if uei.is_some() {
                    "ops.init() or enabling failed; see the exit record and kernel log"
                } else {
                    "the kernel refused to enable the scheduler; see kernel_log (dmesg)"
                };
                return Err(Failure::new(
                    ExitStatus::AttachFailed,
                    "attach",
                    format!("attaching struct_ops {} failed: {msg}", ops.map),
                    Some(hint),
                    json!({
                        "exit": uei.map(|u| u.to_json(0)),
                        "kernel_log": klog,
                        "libbpf_errors": libbpf_log::warnings(),
                    }),
                ));
            }
        };
        let attached_at = Instant::now();
        self.emitter.emit(&json!({
            "type": "attached",
            "ops": ops.display_name(),
            "map": ops.map,
            "attach_ms": ms(t1.elapsed()),
            "state": self.sysfs.state(),
            "sysfs_ops": self.sysfs.active_ops(),
            "pid": std::process::id(),
        }));
        {
            let mut ctx = HookCtx { object: &obj, info: &info, t_ms: 0, attached: true, emitter: &mut self.emitter };
            for h in self.hooks.iter_mut() {
                if let Err(e) = h.after_attach(&mut ctx) {
                    let f = hook_failure(h.name(), "after_attach", e);
                    let _ = link.detach();
                    drop(link);
                    return Err(f);
                }
            }
        }

        // ---- watch
        let ending = self.watch(&obj, &info, &link, attached_at, &mut kmsg);
        let t_ms = ms(attached_at.elapsed());
        let final_stats =
            |o: &Object| json!({"type": "stats", "t_ms": t_ms, "final": true, "stats": read_stats(o, &info)});
        match ending {
            Ending::Ejected(exit, klog) => {
                self.emitter.emit(&final_stats(&obj));
                let mut v = exit.to_json(t_ms);
                v["kernel_log"] = json!(klog);
                self.emitter.emit(&v);
                drop(link);
                Ok(exit.status())
            }
            Ending::Detached(reason, sig) => {
                self.emitter.emit(&final_stats(&obj));
                let _ = link.detach();
                drop(link);
                // Wait for the kernel to finish disabling (bounded).
                self.wait_disabled(Duration::from_millis(UEI_GRACE_MS));
                let exit = read_uei(&obj, &info);
                self.emitter.emit(&json!({
                    "type": "detached",
                    "reason": reason,
                    "signal": sig.map(signal_name),
                    "t_ms": ms(attached_at.elapsed()),
                    "state": self.sysfs.state(),
                    "exit": exit.map(|e| e.to_json(t_ms)),
                }));
                Ok(ExitStatus::Ok)
            }
        }
    }

    /// Wait (bounded) until sysfs says "disabled" (or there is no sysfs).
    fn wait_disabled(&self, max: Duration) {
        let t = Instant::now();
        while t.elapsed() < max {
            match self.sysfs.state().as_deref() {
                Some("disabled") | None => return,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn watch(&mut self, obj: &Object, info: &ObjectInfo, link: &Link, attached_at: Instant, kmsg: &mut Kmsg) -> Ending {
        let interval = self.args.stats_interval_ms;
        let poll = Duration::from_millis(if interval > 0 { interval.clamp(10, POLL_MS) } else { POLL_MS });
        let deadline = self.args.duration_s.filter(|d| *d >= 0.0).map(|d| attached_at + Duration::from_secs_f64(d));
        let mut next_stats = attached_at + Duration::from_millis(interval.max(1));
        let mut gone_since: Option<Instant> = None;
        loop {
            let sig = SIGNALLED.load(Ordering::SeqCst);
            if sig != 0 {
                return Ending::Detached("signal", Some(sig));
            }
            if self.emitter.is_broken() {
                return Ending::Detached("stdout_closed", None);
            }
            if let Some(u) = read_uei(obj, info) {
                // ops.exit ran; give the kernel a moment to finish disabling
                // and print its "disabled (...)" line.
                self.wait_disabled(Duration::from_millis(300));
                return Ending::Ejected(u, kmsg.read_new("sched_ext", 50));
            }
            let state = self.sysfs.state();
            let gone = matches!(state.as_deref(), Some("disabled") | Some("disabling")) || link_hung_up(link);
            if gone {
                let since = *gone_since.get_or_insert_with(Instant::now);
                let waited = since.elapsed();
                let ready = if info.uei.is_some() {
                    waited >= Duration::from_millis(UEI_GRACE_MS)
                } else {
                    (state.as_deref() == Some("disabled") && waited >= Duration::from_millis(POLL_MS))
                        || waited >= Duration::from_millis(UEI_GRACE_MS)
                };
                if ready {
                    let klog = kmsg.read_new("sched_ext", 50);
                    return Ending::Ejected(exit_from_kernel_log(&klog, state.as_deref()), klog);
                }
            }
            let now = Instant::now();
            if let Some(d) = deadline {
                if now >= d {
                    return Ending::Detached("duration", None);
                }
            }
            if interval > 0 && now >= next_stats {
                let t_ms = ms(attached_at.elapsed());
                let mut line = json!({"type": "stats", "t_ms": t_ms, "stats": read_stats(obj, info)});
                if let Some(ev) = self.sysfs.events() {
                    line["events"] = json!(ev); // the kernel's sched_ext event counters, where it has them
                }
                self.emitter.emit(&line);
                let mut ctx = HookCtx { object: obj, info, t_ms, attached: true, emitter: &mut self.emitter };
                let mut warns = Vec::new();
                for h in self.hooks.iter_mut() {
                    if let Err(e) = h.on_tick(&mut ctx) {
                        warns.push(format!("{}: {}", h.name(), e.message));
                    }
                }
                for w in warns {
                    self.emitter.emit(&event("warning", json!({"message": w})));
                }
                while next_stats <= now {
                    next_stats += Duration::from_millis(interval);
                }
            }
            let mut sleep = poll;
            if let Some(d) = deadline {
                sleep = sleep.min(d.saturating_duration_since(Instant::now()));
            }
            std::thread::sleep(sleep);
        }
    }
}

/// Exit info when the object has no (or an empty) `uei` record.
pub fn exit_from_kernel_log(klog: &[String], state: Option<&str>) -> ExitInfo {
    for l in klog.iter().rev() {
        if let Some(k) = exit::kind_from_text(l) {
            let message = klog
                .iter()
                .filter(|x| !x.contains("disabled (") && !x.contains("errored"))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            return ExitInfo {
                kind: k,
                exit_code: 0,
                reason: exit::kernel_reason(k).unwrap_or("").to_string(),
                message,
                source: "kmsg",
            };
        }
    }
    ExitInfo {
        kind: 0,
        exit_code: 0,
        reason: format!("scheduler no longer enabled (sched_ext state: {})", state.unwrap_or("unknown")),
        message: klog.join("\n"),
        source: "sysfs",
    }
}

fn load_failure(err: &str, own_log: Option<(String, String)>, kmsg: &mut Kmsg) -> Failure {
    let mut captured = libbpf_log::take();
    if let Some((prog, log)) = own_log.filter(|(_, l)| !l.trim().is_empty()) {
        // the log from the loader's own buffer, where libbpf prints its own: after "load failed"
        let at = captured
            .iter()
            .position(|c| c.text.contains("BPF program load failed"))
            .map(|i| i + 1)
            .unwrap_or(captured.len());
        captured.insert(
            at,
            verifier::Captured {
                level: "warn",
                text: format!("libbpf: prog '{prog}': {}\n{log}{}\n", verifier::BEGIN_MARK, verifier::END_MARK),
            },
        );
    }
    let kernel_log =
        kmsg.read_new("", 20).into_iter().filter(|l| l.contains("bpf") || l.contains("sched_ext")).collect::<Vec<_>>();
    rejected_load(err, &captured, kernel_log)
}

/// The `{"type":"error","stage":"load"}` line of a load the kernel (or libbpf) refused: the
/// whole log, libbpf's errors, the kernel's lines, and what it all means (`failure`).
pub fn rejected_load(err: &str, captured: &[verifier::Captured], kernel_log: Vec<String>) -> Failure {
    let log = verifier::extract(captured);
    let (message, f) = failure::from_load(&log, err);
    Failure::new(
        ExitStatus::LoadFailed,
        "load",
        message,
        Some(&f.hint),
        json!({
            "verifier_log": log.verifier_log_field(),
            "libbpf_errors": log.libbpf_errors,
            "kernel_log": kernel_log,
            "failure": f.to_json(),
        }),
    )
}

/// The loader's own verifier log buffers, one per program (libbpf keeps a pointer until load).
struct LogBufs {
    bufs: Vec<(String, Vec<u8>)>,
}

impl LogBufs {
    fn attach(open: &mut libbpf_rs::OpenObject, level: u32, size: usize) -> LogBufs {
        let mut bufs = Vec::new();
        for mut prog in open.progs_mut() {
            let name = prog.name().to_string_lossy().into_owned();
            let mut buf = vec![0u8; size];
            prog.set_log_level(level);
            // SAFETY: the buffer lives in `bufs` (its heap memory does not move) until after the load.
            unsafe {
                libbpf_sys::bpf_program__set_log_buf(
                    libbpf_rs::AsRawLibbpf::as_libbpf_object(&prog).as_ptr(),
                    buf.as_mut_ptr() as *mut libc::c_char,
                    size as libbpf_sys::size_t,
                );
            }
            bufs.push((name, buf));
        }
        LogBufs { bufs }
    }

    /// (program, log text) of every program, in load order.
    fn logs(&self) -> Vec<(String, String)> {
        self.bufs
            .iter()
            .map(|(n, b)| {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                (n.clone(), String::from_utf8_lossy(&b[..end]).into_owned())
            })
            .collect()
    }

    /// The program libbpf names as failed ("prog 'NAME': BPF program load failed"), or the last one
    /// with a log, and its log.
    fn failed(&self, warnings: &[String]) -> Option<(String, String)> {
        let logs = self.logs();
        let named = warnings.iter().find_map(|w| {
            let i = w.find("BPF program load failed")?;
            let s = w[..i].find("prog '")? + 6;
            let e = w[s..].find('\'')? + s;
            Some(w[s..e].to_string())
        });
        match named {
            Some(n) => logs.into_iter().find(|(p, _)| *p == n).or(Some((n, String::new()))),
            None => logs.into_iter().rev().find(|(_, l)| !l.trim().is_empty()),
        }
    }
}

/// The verification budget: a load still verifying after it is stopped, with a line that says so.
/// A thread ends the process (exit_group): the verifier sees the fatal signal and gives up.
struct VerifyBudget(Option<std::sync::Arc<std::sync::atomic::AtomicBool>>);

impl VerifyBudget {
    fn arm(secs: u64) -> VerifyBudget {
        if secs == 0 {
            return VerifyBudget(None);
        }
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let t0 = Instant::now();
        std::thread::spawn(move || {
            while t0.elapsed() < Duration::from_secs(secs) {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if flag.load(Ordering::SeqCst) {
                return;
            }
            let f = verify_timeout_failure(secs);
            let line = serde_json::to_string(&f.event).unwrap_or_default();
            {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            std::process::exit(f.status.code());
        });
        VerifyBudget(Some(done))
    }

    fn disarm(&self) {
        if let Some(d) = &self.0 {
            d.store(true, Ordering::SeqCst);
        }
    }
}

/// The `{"type":"error"}` line of a load stopped by the verification budget.
pub fn verify_timeout_failure(secs: u64) -> Failure {
    let message = format!("verification did not finish within {secs} s: likely a loop the verifier cannot bound");
    let hint = "bound every loop by a constant the verifier can see: bpf_for(i, 0, MAX), `i < n && i < MAX`, or bpf_repeat(MAX); a bound read from memory (a map value, a task field) is not one";
    let mut f = failure::plain("load", &message, Some(hint));
    f.timed_out_s = Some(secs);
    Failure::new(
        ExitStatus::LoadFailed,
        "load",
        message,
        Some(hint),
        json!({"code": "verify_timeout", "verify_timeout_s": secs, "failure": f.to_json()}),
    )
}

/// `inspect`: the object description, or a failure.
pub fn inspect(path: &Path) -> Result<Value, Failure> {
    open_object(path).map(|(_, info)| {
        let mut v = info.to_json();
        v["loader"] = crate::loader_info();
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_shape() {
        let f = Failure::new(
            ExitStatus::Environment,
            "env",
            "kernel without sched_ext",
            Some("boot the VM"),
            json!({"code": "no_sched_ext"}),
        );
        assert_eq!(f.status.code(), 3);
        let v = &f.event;
        assert_eq!(v["type"], "error");
        assert_eq!(v["stage"], "env");
        assert_eq!(v["message"], "kernel without sched_ext");
        assert_eq!(v["hint"], "boot the VM");
        assert_eq!(v["code"], "no_sched_ext");
        assert_eq!(v["exit_code"], 3);
        // "type" is the first key
        assert!(serde_json::to_string(v).unwrap().starts_with("{\"type\":\"error\""));
    }

    #[test]
    fn verify_timeout_line() {
        let f = verify_timeout_failure(60);
        assert_eq!(f.status.code(), 4);
        assert_eq!(f.event["stage"], "load");
        assert_eq!(f.event["code"], "verify_timeout");
        assert_eq!(
            f.event["message"],
            "verification did not finish within 60 s: likely a loop the verifier cannot bound"
        );
        assert_eq!(f.event["failure"]["reason"], f.event["message"]);
        assert_eq!(f.event["failure"]["stage"], "verifier");
        assert_eq!(f.event["failure"]["timed_out_s"], 60);
        assert!(f.event["hint"].as_str().unwrap().contains("bpf_for"));
    }

    #[test]
    fn kernel_log_fallback() {
        let klog = vec![
            "sched_ext: BPF scheduler \"fifo\" disabled (runnable task stall)".to_string(),
            "sched_ext: fifo: kworker/0:1[12] failed to run for 5.004s".to_string(),
        ];
        let e = exit_from_kernel_log(&klog, Some("disabled"));
        assert_eq!(e.kind, 1026);
        assert_eq!(e.reason, "runnable task stall");
        assert_eq!(e.source, "kmsg");
        assert!(e.message.contains("failed to run"));
        assert_eq!(e.status().code(), 12);
        let u = exit_from_kernel_log(&[], Some("disabled"));
        assert_eq!(u.kind, 0);
        assert_eq!(crate::exit::kind_name(u.kind), "unknown");
        assert_eq!(u.status().code(), 11);
    }
}
