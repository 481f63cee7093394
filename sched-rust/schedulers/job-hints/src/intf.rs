//! The job-hints contract with the BPF side lives in one C header,
//! `bpf-templates/scx_job_hints_intf.h` (map and program names, key/value and
//! record layouts, sizes, rule kinds). This test-only module reads that header
//! (`include_str!`, so `cargo test` rebuilds when it changes) and holds the
//! crate's constants and byte layouts to it: a change on one side fails
//! `cargo test` until the other follows. No bindgen: the header is plain
//! `#define NAME value` lines and two structs of fixed-width fields.

use std::collections::HashMap;

/// The header's text, as the BPF side compiles it.
pub const HEADER: &str = include_str!("../../../../bpf-templates/scx_job_hints_intf.h");

/// `#define NAME value` lines: name -> value (strings without their quotes).
pub fn defines(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("#define ") else { continue };
        let rest = rest.trim();
        let (name, value) = match rest.find(char::is_whitespace) {
            Some(i) => (&rest[..i], rest[i..].trim()),
            None => (rest, ""),
        };
        if name.contains('(') {
            // a function-like macro: keep its body under the bare name
            let (bare, tail) = rest
                .split_once(')')
                .map(|(a, b)| (a.split('(').next().unwrap_or(a), b.trim()))
                .unwrap_or((name, value));
            out.insert(bare.to_string(), tail.to_string());
            continue;
        }
        out.insert(name.to_string(), value.trim_matches('"').to_string());
    }
    out
}

/// The fields of `struct NAME { __u32 a; __u64 b; ... };` with their offsets
/// (natural alignment, as clang lays them out), and the struct's size.
pub fn layout(text: &str, name: &str) -> (Vec<(String, usize, usize)>, usize) {
    let start = text.find(&format!("struct {name} {{")).unwrap_or_else(|| panic!("struct {name} not in the header"));
    let body = &text[start..start + text[start..].find("};").expect("struct end")];
    let (mut fields, mut off, mut align) = (Vec::new(), 0usize, 1usize);
    for line in body.lines().skip(1) {
        let decl = line.split("/*").next().unwrap_or("").trim();
        let Some(decl) = decl.strip_suffix(';') else { continue };
        let mut it = decl.split_whitespace();
        let (ty, field) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
        let size = match ty {
            "__u8" => 1,
            "__u16" => 2,
            "__u32" => 4,
            "__u64" => 8,
            _ => panic!("struct {name}: field type {ty} is not a fixed-width __uN"),
        };
        off = off.div_ceil(size) * size;
        fields.push((field.to_string(), off, size));
        off += size;
        align = align.max(size);
    }
    (fields, off.div_ceil(align) * align)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{self, EXECS_MAP, EXEC_EVENT_SIZE, EXEC_PROG, EXIT_PROG, JOB_LEN_SIZE, LENS_MAP};
    use crate::rules::{parse_rule, Kind};
    use crate::{COMM_LEN, HINT_VALUE_SIZE, MAP_NAME};
    use serde_json::json;

    fn num(d: &HashMap<String, String>, k: &str) -> usize {
        d.get(k)
            .unwrap_or_else(|| panic!("{k} is not defined in scx_job_hints_intf.h"))
            .parse()
            .unwrap_or_else(|_| panic!("{k} is not a number"))
    }
    fn text<'a>(d: &'a HashMap<String, String>, k: &str) -> &'a str {
        d.get(k).unwrap_or_else(|| panic!("{k} is not defined in scx_job_hints_intf.h"))
    }
    fn offset(fields: &[(String, usize, usize)], name: &str) -> usize {
        fields.iter().find(|f| f.0 == name).unwrap_or_else(|| panic!("no field {name}")).1
    }

    #[test]
    fn job_hints_map_matches_the_header() {
        let d = defines(HEADER);
        assert_eq!(text(&d, "JOB_HINTS_MAP"), MAP_NAME);
        assert_eq!(num(&d, "JOB_COMM_LEN"), COMM_LEN);
        assert_eq!(num(&d, "JOB_HINT_VALUE_SIZE"), HINT_VALUE_SIZE);
        // the longest prefix the header allows is the longest comm_key accepts
        assert!(crate::comm_key(&"x".repeat(COMM_LEN - 1)).is_ok());
        assert!(crate::comm_key(&"x".repeat(COMM_LEN)).is_err());
    }

    #[test]
    fn job_lens_value_matches_struct_job_len() {
        let d = defines(HEADER);
        assert_eq!(text(&d, "JOB_LENS_MAP"), LENS_MAP);
        let (fields, size) = layout(HEADER, "job_len");
        assert_eq!(size, num(&d, "JOB_LEN_SIZE"));
        assert_eq!(size, JOB_LEN_SIZE);
        let v = exec::job_len_value(0x1122_3344_5566_7788, 0x99aa_bbcc_ddee_ff00);
        let at = |o: usize| u64::from_ne_bytes(v[o..o + 8].try_into().unwrap());
        assert_eq!(at(offset(&fields, "expected_ns")), 0x1122_3344_5566_7788);
        assert_eq!(at(offset(&fields, "rule")), 0x99aa_bbcc_ddee_ff00);
    }

    #[test]
    fn exec_records_match_struct_exec_event() {
        let d = defines(HEADER);
        assert_eq!(text(&d, "JOB_EXECS_MAP"), EXECS_MAP);
        assert_eq!(text(&d, "JOB_EXEC_PROG"), EXEC_PROG);
        assert_eq!(text(&d, "JOB_EXIT_PROG"), EXIT_PROG);
        assert_eq!(num(&d, "JOB_EXEC") as u32, exec::JOB_EXEC);
        assert_eq!(num(&d, "JOB_EXIT") as u32, exec::JOB_EXIT);
        let (fields, size) = layout(HEADER, "exec_event");
        assert_eq!(size, num(&d, "JOB_EXEC_EVENT_SIZE"));
        assert_eq!(size, EXEC_EVENT_SIZE);
        // a record laid out as the header says parses back to the same values
        let mut rec = vec![0u8; size];
        let put = |rec: &mut Vec<u8>, f: &str, bytes: &[u8]| {
            let o = offset(&fields, f);
            rec[o..o + bytes.len()].copy_from_slice(bytes);
        };
        put(&mut rec, "pid", &4242u32.to_ne_bytes());
        put(&mut rec, "tgid", &4240u32.to_ne_bytes());
        put(&mut rec, "kind", &exec::JOB_EXIT.to_ne_bytes());
        put(&mut rec, "runtime_ns", &123_456_789u64.to_ne_bytes());
        assert_eq!(exec::parse_exec_event(&rec), Some((exec::JOB_EXIT, 4242, 4240, 123_456_789)));
        assert_eq!(exec::parse_exec_event(&rec[..size - 1]), None);
    }

    #[test]
    fn rule_kinds_and_codes_match_the_header() {
        let d = defines(HEADER);
        for (name, kind, rule) in [
            ("JOB_RULE_ARGV", Kind::Argv, json!({"argv": "x *", "expect_ms": 1})),
            ("JOB_RULE_CGROUP", Kind::Cgroup, json!({"cgroup": "/b", "expect_ms": 1})),
            ("JOB_RULE_PGID", Kind::Pgid, json!({"pgid": 7, "expect_ms": 1})),
            ("JOB_RULE_SID", Kind::Sid, json!({"sid": 7, "expect_ms": 1})),
            ("JOB_RULE_COMM", Kind::Comm, json!({"comm": "job_", "expect_ms": 1})),
        ] {
            assert_eq!(num(&d, name), kind as usize, "{name}");
            let r = parse_rule(&rule, 6).unwrap();
            assert_eq!(r.kind(), kind);
            // JOB_RULE_CODE(kind, index) = kind << 32 | (index + 1)
            assert_eq!(r.code(), ((num(&d, name) as u64) << 32) | 7, "{name}");
        }
        assert_eq!(text(&d, "JOB_RULE_CODE"), "(((__u64)(kind) << 32) | ((__u64)(index) + 1))");
    }
}
