//! What a scheduler object contains, from libbpf's opened object + its BTF:
//! struct_ops maps, parameters, `stat_*` counters, the `uei` exit record,
//! maps and programs. Building it needs no kernel (open only, no load).

use std::path::Path;

use libbpf_rs::{AsRawLibbpf, OpenObject};
use serde_json::{json, Map, Value};

use crate::btf::{Btf, Data, Kind};
use crate::params::{ParamDef, Scalar};

/// A map as seen at open time.
#[derive(Debug, Clone)]
pub struct MapSnapshot {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    /// For internal (global data) maps: the DATASEC type id; 0 if unknown.
    pub btf_value_type_id: u32,
    /// Initial contents (global data maps, struct_ops data).
    pub initial: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct ProgSnapshot {
    pub name: String,
    pub section: String,
}

pub const BPF_MAP_TYPE_STRUCT_OPS: u32 = 26;
pub const BPF_F_LINK: u32 = 1 << 13;

pub fn map_type_name(t: u32) -> String {
    const NAMES: [&str; 34] = [
        "unspec",
        "hash",
        "array",
        "prog_array",
        "perf_event_array",
        "percpu_hash",
        "percpu_array",
        "stack_trace",
        "cgroup_array",
        "lru_hash",
        "lru_percpu_hash",
        "lpm_trie",
        "array_of_maps",
        "hash_of_maps",
        "devmap",
        "sockmap",
        "cpumap",
        "xskmap",
        "sockhash",
        "cgroup_storage",
        "reuseport_sockarray",
        "percpu_cgroup_storage",
        "queue",
        "stack",
        "sk_storage",
        "devmap_hash",
        "struct_ops",
        "ringbuf",
        "inode_storage",
        "task_storage",
        "bloom_filter",
        "user_ringbuf",
        "cgrp_storage",
        "arena",
    ];
    NAMES.get(t as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("type_{t}"))
}

/// Location of a global variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarLoc {
    pub section: String,
    /// libbpf's map for the section (None if not found: e.g. section without map).
    pub map: Option<String>,
    pub offset: usize,
    pub size: usize,
}

#[derive(Debug, Clone)]
pub struct StructOpsDesc {
    /// Map (= variable) name, e.g. "fifo_ops".
    pub map: String,
    pub section: String,
    /// Struct type name, e.g. "sched_ext_ops".
    pub type_name: String,
    pub value_size: usize,
    pub link: bool,
    /// The ops `.name` string from the initial data.
    pub ops_name: Option<String>,
    /// (offset, size) of `timeout_ms` in the data, if the struct has it.
    pub timeout_field: Option<(usize, usize)>,
    /// Current timeout_ms value in the data.
    pub timeout_ms: Option<u64>,
    /// Current `flags` value in the data (sched_ext_ops.flags).
    pub flags: Option<u64>,
}

impl StructOpsDesc {
    pub fn display_name(&self) -> &str {
        self.ops_name.as_deref().filter(|s| !s.is_empty()).unwrap_or(&self.map)
    }
    pub fn to_json(&self) -> Value {
        json!({
            "map": self.map,
            "ops_name": self.ops_name,
            "type": self.type_name,
            "section": self.section,
            "link": self.link,
            "value_size": self.value_size,
            "timeout_ms": self.timeout_ms,
            "flags": self.flags,
        })
    }
}

#[derive(Debug, Clone)]
pub struct StatDesc {
    /// Name without the `stat_` prefix.
    pub name: String,
    pub var: String,
    pub loc: VarLoc,
    pub elem: Scalar,
    /// Some(n) for arrays of counters.
    pub count: Option<usize>,
    pub c_type: String,
}

impl StatDesc {
    /// Decode the counter from the section's current bytes.
    pub fn decode(&self, section: &[u8]) -> Value {
        let at = self.loc.offset;
        match self.count {
            None => {
                section.get(at..).and_then(|b| self.elem.decode(b)).map(|v| self.elem.to_json(v)).unwrap_or(Value::Null)
            }
            Some(n) => Value::Array(
                (0..n)
                    .map(|i| {
                        section
                            .get(at + i * self.elem.size..)
                            .and_then(|b| self.elem.decode(b))
                            .map(|v| self.elem.to_json(v))
                            .unwrap_or(Value::Null)
                    })
                    .collect(),
            ),
        }
    }
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "var": self.var,
            "type": self.c_type,
            "section": self.loc.section,
            "offset": self.loc.offset,
            "size": self.loc.size,
            "count": self.count,
        })
    }
}

/// `struct scx_user_exit_info uei` (UEI_DEFINE) layout.
#[derive(Debug, Clone)]
pub struct UeiDesc {
    pub var: String,
    pub loc: VarLoc,
    /// (offset within the var, scalar)
    pub kind: (usize, Scalar),
    pub exit_code: Option<(usize, Scalar)>,
    /// (offset, length)
    pub reason: Option<(usize, usize)>,
    pub msg: Option<(usize, usize)>,
}

impl UeiDesc {
    /// Decode from the section's bytes. `None` if the kind is still 0.
    pub fn decode(&self, section: &[u8]) -> Option<crate::exit::ExitInfo> {
        let base = self.loc.offset;
        let kind = section.get(base + self.kind.0..).and_then(|b| self.kind.1.decode(b))?;
        if kind == 0 {
            return None;
        }
        let exit_code =
            self.exit_code.as_ref().and_then(|(o, s)| section.get(base + o..).and_then(|b| s.decode(b))).unwrap_or(0);
        let text = |f: &Option<(usize, usize)>| -> String {
            f.and_then(|(o, l)| section.get(base + o..base + o + l)).map(cstr).unwrap_or_default()
        };
        Some(crate::exit::ExitInfo {
            kind: kind as i64,
            exit_code: exit_code as i64,
            reason: text(&self.reason),
            message: text(&self.msg),
            source: "uei",
        })
    }
}

/// NUL-terminated bytes to a String (lossy).
pub fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub path: String,
    pub btf: Btf,
    pub maps: Vec<MapSnapshot>,
    pub progs: Vec<ProgSnapshot>,
    pub struct_ops: Vec<StructOpsDesc>,
    pub params: Vec<ParamDef>,
    pub stats: Vec<StatDesc>,
    pub uei: Option<UeiDesc>,
    pub license: Option<String>,
}

fn is_data_section(name: &str) -> bool {
    [".data", ".bss", ".rodata"]
        .iter()
        .any(|p| name == *p || name.strip_prefix(p).map(|r| r.starts_with('.')).unwrap_or(false))
}

fn is_rodata(name: &str) -> bool {
    name == ".rodata" || name.starts_with(".rodata.")
}

impl ObjectInfo {
    /// Collect everything from an opened (not loaded) object.
    pub fn from_open(obj: &OpenObject, path: &Path) -> Result<ObjectInfo, String> {
        let raw = raw_btf(obj).ok_or_else(|| {
            "the object has no BTF (compile with clang -g): the loader needs BTF to find parameters, stats and the ops table".to_string()
        })?;
        let btf = Btf::parse(&raw).map_err(|e| e.to_string())?;
        let mut maps = Vec::new();
        for m in obj.maps() {
            let ptr = m.as_libbpf_object().as_ptr();
            let btf_value_type_id = unsafe { libbpf_rs::libbpf_sys::bpf_map__btf_value_type_id(ptr) };
            maps.push(MapSnapshot {
                name: m.name().to_string_lossy().into_owned(),
                map_type: u32::from(m.map_type()),
                key_size: m.key_size(),
                value_size: m.value_size(),
                max_entries: m.max_entries(),
                map_flags: m.map_flags(),
                btf_value_type_id,
                initial: m.initial_value().map(|v| v.to_vec()),
            });
        }
        let progs = obj
            .progs()
            .map(|p| ProgSnapshot {
                name: p.name().to_string_lossy().into_owned(),
                section: p.section().to_string_lossy().into_owned(),
            })
            .collect();
        let license = std::fs::read(path).ok().and_then(|b| elf_section(&b, "license")).map(|s| cstr(&s));
        Ok(Self::build(path.display().to_string(), btf, maps, progs, license))
    }

    /// Pure construction from snapshots (used directly by unit tests).
    pub fn build(
        path: String,
        btf: Btf,
        maps: Vec<MapSnapshot>,
        progs: Vec<ProgSnapshot>,
        license: Option<String>,
    ) -> ObjectInfo {
        let secs = btf.datasecs();
        let map_for = |sec_id: u32, sec: &str| -> Option<&MapSnapshot> {
            maps.iter().find(|m| m.btf_value_type_id != 0 && m.btf_value_type_id == sec_id).or_else(|| {
                maps.iter()
                    .filter(|m| m.map_type != BPF_MAP_TYPE_STRUCT_OPS && m.name.ends_with(sec))
                    .min_by_key(|m| m.name.len())
            })
        };

        let mut struct_ops = Vec::new();
        let mut params = Vec::new();
        let mut stats = Vec::new();
        let mut uei = None;

        for sec in &secs {
            if sec.name.starts_with(".struct_ops") {
                for v in &sec.vars {
                    let Some(m) = maps.iter().find(|m| m.name == v.name && m.map_type == BPF_MAP_TYPE_STRUCT_OPS)
                    else {
                        continue;
                    };
                    let sid = btf.resolve(v.type_id);
                    let type_name = btf.get(sid).map(|t| t.name.clone()).unwrap_or_default();
                    let data = m.initial.as_deref().unwrap_or(&[]);
                    let ops_name = btf.member(sid, "name").and_then(|(o, _, l)| data.get(o..o + l)).map(cstr);
                    let timeout_field = btf.member(sid, "timeout_ms").map(|(o, _, s)| (o, s));
                    let read_uint = |f: Option<(usize, u32, usize)>| {
                        f.and_then(|(o, _, s)| {
                            if !matches!(s, 1 | 2 | 4 | 8) {
                                return None;
                            }
                            data.get(o..).and_then(|b| Scalar::unsigned(s).decode(b)).map(|v| v as u64)
                        })
                    };
                    struct_ops.push(StructOpsDesc {
                        map: m.name.clone(),
                        section: sec.name.clone(),
                        type_name,
                        value_size: m.value_size as usize,
                        link: m.map_flags & BPF_F_LINK != 0 || sec.name.ends_with(".link"),
                        ops_name,
                        timeout_field,
                        timeout_ms: read_uint(btf.member(sid, "timeout_ms")),
                        flags: read_uint(btf.member(sid, "flags")),
                    });
                }
                continue;
            }
            if !is_data_section(&sec.name) {
                continue;
            }
            let map = map_for(sec.id, &sec.name);
            let init = map.and_then(|m| m.initial.as_deref());
            for v in &sec.vars {
                if v.linkage == 2 {
                    continue; // extern
                }
                let loc = VarLoc {
                    section: sec.name.clone(),
                    map: map.map(|m| m.name.clone()),
                    offset: v.offset as usize,
                    size: v.size as usize,
                };
                if is_rodata(&sec.name) {
                    let scalar = Scalar::from_btf(&btf, v.type_id);
                    let default = match (&scalar, init) {
                        (Ok(s), Some(b)) => b.get(loc.offset..).and_then(|b| s.decode(b)),
                        _ => None,
                    };
                    params.push(ParamDef {
                        name: v.name.clone(),
                        section: sec.name.clone(),
                        map: loc.map.clone(),
                        offset: loc.offset,
                        size: loc.size,
                        c_type: btf.type_name(v.type_id),
                        scalar,
                        default,
                    });
                    continue;
                }
                if let Some(stat) = v.name.strip_prefix("stat_") {
                    if let Some(d) = stat_desc(&btf, stat, &v.name, v.type_id, loc.clone()) {
                        stats.push(d);
                    }
                    continue;
                }
                if v.name == "uei" {
                    uei = uei_desc(&btf, &v.name, v.type_id, loc);
                }
            }
        }
        ObjectInfo { path, btf, maps, progs, struct_ops, params, stats, uei, license }
    }

    pub fn map(&self, name: &str) -> Option<&MapSnapshot> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// Pick the struct_ops map to attach: by `--ops` (map or ops name), else the only one.
    pub fn select_ops(&self, wanted: Option<&str>) -> Result<&StructOpsDesc, String> {
        let names = || {
            self.struct_ops
                .iter()
                .map(|s| format!("{} (map {})", s.display_name(), s.map))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match wanted {
            Some(w) => self
                .struct_ops
                .iter()
                .find(|s| s.map == w || s.ops_name.as_deref() == Some(w))
                .ok_or_else(|| format!("no struct_ops map named {w:?}; the object has: {}", names())),
            None => match self.struct_ops.len() {
                0 => Err("object has no struct_ops map: a sched_ext scheduler needs an ops table (SCX_OPS_DEFINE in SEC(\".struct_ops.link\"))".into()),
                1 => Ok(&self.struct_ops[0]),
                _ => Err(format!("object has several struct_ops maps, choose one with --ops: {}", names())),
            },
        }
    }

    /// The `inspect` JSON object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!("inspect"));
        m.insert("object".into(), json!(self.path));
        m.insert("license".into(), json!(self.license));
        m.insert("struct_ops".into(), Value::Array(self.struct_ops.iter().map(|s| s.to_json()).collect()));
        m.insert("params".into(), Value::Array(self.params.iter().map(|p| p.to_json()).collect()));
        m.insert("stats".into(), Value::Array(self.stats.iter().map(|s| s.to_json()).collect()));
        m.insert("uei".into(), json!(self.uei.is_some()));
        m.insert(
            "uei_var".into(),
            match &self.uei {
                Some(u) => json!({"name": u.var, "section": u.loc.section, "offset": u.loc.offset, "size": u.loc.size}),
                None => Value::Null,
            },
        );
        m.insert(
            "maps".into(),
            Value::Array(
                self.maps
                    .iter()
                    .map(|mp| {
                        json!({
                            "name": mp.name,
                            "type": map_type_name(mp.map_type),
                            "key_size": mp.key_size,
                            "value_size": mp.value_size,
                            "max_entries": mp.max_entries,
                        })
                    })
                    .collect(),
            ),
        );
        m.insert(
            "programs".into(),
            Value::Array(self.progs.iter().map(|p| json!({"name": p.name, "section": p.section})).collect()),
        );
        Value::Object(m)
    }
}

fn stat_desc(btf: &Btf, stat: &str, var: &str, type_id: u32, loc: VarLoc) -> Option<StatDesc> {
    let c_type = btf.type_name(type_id);
    if let Ok(elem) = Scalar::from_btf(btf, type_id) {
        return Some(StatDesc { name: stat.to_string(), var: var.to_string(), loc, elem, count: None, c_type });
    }
    let rid = btf.resolve(type_id);
    if let Some(Data::Array { elem, nelems, .. }) = btf.get(rid).map(|t| &t.data) {
        if let Ok(s) = Scalar::from_btf(btf, *elem) {
            return Some(StatDesc {
                name: stat.to_string(),
                var: var.to_string(),
                loc,
                elem: s,
                count: Some(*nelems as usize),
                c_type,
            });
        }
    }
    None
}

fn uei_desc(btf: &Btf, var: &str, type_id: u32, loc: VarLoc) -> Option<UeiDesc> {
    let sid = btf.resolve(type_id);
    if btf.get(sid)?.kind != Kind::Struct {
        return None;
    }
    let scalar_at = |name: &str| -> Option<(usize, Scalar)> {
        let (o, t, _) = btf.member(sid, name)?;
        Some((o, Scalar::from_btf(btf, t).ok()?))
    };
    let bytes_at = |name: &str| -> Option<(usize, usize)> {
        let (o, _, s) = btf.member(sid, name)?;
        Some((o, s))
    };
    Some(UeiDesc {
        var: var.to_string(),
        loc,
        kind: scalar_at("kind")?,
        exit_code: scalar_at("exit_code"),
        reason: bytes_at("reason"),
        msg: bytes_at("msg"),
    })
}

/// The object's BTF as libbpf holds it after open (with DATASEC sizes and
/// VAR offsets fixed up).
pub fn raw_btf(obj: &OpenObject) -> Option<Vec<u8>> {
    let ptr = obj.as_libbpf_object().as_ptr();
    unsafe {
        let btf = libbpf_rs::libbpf_sys::bpf_object__btf(ptr);
        if btf.is_null() {
            return None;
        }
        let mut size: u32 = 0;
        let data = libbpf_rs::libbpf_sys::btf__raw_data(btf, &mut size);
        if data.is_null() || size == 0 {
            return None;
        }
        Some(std::slice::from_raw_parts(data as *const u8, size as usize).to_vec())
    }
}

/// Contents of a named section of a little-endian ELF64 file.
pub fn elf_section(b: &[u8], name: &str) -> Option<Vec<u8>> {
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| b.get(o..o + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap()));
    let u64_at = |o: usize| b.get(o..o + 8).map(|s| u64::from_le_bytes(s.try_into().unwrap()));
    if b.get(0..4)? != b"\x7fELF" || *b.get(4)? != 2 || *b.get(5)? != 1 {
        return None;
    }
    let shoff = u64_at(0x28)? as usize;
    let shentsize = u16_at(0x3a)? as usize;
    let shnum = u16_at(0x3c)? as usize;
    let shstrndx = u16_at(0x3e)? as usize;
    let sh = |i: usize| shoff + i * shentsize;
    let str_off = u64_at(sh(shstrndx) + 24)? as usize;
    for i in 0..shnum {
        let n = u32_at(sh(i))? as usize;
        let nm = b.get(str_off + n..)?;
        let end = nm.iter().position(|&c| c == 0)?;
        if &nm[..end] == name.as_bytes() {
            let off = u64_at(sh(i) + 24)? as usize;
            let size = u64_at(sh(i) + 32)? as usize;
            return b.get(off..off + size).map(|s| s.to_vec());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::builder::BtfBuilder;

    /// A synthetic object: .rodata {u64 slice_us=5000; bool ljf}, .bss {u64 stat_a;
    /// u64 stat_b; u32 stat_arr[2]; u64 other}, .data {struct uei}, struct_ops "x_ops".
    fn synthetic() -> ObjectInfo {
        let mut b = BtfBuilder::new();
        let ull = b.int("unsigned long long", 8, 0);
        let u64_ = b.typedef("u64", ull);
        let boolean = b.int("_Bool", 1, 4);
        let uint = b.int("unsigned int", 4, 0);
        let int = b.int("int", 4, 1);
        let ll = b.int("long long", 8, 1);
        let ch = b.int("char", 1, 1);
        let cv_u64 = {
            let v = b.volatile(u64_);
            b.konst(v)
        };
        let cv_bool = {
            let v = b.volatile(boolean);
            b.konst(v)
        };
        let v_slice = b.var("slice_us", cv_u64, 1);
        let v_ljf = b.var("ljf", cv_bool, 1);
        let ro = b.datasec(".rodata", 9, &[(v_slice, 0, 8), (v_ljf, 8, 1)]);
        let v_a = b.var("stat_a", u64_, 1);
        let v_b = b.var("stat_b", u64_, 1);
        let arr = b.array(uint, int, 2);
        let v_arr = b.var("stat_arr", arr, 1);
        let v_other = b.var("other", u64_, 1);
        let bss = b.datasec(".bss", 32, &[(v_a, 0, 8), (v_b, 8, 8), (v_arr, 16, 8), (v_other, 24, 8)]);
        let reason = b.array(ch, int, 8);
        let msg = b.array(ch, int, 16);
        let uei_t = b.structure(
            "scx_user_exit_info",
            40,
            &[("kind", int, 0), ("exit_code", ll, 8), ("reason", reason, 16), ("msg", msg, 24)],
        );
        let v_uei = b.var("uei", uei_t, 1);
        let data = b.datasec(".data", 40, &[(v_uei, 0, 40)]);
        let name_arr = b.array(ch, int, 16);
        let ops_t =
            b.structure("sched_ext_ops", 32, &[("flags", ull, 0), ("timeout_ms", uint, 8), ("name", name_arr, 16)]);
        let v_ops = b.var("x_ops", ops_t, 1);
        b.datasec(".struct_ops.link", 32, &[(v_ops, 0, 32)]);
        let btf = Btf::parse(&b.build()).unwrap();

        let mut ro_init = vec![0u8; 9];
        ro_init[..8].copy_from_slice(&5000u64.to_le_bytes());
        let mut ops_init = vec![0u8; 32];
        ops_init[8..12].copy_from_slice(&250u32.to_le_bytes());
        ops_init[16..20].copy_from_slice(b"xsch");
        let map = |name: &str, t: u32, vs: u32, dsid: u32, init: Option<Vec<u8>>| MapSnapshot {
            name: name.into(),
            map_type: t,
            key_size: 4,
            value_size: vs,
            max_entries: 1,
            map_flags: 0,
            btf_value_type_id: dsid,
            initial: init,
        };
        let maps = vec![
            // wrong-looking name on purpose: matched through btf_value_type_id
            map("x_bpf.rodata", 2, 9, ro, Some(ro_init)),
            map("x_bpf.bss", 2, 32, bss, Some(vec![0; 32])),
            map("x_bpf.data", 2, 40, 0 /* fall back to name suffix */, Some(vec![0; 40])),
            MapSnapshot { map_flags: BPF_F_LINK, ..map("x_ops", BPF_MAP_TYPE_STRUCT_OPS, 32, 0, Some(ops_init)) },
        ];
        let _ = data;
        ObjectInfo::build("x.bpf.o".into(), btf, maps, vec![], Some("GPL".into()))
    }

    #[test]
    fn finds_params_with_defaults() {
        let info = synthetic();
        assert_eq!(info.params.len(), 2);
        let p = &info.params[0];
        assert_eq!((p.name.as_str(), p.c_type.as_str(), p.offset, p.size), ("slice_us", "u64", 0, 8));
        assert_eq!(p.default, Some(5000));
        assert_eq!(p.map.as_deref(), Some("x_bpf.rodata"));
        assert_eq!(info.params[1].to_json()["kind"], "bool");
        assert_eq!(info.params[1].to_json()["default"], false);
    }

    #[test]
    fn decodes_stats_by_datasec_offsets() {
        let info = synthetic();
        let names: Vec<_> = info.stats.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "arr"]);
        let mut bss = vec![0u8; 32];
        bss[0..8].copy_from_slice(&7u64.to_le_bytes());
        bss[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        bss[16..20].copy_from_slice(&3u32.to_le_bytes());
        bss[20..24].copy_from_slice(&4u32.to_le_bytes());
        let vals: Vec<Value> = info.stats.iter().map(|s| s.decode(&bss)).collect();
        assert_eq!(vals, vec![json!(7), json!(u64::MAX), json!([3, 4])]);
        // truncated section decodes to null, not a panic
        assert_eq!(info.stats[1].decode(&bss[..10]), Value::Null);
    }

    #[test]
    fn struct_ops_and_uei() {
        let info = synthetic();
        let ops = info.select_ops(None).unwrap();
        assert_eq!(ops.map, "x_ops");
        assert_eq!(ops.ops_name.as_deref(), Some("xsch"));
        assert_eq!(ops.timeout_field, Some((8, 4)));
        assert_eq!(ops.timeout_ms, Some(250));
        assert!(ops.link);
        assert!(info.select_ops(Some("xsch")).is_ok());
        assert!(info.select_ops(Some("nope")).unwrap_err().contains("xsch (map x_ops)"));

        let uei = info.uei.as_ref().unwrap();
        assert_eq!(uei.loc.map.as_deref(), Some("x_bpf.data"));
        let mut data = vec![0u8; 40];
        assert!(uei.decode(&data).is_none());
        data[0..4].copy_from_slice(&1026i32.to_le_bytes());
        data[8..16].copy_from_slice(&(-3i64).to_le_bytes());
        data[16..24].copy_from_slice(b"stall\0\0\0");
        data[24..30].copy_from_slice(b"t[1] x");
        let e = uei.decode(&data).unwrap();
        assert_eq!((e.kind, e.exit_code), (1026, -3));
        assert_eq!(e.reason, "stall");
        assert_eq!(e.message, "t[1] x");
    }

    #[test]
    fn inspect_json_shape() {
        let v = synthetic().to_json();
        assert_eq!(v["type"], "inspect");
        assert_eq!(v["uei"], true);
        assert_eq!(v["struct_ops"][0]["ops_name"], "xsch");
        assert_eq!(v["params"][0]["default"], 5000);
        assert_eq!(v["stats"][2]["count"], 2);
        assert_eq!(v["license"], "GPL");
        assert!(v["maps"].as_array().unwrap().iter().any(|m| m["type"] == "struct_ops"));
    }

    #[test]
    fn no_struct_ops() {
        let info =
            ObjectInfo::build("e.o".into(), Btf::parse(&BtfBuilder::new().build()).unwrap(), vec![], vec![], None);
        assert!(info.select_ops(None).unwrap_err().contains("no struct_ops map"));
    }

    #[test]
    fn section_classes() {
        assert!(is_data_section(".data"));
        assert!(is_data_section(".bss"));
        assert!(is_data_section(".rodata.cfg"));
        assert!(!is_data_section(".rodata1"));
        assert!(!is_data_section(".maps"));
        assert!(!is_data_section(".kconfig"));
        assert!(is_rodata(".rodata.x") && !is_rodata(".data"));
    }
}
