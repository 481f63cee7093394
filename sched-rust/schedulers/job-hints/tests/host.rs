//! scx-job-hints against compiled objects, on the host (no load).

use std::path::{Path, PathBuf};
use std::process::Command;

use scx_loader::testutil;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_scx-job-hints");

fn obj(name: &str) -> Option<PathBuf> {
    testutil::build(name, &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpf"))
}

fn run(args: &[&str], env: &[(&str, &Path)]) -> (i32, Vec<Value>) {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

#[test]
fn check_accepts_hints_for_sjf_object() {
    let Some(o) = obj("sjf_hints") else { return };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let f = dir.join("hints-ok.json");
    std::fs::write(&f, r#"{"job_long": 39000, "job_short": 1000}"#).unwrap();
    let (code, lines) = run(
        &[
            "check",
            o.to_str().unwrap(),
            "--hints-file",
            f.to_str().unwrap(),
            "--hint",
            "job_short=500",
            "-p",
            "ljf=true",
        ],
        &[],
    );
    assert_eq!(code, 0, "{lines:?}");
    let v = &lines[0];
    assert_eq!(v["ok"], true);
    assert_eq!(v["ops"], "sjf_hints");
    assert_eq!(v["params"]["ljf"], true);
    assert_eq!(v["hints"]["job_long"], 39_000_000_000u64);
    assert_eq!(v["hints"]["job_short"], 500_000_000u64);
}

#[test]
fn check_refuses_object_without_map() {
    let Some(o) = obj("params_test") else { return };
    let (code, lines) = run(&["check", o.to_str().unwrap(), "--hint", "job=5"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["type"], "error");
    assert_eq!(lines[0]["stage"], "hook");
    assert!(lines[0]["message"].as_str().unwrap().contains("no BPF map named job_hints"));
}

#[test]
fn bad_hints_are_argument_errors() {
    let Some(o) = obj("sjf_hints") else { return };
    let (code, lines) = run(&["check", o.to_str().unwrap(), "--hint", "a_very_long_command_name=5"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["code"], "bad_hint");
    assert!(lines[0]["message"].as_str().unwrap().contains("at most 15"));
    let (code, _) = run(&["check", o.to_str().unwrap(), "--hint", "x=soon"], &[]);
    assert_eq!(code, 2);
}

#[test]
fn run_on_host_stops_at_environment_check() {
    let Some(o) = obj("sjf_hints") else { return };
    let none = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-sched-ext-here");
    let (code, lines) = run(
        &["run", o.to_str().unwrap(), "--hint", "job_long=39000", "--timeout-ms", "3000"],
        &[("SCX_LOADER_SYSFS", &none)],
    );
    assert_eq!(code, 3, "{lines:?}");
    assert_eq!(lines.last().unwrap()["stage"], "env");
}
