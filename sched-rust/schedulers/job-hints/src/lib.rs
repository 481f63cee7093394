//! scx-job-hints: feeds per-command expected runtimes into a scheduler's
//! `job_hints` BPF map, for SJF/LJF-style schedulers.
//!
//! Map contract (see sched-rust/tests/bpf/sjf_hints.bpf.c):
//!   `job_hints`: BPF_MAP_TYPE_HASH (or LRU_HASH), key `char[16]` = a task
//!   comm prefix, NUL-padded; value `u64` = expected runtime in ns.
//!   The BPF side looks up the longest prefix of a task's comm that has an
//!   entry (the kernel truncates comm to 15 bytes, so longer prefixes could
//!   never match and are refused here).
//!
//! Hints come from `--hint PREFIX=RUNTIME` (RUNTIME in ms by default, or with
//! a unit: 250ms, 2s, 500us, 1000000ns) and/or `--hints-file FILE.json`
//! holding `{"prefix": runtime_ms, ...}` (numbers are ms; strings may carry a
//! unit). `--hint` entries override the file's. The map is filled after load,
//! before attach; with `--watch`, changes to the file are applied while the
//! scheduler runs (entries removed from the file are deleted from the map).
//!
//! The file (or `--hints-json TEXT`) may instead hold a list of rules:
//! `[{"argv": "xz * /data/big/*", "expect_ms": 30000}, {"cgroup": "/batch.slice"
//! , "expect_ms": 500}, {"pgid": 4242, "expect_ms": 80}, {"comm": "job_",
//! "expect_ms": 40}]`, each with an optional `"source"` (where the number came
//! from: "agent", "learned", ...). comm rules fill `job_hints` as above; the
//! others are matched at exec (see `rules.rs` for matching and precedence:
//! argv > cgroup > pgid > sid > comm, first rule of a kind wins) and written
//! into the scheduler's `job_lens` task storage (see `exec.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use std::sync::{Arc, Mutex};

use scx_loader::libbpf_rs::{MapCore, MapFlags, OpenObject};
use scx_loader::{Hook, HookCtx, HookError, ObjectInfo};
use serde_json::{json, Value};

pub mod exec;
#[cfg(test)]
mod intf;
pub mod rules;
#[cfg(test)]
use rules::Kind;
use rules::{Key, Rule};

pub const MAP_NAME: &str = "job_hints";
/// TASK_COMM_LEN: the `job_hints` key (bpf-templates/scx_job_hints_intf.h, checked by `intf.rs`).
pub const COMM_LEN: usize = 16;
/// Bytes of a `job_hints` value (u64 ns).
pub const HINT_VALUE_SIZE: usize = 8;
const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_LRU_HASH: u32 = 9;

/// Parse a runtime: a number of ms (decimals allowed) or a number with a unit
/// suffix (ns, us, ms, s). Returns ns.
pub fn parse_runtime(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ns") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e9)
    } else {
        (t, 1e6)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a runtime (a number of ms, or with a unit: 250ms, 2s, 500us, 100ns)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("runtime {s:?} must be a non-negative number"));
    }
    let ns = v * mult;
    if ns > u64::MAX as f64 {
        return Err(format!("runtime {s:?} is too large"));
    }
    Ok(ns.round() as u64)
}

/// Check a comm prefix and return the NUL-padded map key.
pub fn comm_key(prefix: &str) -> Result<[u8; COMM_LEN], String> {
    let b = prefix.as_bytes();
    if b.is_empty() {
        return Err("empty comm prefix".into());
    }
    if b.len() > COMM_LEN - 1 {
        return Err(format!(
            "comm prefix {prefix:?} is {} bytes; task names (comm) hold at most {} bytes, so it could never match",
            b.len(),
            COMM_LEN - 1
        ));
    }
    if b.contains(&0) {
        return Err(format!("comm prefix {prefix:?} contains a NUL byte"));
    }
    let mut k = [0u8; COMM_LEN];
    k[..b.len()].copy_from_slice(b);
    Ok(k)
}

/// `PREFIX=RUNTIME`
pub fn parse_hint_arg(s: &str) -> Result<(String, u64), String> {
    let (p, v) = s.rsplit_once('=').ok_or_else(|| format!("--hint {s:?}: expected PREFIX=RUNTIME_MS"))?;
    comm_key(p).map_err(|e| format!("--hint {s:?}: {e}"))?;
    let ns = parse_runtime(v).map_err(|e| format!("--hint {s:?}: {e}"))?;
    Ok((p.to_string(), ns))
}

/// `{"prefix": runtime_ms | "runtime with unit", ...}`
pub fn parse_hints_json(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let obj = v.as_object().ok_or("expected a JSON object {\"comm_prefix\": expected_runtime_ms, ...}")?;
    let mut out = BTreeMap::new();
    for (k, val) in obj {
        comm_key(k)?;
        let ns = match val {
            Value::Number(n) => {
                let ms = n.as_f64().ok_or_else(|| format!("{k:?}: bad number"))?;
                parse_runtime(&ms.to_string()).map_err(|e| format!("{k:?}: {e}"))?
            }
            Value::String(s) => parse_runtime(s).map_err(|e| format!("{k:?}: {e}"))?,
            other => return Err(format!("{k:?}: expected a number of ms, got {other}")),
        };
        out.insert(k.clone(), ns);
    }
    Ok(out)
}

/// Either form: an object `{"prefix": ms}` (comm hints only) or a list of
/// rules. Returns the comm hints (for job_hints) and the other rules.
pub fn parse_hints_any(text: &str) -> Result<(BTreeMap<String, u64>, Vec<Rule>), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    match v {
        Value::Array(items) => {
            let mut comm = BTreeMap::new();
            let mut rules = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let r = rules::parse_rule(item, i)?;
                match &r.key {
                    Key::Comm(p) => {
                        // first comm rule for a prefix wins, as for the other kinds
                        comm.entry(p.clone()).or_insert(r.expect_ns);
                    }
                    _ => rules.push(r),
                }
            }
            Ok((comm, rules))
        }
        _ => Ok((parse_hints_json(text)?, Vec::new())),
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The hook: validates the object at open time, fills the map after load.
#[derive(Debug)]
pub struct JobHints {
    file: Option<PathBuf>,
    cli: BTreeMap<String, u64>,
    /// --hints-json: same format as the file, below --hint and above the file
    inline: Option<String>,
    watch: bool,
    /// argv / cgroup / pgid / sid rules, shared with the exec watcher
    pub rules: Arc<Mutex<Vec<Rule>>>,
    exec: Option<exec::ExecWatch>,
    /// report each program's CPU time when it ends (job_done lines): learned lengths
    pub learn: bool,
    /// The effective set (file overridden by --hint).
    pub hints: BTreeMap<String, u64>,
    file_mtime: Option<SystemTime>,
    /// What is in the kernel map now.
    written: BTreeMap<String, u64>,
}

impl JobHints {
    pub fn new(hint_args: &[String], file: Option<PathBuf>, watch: bool) -> Result<JobHints, String> {
        Self::with_json(hint_args, file, None, watch)
    }

    pub fn with_json(
        hint_args: &[String],
        file: Option<PathBuf>,
        inline: Option<String>,
        watch: bool,
    ) -> Result<JobHints, String> {
        let mut cli = BTreeMap::new();
        for h in hint_args {
            let (p, ns) = parse_hint_arg(h)?;
            cli.insert(p, ns);
        }
        if watch && file.is_none() {
            return Err("--watch needs --hints-file".into());
        }
        let mut j = JobHints {
            file,
            cli,
            inline,
            watch,
            rules: Arc::default(),
            exec: None,
            learn: false,
            hints: BTreeMap::new(),
            file_mtime: None,
            written: BTreeMap::new(),
        };
        j.hints = j.effective()?;
        Ok(j)
    }

    /// The comm hints (file < --hints-json < --hint); the rules (--hints-json's
    /// first, then the file's) go into `self.rules`.
    fn effective(&mut self) -> Result<BTreeMap<String, u64>, String> {
        let mut h = BTreeMap::new();
        let mut rules = Vec::new();
        if let Some(f) = &self.file {
            self.file_mtime = mtime(f);
            let text =
                std::fs::read_to_string(f).map_err(|e| format!("cannot read hints file {}: {e}", f.display()))?;
            let (c, r) = parse_hints_any(&text).map_err(|e| format!("hints file {}: {e}", f.display()))?;
            h = c;
            rules = r;
        }
        if let Some(t) = &self.inline {
            let (c, mut r) = parse_hints_any(t).map_err(|e| format!("--hints-json: {e}"))?;
            h.extend(c);
            r.extend(rules);
            rules = r;
        }
        for (i, r) in rules.iter_mut().enumerate() {
            r.index = i;
        }
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) = rules;
        for (k, v) in &self.cli {
            h.insert(k.clone(), *v);
        }
        Ok(h)
    }

    fn has_rules(&self) -> bool {
        self.rules.lock().map(|r| !r.is_empty()).unwrap_or(false)
    }

    fn hints_json(&self) -> Value {
        Value::Object(self.hints.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
    }

    fn sync(&mut self, ctx: &mut HookCtx) -> Result<(usize, usize), HookError> {
        let map = ctx.map(MAP_NAME).ok_or_else(|| HookError::new(format!("map {MAP_NAME} not found after load")))?;
        let mut removed = 0;
        for k in self.written.keys() {
            if !self.hints.contains_key(k) {
                let key = comm_key(k).map_err(HookError::new)?;
                map.delete(&key).map_err(|e| HookError::new(format!("deleting hint {k:?}: {e}")))?;
                removed += 1;
            }
        }
        let mut written = 0;
        for (k, v) in &self.hints {
            if self.written.get(k) == Some(v) {
                continue;
            }
            let key = comm_key(k).map_err(HookError::new)?;
            map.update(&key, &v.to_ne_bytes(), MapFlags::ANY)
                .map_err(|e| HookError::new(format!("writing hint {k:?} into {MAP_NAME}: {e}")))?;
            written += 1;
        }
        self.written = self.hints.clone();
        Ok((written, removed))
    }
}

/// Check that the object has a usable `job_hints` map for `n` entries.
pub fn check_map(info: &ObjectInfo, n: usize) -> Result<(), HookError> {
    let m = info.map(MAP_NAME).ok_or_else(|| {
        HookError::bad_input(format!("object has no BPF map named {MAP_NAME}"))
            .with_hint("a job-hints scheduler declares `struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, char[16]); __type(value, u64); ... } job_hints SEC(\".maps\");`")
    })?;
    if m.map_type != BPF_MAP_TYPE_HASH && m.map_type != BPF_MAP_TYPE_LRU_HASH {
        return Err(HookError::bad_input(format!(
            "map {MAP_NAME} is a {} map; expected hash or lru_hash",
            scx_loader::objinfo::map_type_name(m.map_type)
        )));
    }
    if m.key_size as usize != COMM_LEN || m.value_size as usize != HINT_VALUE_SIZE {
        return Err(HookError::bad_input(format!(
            "map {MAP_NAME} has key_size {} / value_size {}; expected 16 (char[16] comm) / 8 (u64 ns)",
            m.key_size, m.value_size
        )));
    }
    if (m.max_entries as usize) < n {
        return Err(HookError::bad_input(format!(
            "{n} hints do not fit in {MAP_NAME} (max_entries {})",
            m.max_entries
        )));
    }
    Ok(())
}

impl Hook for JobHints {
    fn name(&self) -> &str {
        "job-hints"
    }

    fn before_load(&mut self, _obj: &mut OpenObject, info: &ObjectInfo) -> Result<(), HookError> {
        check_map(info, self.hints.len())?;
        if self.has_rules() || self.learn {
            exec::check_object(info)?;
        }
        Ok(())
    }

    fn after_load(&mut self, ctx: &mut HookCtx) -> Result<(), HookError> {
        let (written, _) = self.sync(ctx)?;
        if self.has_rules() || self.learn {
            self.exec = Some(exec::start(ctx, self.rules.clone(), self.learn)?);
        }
        let v = json!({
            "type": "hints",
            "map": MAP_NAME,
            "count": self.hints.len(),
            "written": written,
            "source": self.file.as_ref().map(|f| f.display().to_string()),
        });
        ctx.emit(v);
        Ok(())
    }

    fn on_tick(&mut self, ctx: &mut HookCtx) -> Result<(), HookError> {
        if let Some(w) = &self.exec {
            ctx.emit(json!({"type": "exec_hints", "t_ms": ctx.t_ms, "counts": w.counts.json()}));
        }
        if !self.watch {
            return Ok(());
        }
        let Some(f) = self.file.clone() else { return Ok(()) };
        if mtime(&f) == self.file_mtime {
            return Ok(());
        }
        let new = self.effective().map_err(HookError::new)?;
        self.hints = new;
        let (written, removed) = self.sync(ctx)?;
        let v = json!({
            "type": "hints",
            "map": MAP_NAME,
            "count": self.hints.len(),
            "written": written,
            "removed": removed,
            "reloaded": true,
            "t_ms": ctx.t_ms,
        });
        ctx.emit(v);
        Ok(())
    }

    fn describe(&self) -> Option<Value> {
        let rules: Vec<Value> = self.rules.lock().map(|r| r.iter().map(|x| x.to_json()).collect()).unwrap_or_default();
        Some(json!({"hints": self.hints_json(), "rules": rules}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes() {
        assert_eq!(parse_runtime("250"), Ok(250_000_000));
        assert_eq!(parse_runtime("0.5"), Ok(500_000));
        assert_eq!(parse_runtime("250ms"), Ok(250_000_000));
        assert_eq!(parse_runtime("2s"), Ok(2_000_000_000));
        assert_eq!(parse_runtime("500us"), Ok(500_000));
        assert_eq!(parse_runtime("100ns"), Ok(100));
        assert_eq!(parse_runtime("0"), Ok(0));
        assert!(parse_runtime("-1").is_err());
        assert!(parse_runtime("fast").is_err());
        assert!(parse_runtime("").is_err());
        assert!(parse_runtime("1e30s").is_err());
    }

    #[test]
    fn keys() {
        let k = comm_key("job_long").unwrap();
        assert_eq!(&k[..8], b"job_long");
        assert!(k[8..].iter().all(|b| *b == 0));
        assert!(comm_key("123456789012345").is_ok());
        assert!(comm_key("1234567890123456").unwrap_err().contains("at most 15"));
        assert!(comm_key("").is_err());
        assert!(comm_key("a\0b").is_err());
    }

    #[test]
    fn hint_args() {
        assert_eq!(parse_hint_arg("job_long=39000"), Ok(("job_long".into(), 39_000_000_000)));
        assert_eq!(parse_hint_arg("a=b=5"), Ok(("a=b".into(), 5_000_000)));
        assert!(parse_hint_arg("job_long").is_err());
        assert!(parse_hint_arg("=5").is_err());
        assert!(parse_hint_arg("x=soon").unwrap_err().contains("not a runtime"));
    }

    #[test]
    fn json_file() {
        let h = parse_hints_json(r#"{"job_long": 39000, "job_short": 1000, "tiny": "500us", "half": 0.5}"#).unwrap();
        assert_eq!(h["job_long"], 39_000_000_000);
        assert_eq!(h["job_short"], 1_000_000_000);
        assert_eq!(h["tiny"], 500_000);
        assert_eq!(h["half"], 500_000);
        assert!(parse_hints_json("[1,2]").is_err());
        assert!(parse_hints_json("{\"x\": true}").is_err());
        assert!(parse_hints_json("{\"this_is_way_too_long\": 1}").is_err());
        assert!(parse_hints_json("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn rule_lists() {
        let (c, r) = parse_hints_any(
            r#"[{"argv": "xz * /data/big/*", "expect_ms": 30000}, {"comm": "job_", "expect_ms": 40}, {"comm": "job_", "expect_ms": 9}, {"cgroup": "/b", "expect_ms": 5, "source": "learned"}]"#,
        )
        .unwrap();
        assert_eq!(c["job_"], 40_000_000);
        assert_eq!(c.len(), 1);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind(), Kind::Argv);
        assert_eq!(r[1].source.as_deref(), Some("learned"));
        let (c, r) = parse_hints_any(r#"{"job_long": 39000}"#).unwrap();
        assert_eq!((c["job_long"], r.len()), (39_000_000_000, 0));
        assert!(parse_hints_any(r#"[{"argv": "x"}]"#).is_err());
        let j = JobHints::with_json(
            &["job_=7".into()],
            None,
            Some(r#"[{"argv": "a *", "expect_ms": 1}, {"comm": "job_", "expect_ms": 2}]"#.into()),
            false,
        )
        .unwrap();
        assert_eq!(j.hints["job_"], 7_000_000); // --hint beats --hints-json
        assert!(j.has_rules());
        assert_eq!(j.describe().unwrap()["rules"][0]["argv"], "a *");
        assert_eq!(exec::job_len_value(1, 2)[8], 2);
        let i = rules::ProcInfo {
            pid: 1,
            argv: vec!["/usr/bin/xz".into(), "-9".into(), "a b.log".into()],
            ..Default::default()
        };
        assert_eq!(exec::normalise(&i), "xz -9 a b.log");
    }

    #[test]
    fn cli_overrides_file() {
        let dir = std::env::temp_dir().join(format!("job-hints-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("h.json");
        std::fs::write(&f, r#"{"job_long": 39000, "job_short": 1000}"#).unwrap();
        let j = JobHints::new(&["job_short=2".into(), "other=3".into()], Some(f.clone()), false).unwrap();
        assert_eq!(j.hints["job_long"], 39_000_000_000);
        assert_eq!(j.hints["job_short"], 2_000_000);
        assert_eq!(j.hints["other"], 3_000_000);
        assert_eq!(j.describe().unwrap()["hints"]["other"], 3_000_000);
        assert!(JobHints::new(&[], None, true).is_err());
        assert!(JobHints::new(&[], Some(dir.join("missing.json")), false).unwrap_err().contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
