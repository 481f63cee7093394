//! A small, dependency-free reader for raw BTF (the `.BTF` blob of a BPF object).
//!
//! The loader reads the BTF *after* libbpf has opened the object
//! (`btf__raw_data(bpf_object__btf(obj))`): clang leaves DATASEC sizes and
//! VAR offsets at 0 in the ELF file and libbpf fills them in at open time, so
//! the raw ELF section alone is not enough.
//!
//! Only what the loader needs is decoded: type graph, names, INT encodings,
//! enums, struct members, VAR linkage and DATASEC entries.

use std::fmt;

pub const BTF_MAGIC: u16 = 0xEB9F;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
    Unknown(u32),
}

impl Kind {
    fn from_raw(k: u32) -> Kind {
        match k {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            other => Kind::Unknown(other),
        }
    }
}

/// INT encoding bits (BTF_INT_SIGNED/CHAR/BOOL).
pub const BTF_INT_SIGNED: u8 = 1;
pub const BTF_INT_CHAR: u8 = 2;
pub const BTF_INT_BOOL: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub type_id: u32,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Non-zero for bitfields.
    pub bitfield_size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumerator {
    pub name: String,
    pub value: i128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecVar {
    pub type_id: u32,
    pub offset: u32,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    None,
    Int { encoding: u8, offset: u8, bits: u8 },
    Array { elem: u32, index: u32, nelems: u32 },
    Members(Vec<Member>),
    Enum { signed: bool, values: Vec<Enumerator> },
    Params(Vec<(String, u32)>),
    Var { linkage: u32 },
    Datasec(Vec<SecVar>),
    DeclTag { component_idx: i32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub name: String,
    pub kind: Kind,
    pub kind_flag: bool,
    pub vlen: u16,
    /// `size` for INT/ENUM/STRUCT/UNION/DATASEC/FLOAT/ENUM64, `type` otherwise.
    pub size_or_type: u32,
    pub data: Data,
}

#[derive(Debug, Clone)]
pub struct BtfError(pub String);

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BTF: {}", self.0)
    }
}
impl std::error::Error for BtfError {}

/// Parsed BTF. `types[0]` is `void`; type ids index straight into `types`.
#[derive(Debug, Clone)]
pub struct Btf {
    pub types: Vec<Type>,
}

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn u32(&mut self) -> Result<u32, BtfError> {
        let s = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| BtfError(format!("truncated type data at byte {}", self.pos)))?;
        self.pos += 4;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
}

fn le_u32(b: &[u8], at: usize) -> Result<u32, BtfError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| BtfError("truncated header".into()))
}

impl Btf {
    /// Parse a raw BTF blob (little-endian, as produced for x86/arm64 BPF objects).
    pub fn parse(raw: &[u8]) -> Result<Btf, BtfError> {
        if raw.len() < 24 {
            return Err(BtfError("blob shorter than a BTF header".into()));
        }
        let magic = u16::from_le_bytes([raw[0], raw[1]]);
        if magic != BTF_MAGIC {
            return Err(BtfError(format!("bad magic {magic:#x} (big-endian BTF is not supported)")));
        }
        let hdr_len = le_u32(raw, 4)? as usize;
        let type_off = le_u32(raw, 8)? as usize;
        let type_len = le_u32(raw, 12)? as usize;
        let str_off = le_u32(raw, 16)? as usize;
        let str_len = le_u32(raw, 20)? as usize;
        let types_start = hdr_len + type_off;
        let strs_start = hdr_len + str_off;
        let tb = raw
            .get(types_start..types_start + type_len)
            .ok_or_else(|| BtfError("type section out of bounds".into()))?;
        let sb =
            raw.get(strs_start..strs_start + str_len).ok_or_else(|| BtfError("string section out of bounds".into()))?;
        let name = |off: u32| -> Result<String, BtfError> {
            let off = off as usize;
            if off >= sb.len() {
                if off == 0 {
                    return Ok(String::new());
                }
                return Err(BtfError(format!("string offset {off} out of bounds")));
            }
            let end = sb[off..].iter().position(|&c| c == 0).map(|p| off + p).unwrap_or(sb.len());
            Ok(String::from_utf8_lossy(&sb[off..end]).into_owned())
        };

        let mut types = vec![Type {
            name: "void".into(),
            kind: Kind::Void,
            kind_flag: false,
            vlen: 0,
            size_or_type: 0,
            data: Data::None,
        }];
        let mut r = Rd { b: tb, pos: 0 };
        while r.pos < tb.len() {
            let name_off = r.u32()?;
            let info = r.u32()?;
            let size_or_type = r.u32()?;
            let vlen = (info & 0xffff) as u16;
            let kind = Kind::from_raw((info >> 24) & 0x1f);
            let kind_flag = info >> 31 == 1;
            let data = match kind {
                Kind::Int => {
                    let v = r.u32()?;
                    Data::Int {
                        encoding: ((v >> 24) & 0x0f) as u8,
                        offset: ((v >> 16) & 0xff) as u8,
                        bits: (v & 0xff) as u8,
                    }
                }
                Kind::Array => Data::Array { elem: r.u32()?, index: r.u32()?, nelems: r.u32()? },
                Kind::Struct | Kind::Union => {
                    let mut m = Vec::with_capacity(vlen as usize);
                    for _ in 0..vlen {
                        let n = r.u32()?;
                        let t = r.u32()?;
                        let off = r.u32()?;
                        let (bit_offset, bitfield_size) =
                            if kind_flag { (off & 0x00ff_ffff, off >> 24) } else { (off, 0) };
                        m.push(Member { name: name(n)?, type_id: t, bit_offset, bitfield_size });
                    }
                    Data::Members(m)
                }
                Kind::Enum => {
                    let mut v = Vec::with_capacity(vlen as usize);
                    for _ in 0..vlen {
                        let n = r.u32()?;
                        let val = r.u32()?;
                        let value = if kind_flag { val as i32 as i128 } else { val as i128 };
                        v.push(Enumerator { name: name(n)?, value });
                    }
                    Data::Enum { signed: kind_flag, values: v }
                }
                Kind::Enum64 => {
                    let mut v = Vec::with_capacity(vlen as usize);
                    for _ in 0..vlen {
                        let n = r.u32()?;
                        let lo = r.u32()? as u64;
                        let hi = r.u32()? as u64;
                        let raw = (hi << 32) | lo;
                        let value = if kind_flag { raw as i64 as i128 } else { raw as i128 };
                        v.push(Enumerator { name: name(n)?, value });
                    }
                    Data::Enum { signed: kind_flag, values: v }
                }
                Kind::FuncProto => {
                    let mut p = Vec::with_capacity(vlen as usize);
                    for _ in 0..vlen {
                        let n = r.u32()?;
                        let t = r.u32()?;
                        p.push((name(n)?, t));
                    }
                    Data::Params(p)
                }
                Kind::Var => Data::Var { linkage: r.u32()? },
                Kind::Datasec => {
                    let mut v = Vec::with_capacity(vlen as usize);
                    for _ in 0..vlen {
                        v.push(SecVar { type_id: r.u32()?, offset: r.u32()?, size: r.u32()? });
                    }
                    Data::Datasec(v)
                }
                Kind::DeclTag => Data::DeclTag { component_idx: r.u32()? as i32 },
                Kind::Unknown(k) => return Err(BtfError(format!("unknown BTF kind {k}"))),
                _ => Data::None,
            };
            types.push(Type { name: name(name_off)?, kind, kind_flag, vlen, size_or_type, data });
        }
        Ok(Btf { types })
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize)
    }

    /// Follow typedef/const/volatile/restrict/type_tag to the underlying type.
    pub fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..64 {
            match self.get(id) {
                Some(t)
                    if matches!(
                        t.kind,
                        Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag
                    ) =>
                {
                    id = t.size_or_type
                }
                _ => return id,
            }
        }
        id
    }

    /// Skip only qualifiers (const/volatile/restrict/type_tag), keeping typedefs.
    pub fn skip_qualifiers(&self, mut id: u32) -> u32 {
        for _ in 0..64 {
            match self.get(id) {
                Some(t) if matches!(t.kind, Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag) => {
                    id = t.size_or_type
                }
                _ => return id,
            }
        }
        id
    }

    /// Size in bytes of a type (after resolving), if it has one.
    pub fn size_of(&self, id: u32) -> Option<u64> {
        let id = self.resolve(id);
        let t = self.get(id)?;
        match (&t.kind, &t.data) {
            (Kind::Int | Kind::Enum | Kind::Enum64 | Kind::Struct | Kind::Union | Kind::Float | Kind::Datasec, _) => {
                Some(t.size_or_type as u64)
            }
            (Kind::Ptr, _) => Some(8),
            (Kind::Array, Data::Array { elem, nelems, .. }) => Some(self.size_of(*elem)? * *nelems as u64),
            _ => None,
        }
    }

    /// A C-like spelling of a type, keeping the outermost typedef name
    /// (`u64` rather than `unsigned long long`), without qualifiers.
    pub fn type_name(&self, id: u32) -> String {
        let id = self.skip_qualifiers(id);
        let Some(t) = self.get(id) else {
            return format!("<bad type {id}>");
        };
        match (&t.kind, &t.data) {
            (Kind::Void, _) => "void".into(),
            (Kind::Int | Kind::Typedef | Kind::Float, _) => t.name.clone(),
            (Kind::Struct, _) => format!("struct {}", t.name),
            (Kind::Union, _) => format!("union {}", t.name),
            (Kind::Enum | Kind::Enum64, _) => {
                if t.name.is_empty() {
                    "enum <anon>".into()
                } else {
                    format!("enum {}", t.name)
                }
            }
            (Kind::Fwd, _) => format!("struct {}", t.name),
            (Kind::Ptr, _) => format!("{} *", self.type_name(t.size_or_type)),
            (Kind::Array, Data::Array { elem, nelems, .. }) => format!("{}[{}]", self.type_name(*elem), nelems),
            _ => format!("<{:?}>", t.kind),
        }
    }

    /// All types with the given name and kind.
    pub fn find(&self, name: &str, kind: Kind) -> Option<u32> {
        self.types.iter().position(|t| t.kind == kind && t.name == name).map(|i| i as u32)
    }

    /// Members of a struct/union (after resolving typedefs).
    pub fn members(&self, id: u32) -> &[Member] {
        match self.get(self.resolve(id)).map(|t| &t.data) {
            Some(Data::Members(m)) => m,
            _ => &[],
        }
    }

    /// Byte offset, type id and byte size of a (non-bitfield) member.
    pub fn member(&self, struct_id: u32, name: &str) -> Option<(usize, u32, usize)> {
        let m = self.members(struct_id).iter().find(|m| m.name == name)?;
        if m.bitfield_size != 0 || m.bit_offset % 8 != 0 {
            return None;
        }
        let size = self.size_of(m.type_id)? as usize;
        Some(((m.bit_offset / 8) as usize, m.type_id, size))
    }

    /// Every DATASEC: (name, entries resolved to (var name, var type, linkage, offset, size)).
    pub fn datasecs(&self) -> Vec<Datasec> {
        let mut out = Vec::new();
        for (id, t) in self.types.iter().enumerate() {
            if let (Kind::Datasec, Data::Datasec(vars)) = (&t.kind, &t.data) {
                let mut dvars = Vec::new();
                for sv in vars {
                    let Some(v) = self.get(sv.type_id) else { continue };
                    if let (Kind::Var, Data::Var { linkage }) = (&v.kind, &v.data) {
                        dvars.push(DatasecVar {
                            name: v.name.clone(),
                            type_id: v.size_or_type,
                            linkage: *linkage,
                            offset: sv.offset,
                            size: sv.size,
                        });
                    }
                }
                out.push(Datasec { id: id as u32, name: t.name.clone(), size: t.size_or_type, vars: dvars });
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasec {
    pub id: u32,
    pub name: String,
    pub size: u32,
    pub vars: Vec<DatasecVar>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasecVar {
    pub name: String,
    /// The VAR's type (not the VAR itself).
    pub type_id: u32,
    /// 0 static, 1 global, 2 extern.
    pub linkage: u32,
    pub offset: u32,
    pub size: u32,
}

/// A tiny BTF writer, used by unit tests (and handy for fuzzing the decoder).
#[doc(hidden)]
pub mod builder {
    #[derive(Default)]
    pub struct BtfBuilder {
        types: Vec<u8>,
        strs: Vec<u8>,
        next_id: u32,
    }

    impl BtfBuilder {
        pub fn new() -> Self {
            BtfBuilder { types: Vec::new(), strs: vec![0], next_id: 1 }
        }
        fn s(&mut self, name: &str) -> u32 {
            if name.is_empty() {
                return 0;
            }
            let off = self.strs.len() as u32;
            self.strs.extend_from_slice(name.as_bytes());
            self.strs.push(0);
            off
        }
        fn w(&mut self, v: u32) {
            self.types.extend_from_slice(&v.to_le_bytes());
        }
        fn head(&mut self, name: &str, kind: u32, kflag: bool, vlen: u32, st: u32) -> u32 {
            let n = self.s(name);
            self.w(n);
            self.w((kind << 24) | ((kflag as u32) << 31) | vlen);
            self.w(st);
            let id = self.next_id;
            self.next_id += 1;
            id
        }
        pub fn int(&mut self, name: &str, size: u32, encoding: u32) -> u32 {
            let id = self.head(name, 1, false, 0, size);
            self.w((encoding << 24) | (size * 8));
            id
        }
        pub fn typedef(&mut self, name: &str, t: u32) -> u32 {
            self.head(name, 8, false, 0, t)
        }
        pub fn volatile(&mut self, t: u32) -> u32 {
            self.head("", 9, false, 0, t)
        }
        pub fn konst(&mut self, t: u32) -> u32 {
            self.head("", 10, false, 0, t)
        }
        pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
            let id = self.head("", 3, false, 0, 0);
            self.w(elem);
            self.w(index);
            self.w(n);
            id
        }
        pub fn enum32(&mut self, name: &str, signed: bool, vals: &[(&str, i32)]) -> u32 {
            let id = self.head(name, 6, signed, vals.len() as u32, 4);
            for (n, v) in vals {
                let no = self.s(n);
                self.w(no);
                self.w(*v as u32);
            }
            id
        }
        /// members: (name, type, byte offset)
        pub fn structure(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
            let id = self.head(name, 4, false, members.len() as u32, size);
            for (n, t, off) in members {
                let no = self.s(n);
                self.w(no);
                self.w(*t);
                self.w(off * 8);
            }
            id
        }
        pub fn var(&mut self, name: &str, t: u32, linkage: u32) -> u32 {
            let id = self.head(name, 14, false, 0, t);
            self.w(linkage);
            id
        }
        /// vars: (var id, offset, size)
        pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
            let id = self.head(name, 15, false, vars.len() as u32, size);
            for (t, o, s) in vars {
                self.w(*t);
                self.w(*o);
                self.w(*s);
            }
            id
        }
        pub fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&super::BTF_MAGIC.to_le_bytes());
            out.push(1);
            out.push(0);
            for v in [24u32, 0, self.types.len() as u32, self.types.len() as u32, self.strs.len() as u32] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&self.types);
            out.extend_from_slice(&self.strs);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::builder::BtfBuilder;
    use super::*;

    #[test]
    fn parses_ints_typedefs_and_datasecs() {
        let mut b = BtfBuilder::new();
        let ull = b.int("unsigned long long", 8, 0);
        let u64_ = b.typedef("u64", ull);
        let vol = b.volatile(u64_);
        let cst = b.konst(vol);
        let v = b.var("slice_us", cst, 1);
        let ds = b.datasec(".rodata", 8, &[(v, 0, 8)]);
        let btf = Btf::parse(&b.build()).unwrap();
        assert_eq!(btf.types.len(), 7);
        assert_eq!(btf.resolve(cst), ull);
        assert_eq!(btf.skip_qualifiers(cst), u64_);
        assert_eq!(btf.type_name(cst), "u64");
        assert_eq!(btf.size_of(cst), Some(8));
        let secs = btf.datasecs();
        assert_eq!(secs.len(), 1);
        assert_eq!(secs[0].id, ds);
        assert_eq!(secs[0].name, ".rodata");
        assert_eq!(secs[0].vars[0].name, "slice_us");
        assert_eq!(secs[0].vars[0].type_id, cst);
    }

    #[test]
    fn struct_members_and_arrays() {
        let mut b = BtfBuilder::new();
        let int = b.int("int", 4, BTF_INT_SIGNED as u32);
        let ch = b.int("char", 1, BTF_INT_SIGNED as u32);
        let arr = b.array(ch, int, 128);
        let s = b.structure("foo", 136, &[("a", int, 0), ("name", arr, 8)]);
        let btf = Btf::parse(&b.build()).unwrap();
        assert_eq!(btf.member(s, "a"), Some((0, int, 4)));
        assert_eq!(btf.member(s, "name"), Some((8, arr, 128)));
        assert_eq!(btf.member(s, "nope"), None);
        assert_eq!(btf.type_name(arr), "char[128]");
        assert_eq!(btf.find("foo", Kind::Struct), Some(s));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"nope").is_err());
        let mut raw = BtfBuilder::new().build();
        raw[0] = 0;
        assert!(Btf::parse(&raw).is_err());
    }

    #[test]
    fn signed_enum_values() {
        let mut b = BtfBuilder::new();
        let e = b.enum32("mode", true, &[("A", -1), ("B", 7)]);
        let btf = Btf::parse(&b.build()).unwrap();
        match &btf.get(e).unwrap().data {
            Data::Enum { signed, values } => {
                assert!(*signed);
                assert_eq!(values[0].value, -1);
                assert_eq!(values[1].value, 7);
            }
            d => panic!("{d:?}"),
        }
    }
}
