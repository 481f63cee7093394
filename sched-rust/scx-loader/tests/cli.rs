//! The scx-loader binary: JSON output shapes and exit codes on a host
//! without sched_ext (nothing here loads BPF).

use std::path::{Path, PathBuf};
use std::process::Command;

use scx_loader::testutil;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_scx-loader");

fn obj(name: &str) -> Option<PathBuf> {
    testutil::build(name, &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpf"))
}

/// (exit code, stdout JSON lines, stderr)
fn run(args: &[&str], env: &[(&str, &Path)]) -> (i32, Vec<Value>, String) {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect();
    (out.status.code().unwrap_or(-1), lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn inspect_prints_one_json_object() {
    let Some(o) = obj("params_test") else { return };
    let (code, lines, _) = run(&["inspect", o.to_str().unwrap()], &[]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
    let v = &lines[0];
    assert_eq!(v["type"], "inspect");
    for k in ["struct_ops", "params", "stats", "uei", "maps", "programs"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
}

#[test]
fn check_params_ok_and_errors() {
    let Some(o) = obj("params_test") else { return };
    let o = o.to_str().unwrap();
    let (code, lines, _) =
        run(&["check-params", o, "--param", "slice_us=1000", "-p", "verbose=0", "--timeout-ms", "2000"], &[]);
    assert_eq!(code, 0, "{lines:?}");
    let v = &lines[0];
    assert_eq!(v["type"], "check-params");
    assert_eq!(v["ok"], true);
    assert_eq!(v["ops"], "params_test");
    assert_eq!(v["params"]["slice_us"], 1000);
    assert_eq!(v["params"]["verbose"], false);
    assert_eq!(v["params"]["nr_queues"], 4);
    assert_eq!(v["set"], serde_json::json!({"slice_us": 1000, "verbose": false}));
    assert_eq!(v["timeout_ms"], 2000);

    let (code, lines, _) = run(&["check-params", o, "--param", "nope=1"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "error");
    assert_eq!(lines[0]["stage"], "params");
    assert_eq!(lines[0]["ok"], false);
    assert!(lines[0]["message"].as_str().unwrap().contains("known parameters"));

    let (code, lines, _) = run(&["check-params", o, "--param-range", "slice_us=1:10", "-p", "slice_us=11"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["errors"][0]["code"], "out_of_range");
}

#[test]
fn bad_arguments_exit_2_with_json() {
    let (code, lines, stderr) = run(&["run"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["type"], "error");
    assert_eq!(lines[0]["stage"], "args");
    assert!(!stderr.is_empty());
    let (code, lines, _) = run(&["run", "x.bpf.o", "--stats-interval-ms", "soon"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["stage"], "args");
}

#[test]
fn missing_or_garbage_object() {
    let (code, lines, _) = run(&["inspect", "/nonexistent/x.bpf.o"], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["stage"], "open");
    assert_eq!(lines[0]["code"], "not_found");
    let junk = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("junk.bpf.o");
    std::fs::write(&junk, b"this is not an ELF file").unwrap();
    let (code, lines, _) = run(&["run", junk.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert_eq!(lines[0]["type"], "error");
    assert_eq!(lines[0]["stage"], "open");
}

#[test]
fn run_without_sched_ext_is_an_environment_error() {
    let Some(o) = obj("params_test") else { return };
    // Point the loader at a sysfs directory that does not exist: on any host
    // (root or not) this must stop before load with exit 3.
    let none = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-sched-ext-here");
    let (code, lines, _) = run(&["run", o.to_str().unwrap(), "-p", "slice_us=3000"], &[("SCX_LOADER_SYSFS", &none)]);
    assert_eq!(code, 3, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["stage"], "env");
    assert_eq!(last["exit_code"], 3);
    let msg = last["message"].as_str().unwrap();
    assert!(msg.contains("kernel without sched_ext") || msg.contains("root"), "{msg}");
}

#[test]
fn run_with_busy_sched_ext_is_an_environment_error() {
    let Some(o) = obj("params_test") else { return };
    let fake = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fake-sched-ext-busy");
    std::fs::create_dir_all(fake.join("root")).unwrap();
    std::fs::write(fake.join("state"), "enabled\n").unwrap();
    std::fs::write(fake.join("root/ops"), "rusty\n").unwrap();
    let (code, lines, _) = run(&["run", o.to_str().unwrap()], &[("SCX_LOADER_SYSFS", &fake)]);
    assert_eq!(code, 3);
    let last = lines.last().unwrap();
    assert_eq!(last["stage"], "env");
    let msg = last["message"].as_str().unwrap();
    if unsafe { libc_geteuid() } == 0 {
        assert_eq!(msg, "another sched_ext scheduler is active: rusty (state enabled)");
        assert_eq!(last["code"], "busy");
    } else {
        assert!(msg.contains("root"));
    }
}

#[test]
fn run_param_errors_come_before_environment() {
    let Some(o) = obj("params_test") else { return };
    let none = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-sched-ext-here");
    let (code, lines, _) = run(&["run", o.to_str().unwrap(), "-p", "slice_us=-5"], &[("SCX_LOADER_SYSFS", &none)]);
    assert_eq!(code, 2);
    assert_eq!(lines.last().unwrap()["stage"], "params");
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
