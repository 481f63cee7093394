//! Job identity beyond task names: hints keyed by a command line (a glob over
//! argv), a cgroup path, a process group or a session, matched when a task
//! execs (see `exec.rs`) and written into the scheduler's `job_lens` task
//! storage.
//!
//! Precedence, when several rules match one process: **argv > cgroup > pgid >
//! sid > comm** (the most specific statement about a job wins); within one
//! kind, the first rule in the list wins. comm rules are not matched here:
//! they go into the `job_hints` map, which the scheduler consults only when
//! `job_lens` has nothing for the task, so they rank last by construction.
//!
//! Matching:
//! * `argv`: a shell-style glob (`*` any run of characters, spaces and `/`
//!   included; `?` one character; `[abc]`, `[a-z]`, `[!x]` classes; `\x` a
//!   literal) over the command line, its arguments joined by single spaces.
//!   The pattern is tried against the command line as given and with argv[0]
//!   reduced to its basename, so `xz -9 *` matches `/usr/bin/xz -9 big.log`.
//! * `cgroup`: a glob over the cgroup v2 path (`/sys.slice/batch.scope`); a
//!   pattern without wildcards also matches every cgroup below it.
//! * `pgid`, `sid`: the process group / session id, a number.

use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Argv = 1,
    Cgroup = 2,
    Pgid = 3,
    Sid = 4,
    Comm = 5,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Argv => "argv",
            Kind::Cgroup => "cgroup",
            Kind::Pgid => "pgid",
            Kind::Sid => "sid",
            Kind::Comm => "comm",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Argv(String),
    Cgroup(String),
    Pgid(i64),
    Sid(i64),
    Comm(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub key: Key,
    pub expect_ns: u64,
    /// where the hint came from (e.g. "agent", "learned"), echoed in reports
    pub source: Option<String>,
    /// position in the list the rules came from
    pub index: usize,
}

impl Rule {
    pub fn kind(&self) -> Kind {
        match self.key {
            Key::Argv(_) => Kind::Argv,
            Key::Cgroup(_) => Kind::Cgroup,
            Key::Pgid(_) => Kind::Pgid,
            Key::Sid(_) => Kind::Sid,
            Key::Comm(_) => Kind::Comm,
        }
    }
    pub fn pattern(&self) -> String {
        match &self.key {
            Key::Argv(s) | Key::Cgroup(s) | Key::Comm(s) => s.clone(),
            Key::Pgid(n) | Key::Sid(n) => n.to_string(),
        }
    }
    /// The value's `rule` word in `job_lens`: kind << 32 | (index + 1).
    pub fn code(&self) -> u64 {
        ((self.kind() as u64) << 32) | (self.index as u64 + 1)
    }
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            self.kind().name().into(),
            match &self.key {
                Key::Pgid(n) | Key::Sid(n) => json!(n),
                _ => json!(self.pattern()),
            },
        );
        m.insert("expect_ns".into(), json!(self.expect_ns));
        if let Some(s) = &self.source {
            m.insert("source".into(), json!(s));
        }
        Value::Object(m)
    }
}

/// What a process is, for matching: read from /proc/<pid>.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcInfo {
    pub pid: i32,
    pub argv: Vec<String>,
    pub cgroup: Option<String>,
    pub pgid: Option<i64>,
    pub sid: Option<i64>,
}

impl ProcInfo {
    /// The command line as matched: arguments joined by single spaces.
    pub fn cmdline(&self) -> String {
        self.argv.join(" ")
    }

    /// Read /proc/<pid> (under `proc_root`). None if the process is gone or
    /// has no command line (kernel threads).
    pub fn read(proc_root: &str, pid: i32) -> Option<ProcInfo> {
        let dir = format!("{proc_root}/{pid}");
        let raw = std::fs::read(format!("{dir}/cmdline")).ok()?;
        let argv = split_cmdline(&raw);
        if argv.is_empty() {
            return None;
        }
        let cgroup = std::fs::read_to_string(format!("{dir}/cgroup")).ok().and_then(|t| parse_cgroup(&t));
        let (pgid, sid) = std::fs::read_to_string(format!("{dir}/stat")).ok().and_then(|t| parse_stat(&t)).unzip();
        Some(ProcInfo { pid, argv, cgroup, pgid, sid })
    }
}

/// /proc/<pid>/cmdline: NUL-separated arguments (a trailing NUL or not).
pub fn split_cmdline(raw: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = raw.split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    while v.last().is_some_and(|s| s.is_empty()) {
        v.pop();
    }
    v
}

/// The cgroup v2 path from /proc/<pid>/cgroup (the `0::PATH` line).
pub fn parse_cgroup(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix("0::")).map(|s| s.trim().to_string())
}

/// (pgrp, session) from /proc/<pid>/stat; the comm field may hold spaces and
/// parentheses, so fields are counted after the last ')'.
pub fn parse_stat(text: &str) -> Option<(i64, i64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // state ppid pgrp session ...
    Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
}

/// Shell-style glob match over the whole of `text`.
pub fn glob_match(pat: &str, text: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // iterative with backtracking to the last '*': linear in practice
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    while pi < p.len() && p[pi] == '*' {
                        pi += 1;
                    }
                    star = Some((pi, ti));
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class_match(&p, pi, t[ti]) {
                        if ok {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        // an unclosed '[' is a literal
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == t[ti] {
                        pi += 2;
                        ti += 1;
                        continue;
                    }
                }
                c => {
                    if c == t[ti] {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A `[...]` class at p[start]: (matched, index after the class), or None if
/// the class is not closed.
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = i < p.len() && (p[i] == '!' || p[i] == '^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Does `rule` match `info`? (comm rules never do here: see the module doc.)
pub fn rule_matches(rule: &Rule, info: &ProcInfo) -> bool {
    match &rule.key {
        Key::Argv(pat) => {
            if info.argv.is_empty() {
                return false;
            }
            let full = info.cmdline();
            if glob_match(pat, &full) {
                return true;
            }
            let base = info.argv[0].rsplit('/').next().unwrap_or(&info.argv[0]);
            if base.len() == info.argv[0].len() {
                return false;
            }
            let mut short = base.to_string();
            for a in &info.argv[1..] {
                short.push(' ');
                short.push_str(a);
            }
            glob_match(pat, &short)
        }
        Key::Cgroup(pat) => match &info.cgroup {
            None => false,
            Some(cg) => {
                if has_wildcard(pat) {
                    glob_match(pat, cg)
                } else {
                    let p = pat.trim_end_matches('/');
                    cg == p || (cg.starts_with(p) && cg[p.len()..].starts_with('/')) || p.is_empty()
                }
            }
        },
        Key::Pgid(n) => info.pgid == Some(*n),
        Key::Sid(n) => info.sid == Some(*n),
        Key::Comm(_) => false,
    }
}

/// The rule that decides `info`'s length: the first match of the most
/// specific kind (argv > cgroup > pgid > sid).
pub fn best_match<'a>(rules: &'a [Rule], info: &ProcInfo) -> Option<&'a Rule> {
    let mut best: Option<&Rule> = None;
    for r in rules {
        if r.kind() == Kind::Comm || !rule_matches(r, info) {
            continue;
        }
        match best {
            Some(b) if b.kind() <= r.kind() => {}
            _ => best = Some(r),
        }
    }
    best
}

/// One rule from JSON: `{"argv"|"cgroup"|"pgid"|"sid"|"comm": KEY, "expect_ms": N
/// (or "expect": "2s"), "source": "..."}`.
pub fn parse_rule(v: &Value, index: usize) -> Result<Rule, String> {
    let o = v
        .as_object()
        .ok_or_else(|| format!("hint #{index}: expected an object like {{\"argv\": \"xz *\", \"expect_ms\": 3000}}"))?;
    let mut key = None;
    for k in ["argv", "cgroup", "pgid", "sid", "comm"] {
        let Some(val) = o.get(k) else { continue };
        if key.is_some() {
            return Err(format!("hint #{index}: give one of argv, cgroup, pgid, sid, comm, not several"));
        }
        key = Some(match k {
            "argv" | "cgroup" | "comm" => {
                let s = val.as_str().ok_or_else(|| format!("hint #{index}: {k} must be a string"))?;
                if s.is_empty() {
                    return Err(format!("hint #{index}: empty {k}"));
                }
                match k {
                    "argv" => Key::Argv(s.into()),
                    "cgroup" => Key::Cgroup(s.into()),
                    _ => {
                        crate::comm_key(s).map_err(|e| format!("hint #{index}: {e}"))?;
                        Key::Comm(s.into())
                    }
                }
            }
            _ => {
                let n = val
                    .as_i64()
                    .or_else(|| val.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("hint #{index}: {k} must be a positive integer"))?;
                if k == "pgid" {
                    Key::Pgid(n)
                } else {
                    Key::Sid(n)
                }
            }
        });
    }
    let key = key.ok_or_else(|| format!("hint #{index}: needs one of argv, cgroup, pgid, sid, comm"))?;
    let expect_ns = match (o.get("expect_ms"), o.get("expect")) {
        (Some(Value::Number(n)), None) => {
            let ms = n.as_f64().ok_or_else(|| format!("hint #{index}: bad expect_ms"))?;
            crate::parse_runtime(&ms.to_string()).map_err(|e| format!("hint #{index}: {e}"))?
        }
        (None, Some(Value::String(s))) | (Some(Value::String(s)), None) => {
            crate::parse_runtime(s).map_err(|e| format!("hint #{index}: {e}"))?
        }
        (None, None) => return Err(format!("hint #{index}: needs expect_ms")),
        _ => return Err(format!("hint #{index}: give expect_ms as a number of ms (or expect as \"2s\")")),
    };
    if expect_ns == 0 {
        return Err(format!("hint #{index}: expect_ms must be positive"));
    }
    let source = match o.get("source") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(format!("hint #{index}: source must be a string")),
    };
    for k in o.keys() {
        if !["argv", "cgroup", "pgid", "sid", "comm", "expect_ms", "expect", "source"].contains(&k.as_str()) {
            return Err(format!("hint #{index}: unknown field {k:?}"));
        }
    }
    Ok(Rule { key, expect_ns, source, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(argv: &[&str]) -> ProcInfo {
        ProcInfo { pid: 1, argv: argv.iter().map(|s| s.to_string()).collect(), cgroup: None, pgid: None, sid: None }
    }

    #[test]
    fn globs() {
        assert!(glob_match("xz * /data/big/*", "xz -9 /data/big/a.log"));
        assert!(!glob_match("xz * /data/big/*", "xz -9 /data/small/a.log"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("part-?", "part-7"));
        assert!(!glob_match("part-?", "part-17"));
        assert!(glob_match("part-[0-4]", "part-3"));
        assert!(!glob_match("part-[0-4]", "part-5"));
        assert!(glob_match("part-[!0-4]", "part-5"));
        assert!(glob_match("a\\*b", "a*b"));
        assert!(!glob_match("a\\*b", "axb"));
        assert!(glob_match("x[y", "x[y"));
        assert!(glob_match("**long**", "a long job"));
    }

    #[test]
    fn argv_uses_basename_too() {
        let r = parse_rule(&json!({"argv": "python3 etl.py part-1*", "expect_ms": 500}), 0).unwrap();
        assert!(rule_matches(&r, &info(&["/usr/bin/python3", "etl.py", "part-12"])));
        assert!(rule_matches(&r, &info(&["python3", "etl.py", "part-1"])));
        assert!(!rule_matches(&r, &info(&["python3", "etl.py", "part-2"])));
        assert!(!rule_matches(&r, &info(&[])));
    }

    #[test]
    fn cgroups() {
        let r = parse_rule(&json!({"cgroup": "/batch.slice", "expect_ms": 1}), 0).unwrap();
        let mut i = info(&["x"]);
        i.cgroup = Some("/batch.slice/job-3.scope".into());
        assert!(rule_matches(&r, &i));
        i.cgroup = Some("/batch.slice".into());
        assert!(rule_matches(&r, &i));
        i.cgroup = Some("/batch.slicex".into());
        assert!(!rule_matches(&r, &i));
        let g = parse_rule(&json!({"cgroup": "/*/job-*.scope", "expect_ms": 1}), 0).unwrap();
        i.cgroup = Some("/batch.slice/job-3.scope".into());
        assert!(rule_matches(&g, &i));
    }

    #[test]
    fn precedence_argv_cgroup_pgid_sid() {
        let rules: Vec<Rule> = [
            json!({"sid": 7, "expect_ms": 4}),
            json!({"pgid": 9, "expect_ms": 3}),
            json!({"cgroup": "/b", "expect_ms": 2}),
            json!({"argv": "other *", "expect_ms": 10}),
            json!({"argv": "sh -c *", "expect_ms": 1}),
            json!({"argv": "sh *", "expect_ms": 5}),
            json!({"comm": "sh", "expect_ms": 6}),
        ]
        .iter()
        .enumerate()
        .map(|(i, v)| parse_rule(v, i).unwrap())
        .collect();
        let mut i = ProcInfo {
            pid: 5,
            argv: vec!["sh".into(), "-c".into(), "x".into()],
            cgroup: Some("/b/c".into()),
            pgid: Some(9),
            sid: Some(7),
        };
        let b = best_match(&rules, &i).unwrap();
        assert_eq!((b.kind(), b.expect_ns, b.index), (Kind::Argv, 1_000_000, 4)); // first argv match wins
        i.argv = vec!["bash".into()];
        assert_eq!(best_match(&rules, &i).unwrap().kind(), Kind::Cgroup);
        i.cgroup = None;
        assert_eq!(best_match(&rules, &i).unwrap().kind(), Kind::Pgid);
        i.pgid = Some(1);
        assert_eq!(best_match(&rules, &i).unwrap().kind(), Kind::Sid);
        i.sid = None;
        assert!(best_match(&rules, &i).is_none()); // comm rules are the map's business
        assert_eq!(rules[4].code(), (1u64 << 32) | 5);
    }

    #[test]
    fn rule_parsing() {
        let r = parse_rule(&json!({"argv": "xz *", "expect": "2s", "source": "learned"}), 3).unwrap();
        assert_eq!(r.expect_ns, 2_000_000_000);
        assert_eq!(r.source.as_deref(), Some("learned"));
        assert_eq!(r.to_json(), json!({"argv": "xz *", "expect_ns": 2_000_000_000u64, "source": "learned"}));
        assert_eq!(parse_rule(&json!({"pgid": "42", "expect_ms": 1}), 0).unwrap().key, Key::Pgid(42));
        assert!(parse_rule(&json!({"argv": "a", "cgroup": "/b", "expect_ms": 1}), 0)
            .unwrap_err()
            .contains("not several"));
        assert!(parse_rule(&json!({"argv": "a"}), 0).unwrap_err().contains("expect_ms"));
        assert!(parse_rule(&json!({"argv": "a", "expect_ms": 0}), 0).is_err());
        assert!(parse_rule(&json!({"pgid": -1, "expect_ms": 1}), 0).is_err());
        assert!(parse_rule(&json!({"comm": "much_too_long_name", "expect_ms": 1}), 0).is_err());
        assert!(parse_rule(&json!({"argv": "a", "expect_ms": 1, "colour": 1}), 0)
            .unwrap_err()
            .contains("unknown field"));
        assert!(parse_rule(&json!(["argv"]), 0).is_err());
    }

    #[test]
    fn proc_parsing() {
        assert_eq!(split_cmdline(b"python3\0etl.py\0part 1\0"), vec!["python3", "etl.py", "part 1"]);
        assert_eq!(split_cmdline(b""), Vec::<String>::new());
        assert_eq!(parse_cgroup("0::/user.slice/a.scope\n"), Some("/user.slice/a.scope".into()));
        assert_eq!(parse_cgroup("1:name=systemd:/x\n"), None);
        assert_eq!(parse_stat("123 (a b) c) R 1 77 88 0 -1"), Some((77, 88)));
        // this process, for real
        let me = ProcInfo::read("/proc", std::process::id() as i32).unwrap();
        assert!(!me.argv.is_empty());
        assert!(me.pgid.is_some() && me.sid.is_some());
    }
}
