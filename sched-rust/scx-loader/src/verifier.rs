//! Extraction of the verifier log from libbpf's captured output (what it means: failure.rs),
//! the veristat-style numbers of accepted programs, and whether a rejection is worth a verbose reload.
//!
//! libbpf prints a rejected program's log as one WARN message:
//! `libbpf: prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --\n`
//! preceded by lines such as `libbpf: prog 'NAME': BPF program load failed: ...`
//! and followed by `libbpf: failed to load object ...`.

use serde_json::{json, Value};

pub const BEGIN_MARK: &str = "-- BEGIN PROG LOAD LOG --";
pub const END_MARK: &str = "-- END PROG LOAD LOG --";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadLog {
    /// The raw text between the BEGIN/END markers (all blocks, in order).
    pub log: String,
    /// libbpf WARN lines outside the log blocks, in order.
    pub libbpf_errors: Vec<String>,
    /// Of those, the ones printed before the first log block.
    pub preceding_errors: Vec<String>,
    /// Program named on the BEGIN line.
    pub prog: Option<String>,
}

impl LoadLog {
    /// What goes into the error JSON's `verifier_log`: the preceding libbpf
    /// error lines followed by the raw log.
    pub fn verifier_log_field(&self) -> String {
        let mut s = String::new();
        for l in &self.preceding_errors {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(&self.log);
        s
    }
}

/// One captured libbpf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// "warn" | "info" | "debug"
    pub level: &'static str,
    pub text: String,
}

/// Extract the verifier log from captured libbpf messages.
pub fn extract(captured: &[Captured]) -> LoadLog {
    let mut out = LoadLog::default();
    let mut seen_block = false;
    for c in captured {
        let mut rest: &str = &c.text;
        loop {
            if let Some(b) = rest.find(BEGIN_MARK) {
                // Text before the marker on the same message: "libbpf: prog 'x': "
                let head = &rest[..b];
                if out.prog.is_none() {
                    out.prog = prog_name(head);
                }
                let after = &rest[b + BEGIN_MARK.len()..];
                let after = after.strip_prefix('\n').unwrap_or(after);
                let (body, tail) = match after.find(END_MARK) {
                    Some(e) => (&after[..e], &after[e + END_MARK.len()..]),
                    None => (after, ""),
                };
                out.log.push_str(body);
                seen_block = true;
                rest = tail;
                continue;
            }
            if c.level == "warn" {
                for l in rest.lines() {
                    let l = l.trim_end();
                    if l.trim().is_empty() {
                        continue;
                    }
                    out.libbpf_errors.push(l.to_string());
                    if !seen_block {
                        out.preceding_errors.push(l.to_string());
                    }
                }
            }
            break;
        }
    }
    out
}

/// veristat-style numbers of one program the verifier accepted (log level 4, BPF_LOG_STATS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgStats {
    pub prog: String,
    pub insns_processed: Option<u64>,
    pub max_states_per_insn: Option<u64>,
    pub total_states: Option<u64>,
    pub peak_states: Option<u64>,
    pub mark_read: Option<u64>,
    pub verification_time_us: Option<u64>,
    pub stack_depth: Option<u64>,
}

impl ProgStats {
    pub fn to_json(&self) -> Value {
        json!({
            "prog": self.prog, "insns_processed": self.insns_processed, "max_states_per_insn": self.max_states_per_insn,
            "total_states": self.total_states, "peak_states": self.peak_states, "mark_read": self.mark_read,
            "verification_time_us": self.verification_time_us, "stack_depth": self.stack_depth,
        })
    }
}

/// The statistics blocks libbpf prints at debug level for every program loaded with a log
/// level and its own buffer (`prog 'NAME': -- BEGIN PROG LOAD LOG --` … `processed N insns (limit L)
/// max_states_per_insn A total_states B peak_states C mark_read D` … `verification time T usec`
/// … `stack depth S[+S…]`), one entry per program, in load order.
pub fn prog_stats(captured: &[Captured]) -> Vec<ProgStats> {
    let mut out = Vec::new();
    for c in captured {
        let mut rest: &str = &c.text;
        while let Some(b) = rest.find(BEGIN_MARK) {
            let name = prog_name(&rest[..b]).unwrap_or_default();
            let after = &rest[b + BEGIN_MARK.len()..];
            let (body, tail) = match after.find(END_MARK) {
                Some(e) => (&after[..e], &after[e + END_MARK.len()..]),
                None => (after, ""),
            };
            out.push(stats_from_log(&name, body));
            rest = tail;
        }
    }
    out
}

/// The statistics of one program from its verifier log (the loader's own log buffer).
pub fn stats_from_log(prog: &str, body: &str) -> ProgStats {
    let mut st = ProgStats { prog: prog.to_string(), ..Default::default() };
    for l in body.lines().map(str::trim) {
        if let Some(p) = l.strip_prefix("processed ") {
            let w: Vec<&str> = p.split_whitespace().collect();
            st.insns_processed = w.first().and_then(|x| x.parse().ok());
            for pair in w.windows(2) {
                let v = pair[1].trim_end_matches(')').parse().ok();
                match pair[0] {
                    "max_states_per_insn" => st.max_states_per_insn = v,
                    "total_states" => st.total_states = v,
                    "peak_states" => st.peak_states = v,
                    "mark_read" => st.mark_read = v,
                    _ => {}
                }
            }
        } else if let Some(p) = l.strip_prefix("verification time ") {
            st.verification_time_us = p.split_whitespace().next().and_then(|x| x.parse().ok());
        } else if let Some(p) = l.strip_prefix("stack depth ") {
            // "stack depth 16+0+8": one number per subprogram; the deepest frame counts
            // (7.x: "stack depth max N", then one "subprog K (name) ... stack N" line each)
            let p = p.strip_prefix("max ").unwrap_or(p);
            let d = p.split('+').filter_map(|x| x.trim().parse().ok()).max();
            st.stack_depth = st.stack_depth.max(d);
        } else if l.starts_with("subprog ") && l.contains("insns_self") {
            let d = l.rsplit_once(" stack ").and_then(|(_, n)| n.trim().parse().ok());
            st.stack_depth = st.stack_depth.max(d);
        }
    }
    st
}

/// Log buffer of a first load (BPF_LOG_STATS: the verifier's messages and counters, no trace).
pub const SHORT_LOG_BYTES: usize = 64 * 1024;
/// Log buffer of the one verbose reload. The kernel keeps the *end* of a longer log (the failing
/// instruction and what led to it), so a program that walks a million instructions costs 1 MB, not 100.
pub const VERBOSE_LOG_BYTES: usize = 1024 * 1024;

/// Whether a rejected program is worth loading again at log level 1 to locate the failure.
/// Not when the short log already names a source line; not when nothing reached the verifier
/// (libbpf refused it first: a reload says the same); not for a whole-program property (licence);
/// and not when the verifier ran out of its budget (instructions, jump sequences): a reload would
/// cost as long again, and static analysis points at the loop.
pub fn verbose_reload_needed(short_log: &str) -> bool {
    if short_log.trim().is_empty()
        || short_log.lines().any(|l| crate::failure::source_annotation(l.trim_start()).is_some())
    {
        return false;
    }
    let insns = short_log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("processed ")?.split_whitespace().next()?.parse::<u64>().ok())
        .max();
    let has = |s: &str| short_log.contains(s);
    if has("BPF program is too large")
        || has("too complex")
        || has("too many states")
        || insns.is_some_and(|n| n > 1_000_000)
    {
        return false;
    }
    !has("non-GPL compatible")
}

/// Same as [`extract`], for a plain text dump (e.g. stderr of a previous run).
pub fn extract_from_text(text: &str) -> LoadLog {
    extract(&messages_of_text(text))
}

/// A text dump of libbpf's output as the messages libbpf printed: one per line, except a program's
/// log, which is one message from its BEGIN line to its END line.
pub fn messages_of_text(text: &str) -> Vec<Captured> {
    let warn = |text: String| Captured { level: "warn", text };
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for l in text.split_inclusive('\n') {
        match block.as_mut() {
            Some(b) => {
                b.push_str(l);
                if l.contains(END_MARK) {
                    out.extend(block.take().map(warn));
                }
            }
            None if l.contains(BEGIN_MARK) && !l.contains(END_MARK) => block = Some(l.to_string()),
            None => out.push(warn(l.to_string())),
        }
    }
    out.extend(block.map(warn));
    out
}

fn prog_name(head: &str) -> Option<String> {
    let s = head.find("prog '")? + 6;
    let e = head[s..].find('\'')? + s;
    Some(head[s..e].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_accepted_programs() {
        let text = "prog 'fifo_enqueue': -- BEGIN PROG LOAD LOG --\n\
processed 42 insns (limit 1000000) max_states_per_insn 1 total_states 3 peak_states 3 mark_read 1\n\
verification time 210 usec\n\
stack depth 16+0\n\
-- END PROG LOAD LOG --\n";
        let two = format!("{text}{}", text.replace("fifo_enqueue", "fifo_dispatch").replace("42", "7"));
        let s = prog_stats(&[Captured { level: "debug", text: two }]);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            ProgStats {
                prog: "fifo_enqueue".into(),
                insns_processed: Some(42),
                max_states_per_insn: Some(1),
                total_states: Some(3),
                peak_states: Some(3),
                mark_read: Some(1),
                verification_time_us: Some(210),
                stack_depth: Some(16),
            }
        );
        assert_eq!(s[1].prog, "fifo_dispatch");
        assert_eq!(s[1].insns_processed, Some(7));
        assert!(prog_stats(&[Captured { level: "debug", text: "libbpf: nothing here\n".into() }]).is_empty());
    }

    const SAMPLE: &str = "libbpf: prog 'bad_enqueue': BPF program load failed: Permission denied\n";
    const LOG: &str = "libbpf: prog 'bad_enqueue': -- BEGIN PROG LOAD LOG --\n\
0: R1=ctx() R10=fp0\n\
; void BPF_STRUCT_OPS(bad_enqueue, struct task_struct *p, u64 enq_flags) @ bad.bpf.c:20\n\
0: (79) r6 = *(u64 *)(r1 +0)\n\
; u64 *v = bpf_map_lookup_elem(&m, &k); @ bad.bpf.c:24\n\
4: (85) call bpf_map_lookup_elem#1     ; R0_w=map_value_or_null(id=1,map=m,ks=4,vs=8)\n\
; *v += 1; @ bad.bpf.c:25\n\
5: (79) r1 = *(u64 *)(r0 +0)\n\
R0 invalid mem access 'map_value_or_null'\n\
verification time 24 usec\n\
stack depth 4\n\
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n\
-- END PROG LOAD LOG --\n";

    fn failure(l: &LoadLog) -> crate::failure::LoadFailure {
        crate::failure::from_load(l, "Permission denied (os error 13)").1
    }

    fn cap(level: &'static str, t: &str) -> Captured {
        Captured { level, text: t.to_string() }
    }

    #[test]
    fn extracts_log_and_summary() {
        let caps = vec![
            cap("debug", "libbpf: loading object 'bad_bpf' from buffer\n"),
            cap("warn", SAMPLE),
            cap("warn", LOG),
            cap("warn", "libbpf: prog 'bad_enqueue': failed to load: -13\n"),
            cap("warn", "libbpf: failed to load object 'bad_bpf'\n"),
        ];
        let l = extract(&caps);
        assert!(l.log.starts_with("0: R1=ctx() R10=fp0\n"));
        assert!(l.log.ends_with("mark_read 0\n"));
        assert!(!l.log.contains(BEGIN_MARK) && !l.log.contains(END_MARK));
        assert_eq!(l.prog.as_deref(), Some("bad_enqueue"));
        let f = failure(&l);
        assert_eq!(f.reason, "R0 invalid mem access 'map_value_or_null'");
        assert_eq!(
            (f.file.as_deref(), f.line, f.source_line.as_deref()),
            (Some("bad.bpf.c"), Some(25), Some("*v += 1;"))
        );
        assert_eq!(f.insns_processed, Some(6));
        assert_eq!(l.preceding_errors, vec![SAMPLE.trim_end().to_string()]);
        assert_eq!(l.libbpf_errors.len(), 3);
        assert!(f.hint.contains("NULL"));
        let field = l.verifier_log_field();
        assert!(field.starts_with("libbpf: prog 'bad_enqueue': BPF program load failed"));
        assert!(field.contains("R0 invalid mem access"));
        // debug lines are not errors
        assert!(!l.libbpf_errors.iter().any(|e| e.contains("loading object")));
    }

    #[test]
    fn no_log_block_uses_libbpf_error() {
        let caps = vec![
            cap("warn", "libbpf: extern (func ksym) 'scx_bpf_dispatch': not found in kernel or module BTFs\n"),
            cap("warn", "libbpf: failed to load object 'old_bpf'\n"),
        ];
        let l = extract(&caps);
        assert_eq!(l.log, "");
        let f = failure(&l);
        assert_eq!(f.stage, "link");
        assert_eq!(f.reason, "kfunc scx_bpf_dispatch is not in the target kernel");
        assert!(f.hint.contains("kfunc"));
    }

    #[test]
    fn complexity_limit() {
        let text = "libbpf: prog 'spin': -- BEGIN PROG LOAD LOG --\n\
; for (i = 0; i < n; i++) @ loop.bpf.c:10\n\
12: (07) r1 += 1\n\
BPF program is too large. Processed 1000001 insn\n\
processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 1000 peak_states 1000 mark_read 1\n\
-- END PROG LOAD LOG --\n";
        let f = failure(&extract_from_text(text));
        assert_eq!(f.insns_processed, Some(1000001));
        assert_eq!(f.reason, "BPF program is too large. Processed 1000001 insn");
        assert_eq!(f.line, Some(10));
        assert!(f.hint.contains("1,000,000-instruction"));
    }

    #[test]
    fn complexity_limit_at_log_level_4() {
        // what a 7.3 kernel prints at BPF_LOG_STATS for a loop bounded by a map value
        let l = extract_from_text(
            "libbpf: prog 'loop_enqueue': -- BEGIN PROG LOAD LOG --\n\
func 'enqueue' arg0 has btf_id 117164 type STRUCT 'task_struct'\n\
BPF program is too large. Processed 1000001 insn\n\
verification time 8044196 usec\n\
stack depth max 0\n\
subprog 0 (loop_enqueue) main insns_self 1000001 insns_total 1000001 stack 8\n\
processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 50001 peak_states 1226 mark_read 0\n\
-- END PROG LOAD LOG --\n",
        );
        let f = failure(&l);
        assert_eq!(f.reason, "BPF program is too large. Processed 1000001 insn");
        assert_eq!(f.insns_processed, Some(1000001));
        assert!(!verbose_reload_needed(&l.log));
    }

    #[test]
    fn gpl_hint() {
        let l = extract_from_text("libbpf: prog 'x': -- BEGIN PROG LOAD LOG --\n0: (85) call scx_bpf_dsq_insert#123\ncannot call kernel function from non-GPL compatible program\nprocessed 1 insns (limit 1000000)\n-- END PROG LOAD LOG --\n");
        let f = failure(&l);
        assert_eq!(f.reason, "cannot call kernel function from non-GPL compatible program");
        assert!(f.hint.contains("SCX_LICENSE_GPL"));
    }

    #[test]
    fn unterminated_block_is_kept() {
        let l = extract_from_text("libbpf: prog 'x': -- BEGIN PROG LOAD LOG --\nR2 invalid mem access 'scalar'\n");
        assert_eq!(l.log, "R2 invalid mem access 'scalar'\n");
        assert_eq!(failure(&l).reason, "R2 invalid mem access 'scalar'");
    }

    #[test]
    fn reload_only_where_the_short_log_does_not_locate_the_failure() {
        // level 4: the reason and the counters, no source line: load again for the location
        assert!(verbose_reload_needed(
            "R0 invalid mem access 'map_value_or_null'\nprocessed 6 insns (limit 1000000) max_states_per_insn 0\n"
        ));
        // already located
        assert!(!verbose_reload_needed(
            "; *v += 1; @ bad.bpf.c:25\n5: (79) r1 = *(u64 *)(r0 +0)\nR0 invalid mem access 'map_value_or_null'\n"
        ));
        // nothing reached the verifier (libbpf refused an unresolved kfunc)
        assert!(!verbose_reload_needed(""));
        assert!(!verbose_reload_needed("\n"));
        // out of budget: a reload costs as long again
        assert!(!verbose_reload_needed(
            "BPF program is too large. Processed 1000001 insn\nprocessed 1000001 insns (limit 1000000)\n"
        ));
        assert!(!verbose_reload_needed(
            "The sequence of 8193 jumps is too complex.\nprocessed 90112 insns (limit 1000000)\n"
        ));
        assert!(!verbose_reload_needed("processed 1000001 insns (limit 1000000) max_states_per_insn 4\n"));
        // whole-program property
        assert!(!verbose_reload_needed(
            "cannot call kernel function from non-GPL compatible program\nprocessed 1 insns\n"
        ));
    }

    #[test]
    fn stats_from_own_buffer() {
        let s = stats_from_log("p", "processed 9 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0\nverification time 5 usec\nstack depth 8+16\n");
        assert_eq!(s.insns_processed, Some(9));
        assert_eq!(s.total_states, Some(1));
        assert_eq!(s.verification_time_us, Some(5));
        assert_eq!(s.stack_depth, Some(16));
        // what a 7.3 kernel prints
        let s = stats_from_log("p", "verification time 5 usec\nstack depth max 0\nsubprog 0 (p) main insns_self 9 insns_total 9 stack 24\nprocessed 9 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0\n");
        assert_eq!(s.stack_depth, Some(24));
        assert_eq!(s.insns_processed, Some(9));
    }
}
