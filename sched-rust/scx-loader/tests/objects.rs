//! Host tests on real compiled BPF objects: open only (no kernel, no root).

use std::path::PathBuf;

use libbpf_rs::AsRawLibbpf;
use scx_loader::testutil;
use scx_loader::{prepare, ParamArgs};
use serde_json::json;

fn obj(name: &str) -> Option<PathBuf> {
    testutil::build(name, &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpf"))
}

fn pa(params: &[&str]) -> ParamArgs {
    ParamArgs { params: params.iter().map(|s| s.to_string()).collect(), ..Default::default() }
}

#[test]
fn inspect_params_test_object() {
    let Some(o) = obj("params_test") else { return };
    let v = scx_loader::inspect(&o).unwrap();
    let params = v["params"].as_array().unwrap();
    let by = |n: &str| params.iter().find(|p| p["name"] == n).unwrap_or_else(|| panic!("no param {n}")).clone();
    assert_eq!(by("slice_us")["type"], "u64");
    assert_eq!(by("slice_us")["default"], 5000);
    assert_eq!(by("nr_queues")["max"], json!(u32::MAX));
    assert_eq!(by("weight")["size"], 2);
    assert_eq!(by("level")["default"], 3);
    assert_eq!(by("nice_bias")["default"], -5);
    assert_eq!(by("nice_bias")["min"], -128);
    assert_eq!(by("offset_us")["default"], -1000);
    assert_eq!(by("offset_us")["kind"], "signed");
    assert_eq!(by("big_signed")["default"], json!(-9_000_000_000i64));
    assert_eq!(by("verbose")["kind"], "bool");
    assert_eq!(by("verbose")["default"], true);
    assert_eq!(by("mode")["kind"], "enum");
    assert_eq!(by("mode")["default"], 1);
    assert_eq!(by("mode")["enumerators"]["PT_MODE_NEG"], -1);
    assert_eq!(by("cpu_weights")["settable"], false);

    let stats: Vec<(String, String, u64)> = v["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["name"].as_str().unwrap().into(), s["section"].as_str().unwrap().into(), s["offset"].as_u64().unwrap())
        })
        .collect();
    let names: Vec<&str> = stats.iter().map(|s| s.0.as_str()).collect();
    for n in ["enqueued", "direct", "seeded", "small", "per_queue"] {
        assert!(names.contains(&n), "missing stat {n} in {names:?}");
    }
    assert!(!names.contains(&"not_a_stat"));
    assert!(stats.iter().any(|s| s.0 == "seeded" && s.1 == ".data"));
    assert!(stats.iter().any(|s| s.0 == "enqueued" && s.1 == ".bss"));
    assert_eq!(v["uei"], true);
    assert_eq!(v["uei_var"]["section"], ".data");
    assert_eq!(v["struct_ops"][0]["ops_name"], "params_test");
    assert_eq!(v["struct_ops"][0]["timeout_ms"], 5000);
    assert_eq!(v["license"], "GPL");
    let progs: Vec<&str> = v["programs"].as_array().unwrap().iter().map(|p| p["section"].as_str().unwrap()).collect();
    assert!(progs.contains(&"struct_ops/pt_enqueue"), "{progs:?}");
}

#[test]
fn params_and_timeout_are_written_before_load() {
    let Some(o) = obj("params_test") else { return };
    let mut args = pa(&[
        "slice_us=20000",
        "nice_bias=-128",
        "offset_us=0x7fffffff",
        "verbose=false",
        "mode=PT_MODE_NEG",
        "level=255",
        "big_signed=-9223372036854775808",
    ]);
    args.timeout_ms = Some(1500);
    let p = prepare(&o, &args).unwrap_or_else(|f| panic!("{}", f.event));
    assert_eq!(p.timeout_ms, Some(1500));
    let info = &p.info;
    let def = |n: &str| info.params.iter().find(|d| d.name == n).unwrap();
    let ro_map = def("slice_us").map.clone().unwrap();
    let ro = p.open.maps().find(|m| m.name() == ro_map.as_str()).unwrap().initial_value().unwrap().to_vec();
    let val = |n: &str| {
        let d = def(n);
        d.scalar.as_ref().unwrap().decode(&ro[d.offset..]).unwrap()
    };
    assert_eq!(val("slice_us"), 20000);
    assert_eq!(val("nice_bias"), -128);
    assert_eq!(val("offset_us"), 0x7fffffff);
    assert_eq!(val("verbose"), 0);
    assert_eq!(val("mode"), -1);
    assert_eq!(val("level"), 255);
    assert_eq!(val("big_signed"), i64::MIN as i128);
    // untouched ones keep their defaults
    assert_eq!(val("nr_queues"), 4);
    assert_eq!(val("weight"), 100);

    let (off, size) = p.ops.timeout_field.unwrap();
    assert_eq!(size, 4);
    let ops = p.open.maps().find(|m| m.name() == "pt_ops").unwrap().initial_value().unwrap().to_vec();
    assert_eq!(u32::from_le_bytes(ops[off..off + 4].try_into().unwrap()), 1500);
    // the ops name is still intact next to it
    assert!(String::from_utf8_lossy(&ops).contains("params_test"));
}

#[test]
fn timeout_zero_keeps_object_value() {
    let Some(o) = obj("params_test") else { return };
    let mut args = pa(&[]);
    args.timeout_ms = Some(0);
    let p = prepare(&o, &args).unwrap_or_else(|f| panic!("{}", f.event));
    assert_eq!(p.timeout_ms, Some(5000));
}

#[test]
fn param_errors_are_reported_together() {
    let Some(o) = obj("params_test") else { return };
    let f =
        prepare(&o, &pa(&["slice=1", "level=256", "verbose=maybe", "nr_queues=lots", "mode=PT_MODE_X"])).err().unwrap();
    assert_eq!(f.status.code(), 2);
    let e = &f.event;
    assert_eq!(e["type"], "error");
    assert_eq!(e["stage"], "params");
    let codes: Vec<&str> = e["errors"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown_param", "out_of_range", "bad_bool", "not_a_number", "bad_enum"]);
    assert!(e["errors"][0]["known"].as_array().unwrap().contains(&json!("slice_us")));
    assert_eq!(e["errors"][1]["max"], 255);
}

#[test]
fn metadata_range_is_enforced() {
    let Some(o) = obj("params_test") else { return };
    let mut args = pa(&["slice_us=50"]);
    args.param_ranges = vec!["slice_us=100:100000".into(), "ghost=1:2".into()];
    let f = prepare(&o, &args).err().unwrap();
    assert_eq!(f.event["errors"][0]["code"], "out_of_range");
    assert_eq!(f.event["errors"][0]["min"], 100);
    args.params = vec!["slice_us=100".into()];
    let p = prepare(&o, &args).unwrap_or_else(|f| panic!("{}", f.event));
    assert!(p.warnings.iter().any(|w| w.contains("ghost")), "{:?}", p.warnings);
}

#[test]
fn stats_and_uei_decode_with_real_layout() {
    let Some(o) = obj("params_test") else { return };
    let p = prepare(&o, &pa(&[])).unwrap_or_else(|f| panic!("{}", f.event));
    let info = &p.info;
    // Simulate the kernel's .bss/.data contents with known values at BTF offsets.
    let mut sections: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
    for m in p.open.maps() {
        if let Some(v) = m.initial_value() {
            sections.insert(m.name().to_string_lossy().into_owned(), v.to_vec());
        }
    }
    for (i, s) in info.stats.iter().enumerate() {
        let buf = sections.get_mut(s.loc.map.as_ref().unwrap()).unwrap();
        let n = s.count.unwrap_or(1);
        for k in 0..n {
            let at = s.loc.offset + k * s.elem.size;
            s.elem.encode((100 * (i + 1) + k) as i128, &mut buf[at..at + s.elem.size]);
        }
    }
    let decoded: serde_json::Map<String, serde_json::Value> =
        info.stats.iter().map(|s| (s.name.clone(), s.decode(&sections[s.loc.map.as_ref().unwrap()]))).collect();
    for (i, s) in info.stats.iter().enumerate() {
        let base = 100 * (i + 1);
        let want = match s.count {
            None => json!(base),
            Some(n) => json!((0..n).map(|k| base + k).collect::<Vec<_>>()),
        };
        assert_eq!(decoded[&s.name], want, "stat {}", s.name);
    }

    let u = info.uei.as_ref().unwrap();
    let data = sections.get_mut(u.loc.map.as_ref().unwrap()).unwrap();
    assert!(u.decode(data).is_none(), "kind 0 means still running");
    let base = u.loc.offset;
    let (ko, ks) = (&u.kind.0, &u.kind.1);
    let (ro, _) = u.reason.unwrap();
    let (mo, _) = u.msg.unwrap();
    data[base + ro..base + ro + 19].copy_from_slice(b"runnable task stall");
    data[base + mo..base + mo + 10].copy_from_slice(b"t[7] 5.01s");
    ks.encode(1026, &mut data[base + ko..base + ko + ks.size]);
    let e = u.decode(data).unwrap();
    assert_eq!(e.kind, 1026);
    assert_eq!(e.reason, "runnable task stall");
    assert_eq!(e.message, "t[7] 5.01s");
    let j = e.to_json(10);
    assert_eq!(j["kind"], "stall");
    assert_eq!(j["loader_exit"], 12);
    // seeded counter in .data sits before uei and survived
    assert!(info.stats.iter().any(|s| s.name == "seeded"));
}

#[test]
fn fifo_template_inspects() {
    let tpl = testutil::templates_dir().join("fifo").join("fifo.bpf.c");
    if !tpl.is_file() {
        eprintln!("SKIP: {} missing", tpl.display());
        return;
    }
    let Some(o) = testutil::build_src(&tpl, "fifo", &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpf")) else {
        return;
    };
    let v = scx_loader::inspect(&o).unwrap();
    assert_eq!(v["struct_ops"][0]["ops_name"], "fifo");
    assert_eq!(v["params"][0]["name"], "slice_us");
    assert_eq!(v["params"][0]["default"], 20000);
    let stats: Vec<&str> = v["stats"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(stats, ["enqueued", "direct", "slice_ns"]);
    assert_eq!(v["uei"], true);
}

#[test]
fn ops_selection() {
    let Some(o) = obj("two_ops") else { return };
    let f = prepare(&o, &pa(&[])).err().unwrap();
    assert_eq!(f.event["code"], "ambiguous_ops");
    assert_eq!(f.status.code(), 2);
    let mut args = pa(&[]);
    args.ops = Some("beta".into());
    let p = prepare(&o, &args).unwrap_or_else(|f| panic!("{}", f.event));
    assert_eq!(p.ops.map, "beta_ops");
    // only the chosen table will be created
    for m in p.open.maps() {
        let auto = unsafe { libbpf_rs::libbpf_sys::bpf_map__autocreate(m.as_libbpf_object().as_ptr()) };
        assert_eq!(auto, m.name() == "beta_ops", "{:?}", m.name());
    }
    args.ops = Some("gamma".into());
    let f = prepare(&o, &args).err().unwrap();
    assert_eq!(f.event["code"], "unknown_ops");
    assert!(f.event["message"].as_str().unwrap().contains("alpha (map alpha_ops)"));
}

#[test]
fn object_without_struct_ops() {
    let Some(o) = obj("no_ops") else { return };
    let f = prepare(&o, &pa(&[])).err().unwrap();
    assert_eq!(f.event["stage"], "open");
    assert_eq!(f.event["code"], "no_struct_ops");
    assert!(f.event["message"].as_str().unwrap().contains("no struct_ops map"));
    // inspect still works and shows its params/stats
    let v = scx_loader::inspect(&o).unwrap();
    assert_eq!(v["struct_ops"], json!([]));
    assert_eq!(v["params"][0]["name"], "knob");
    assert_eq!(v["stats"][0]["name"], "hits");
}

#[test]
fn vm_fixtures_compile_and_inspect() {
    for (name, ops) in [
        ("stall", "stall"),
        ("error_exit", "error_exit"),
        ("verifier_reject", "verifier_reject"),
        ("sjf_hints", "sjf_hints"),
    ] {
        let Some(o) = obj(name) else { return };
        let v = scx_loader::inspect(&o).unwrap();
        assert_eq!(v["struct_ops"][0]["ops_name"], ops, "{name}");
        assert_eq!(v["uei"], true, "{name}");
    }
}
