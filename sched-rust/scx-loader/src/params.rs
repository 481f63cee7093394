//! Scheduler parameters: `const volatile` globals in `.rodata` (SCX_PARAM).
//!
//! A parameter is described by its BTF type; this module classifies the type
//! (unsigned / signed / bool / enum of 1, 2, 4 or 8 bytes), parses values from
//! the command line with range checks by type width and by optional
//! caller-supplied ranges (`--param-range name=min:max`), and encodes/decodes
//! the little-endian bytes in the `.rodata` map's initial value.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::btf::{Btf, Data, Kind, BTF_INT_BOOL, BTF_INT_SIGNED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Unsigned,
    Signed,
    Bool,
    Enum,
}

impl ScalarKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ScalarKind::Unsigned => "unsigned",
            ScalarKind::Signed => "signed",
            ScalarKind::Bool => "bool",
            ScalarKind::Enum => "enum",
        }
    }
}

/// A scalar type the loader can read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub kind: ScalarKind,
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: usize,
    pub signed: bool,
    /// Enumerators (name, value) for enums.
    pub enumerators: Vec<(String, i128)>,
}

impl Scalar {
    pub fn unsigned(size: usize) -> Scalar {
        Scalar { kind: ScalarKind::Unsigned, size, signed: false, enumerators: vec![] }
    }
    pub fn signed(size: usize) -> Scalar {
        Scalar { kind: ScalarKind::Signed, size, signed: true, enumerators: vec![] }
    }
    pub fn boolean() -> Scalar {
        Scalar { kind: ScalarKind::Bool, size: 1, signed: false, enumerators: vec![] }
    }

    /// Classify a BTF type. Err carries a human description of why it is not settable.
    pub fn from_btf(btf: &Btf, type_id: u32) -> Result<Scalar, String> {
        let id = btf.resolve(type_id);
        let t = btf.get(id).ok_or_else(|| format!("bad type id {type_id}"))?;
        let size = t.size_or_type as usize;
        match (&t.kind, &t.data) {
            (Kind::Int, Data::Int { encoding, offset, bits }) => {
                if *offset != 0 || (*bits as usize) != size * 8 {
                    return Err("bitfield-like integer".into());
                }
                if !matches!(size, 1 | 2 | 4 | 8) {
                    return Err(format!("{size}-byte integer (only 1, 2, 4, 8 are supported)"));
                }
                if encoding & BTF_INT_BOOL != 0 {
                    return Ok(Scalar { kind: ScalarKind::Bool, size, signed: false, enumerators: vec![] });
                }
                if encoding & BTF_INT_SIGNED != 0 {
                    Ok(Scalar::signed(size))
                } else {
                    Ok(Scalar::unsigned(size))
                }
            }
            (Kind::Enum | Kind::Enum64, Data::Enum { signed, values }) => {
                if !matches!(size, 1 | 2 | 4 | 8) {
                    return Err(format!("{size}-byte enum"));
                }
                // Older compilers never set the signed flag: treat an enum with a
                // negative enumerator as signed too.
                let signed = *signed || values.iter().any(|v| v.value < 0);
                Ok(Scalar {
                    kind: ScalarKind::Enum,
                    size,
                    signed,
                    enumerators: values.iter().map(|v| (v.name.clone(), v.value)).collect(),
                })
            }
            (Kind::Array, _) => Err("array (not settable from the command line)".into()),
            (Kind::Struct | Kind::Union, _) => Err("struct/union (not settable from the command line)".into()),
            (Kind::Ptr, _) => Err("pointer".into()),
            (Kind::Float, _) => Err("floating point".into()),
            (k, _) => Err(format!("unsupported BTF kind {k:?}")),
        }
    }

    pub fn min(&self) -> i128 {
        match self.kind {
            ScalarKind::Bool => 0,
            _ if self.signed => -(1i128 << (self.size * 8 - 1)),
            _ => 0,
        }
    }

    pub fn max(&self) -> i128 {
        match self.kind {
            ScalarKind::Bool => 1,
            _ if self.signed => (1i128 << (self.size * 8 - 1)) - 1,
            _ => (1i128 << (self.size * 8)) - 1,
        }
    }

    /// Decode `size` little-endian bytes.
    pub fn decode(&self, bytes: &[u8]) -> Option<i128> {
        let b = bytes.get(..self.size)?;
        let mut raw: u64 = 0;
        for (i, byte) in b.iter().enumerate() {
            raw |= (*byte as u64) << (8 * i);
        }
        if self.signed && self.kind != ScalarKind::Bool {
            let shift = 64 - self.size * 8;
            Some((((raw << shift) as i64) >> shift) as i128)
        } else {
            Some(raw as i128)
        }
    }

    /// Encode a value that is already known to be in range.
    pub fn encode(&self, v: i128, out: &mut [u8]) {
        let raw = v as u64; // two's complement truncation for negatives
        for i in 0..self.size.min(out.len()) {
            out[i] = (raw >> (8 * i)) as u8;
        }
    }

    /// JSON rendering of a value of this type.
    pub fn to_json(&self, v: i128) -> Value {
        match self.kind {
            ScalarKind::Bool => Value::Bool(v != 0),
            _ => int_json(v),
        }
    }

    /// A short type description for messages, e.g. "u32", "s8", "bool", "enum".
    pub fn short(&self) -> String {
        match self.kind {
            ScalarKind::Bool => "bool".into(),
            ScalarKind::Enum => format!("enum ({} bytes)", self.size),
            ScalarKind::Signed => format!("s{}", self.size * 8),
            ScalarKind::Unsigned => format!("u{}", self.size * 8),
        }
    }

    /// Parse a command-line value for this type (no range check beyond the type's own).
    pub fn parse(&self, s: &str) -> Result<i128, ValueError> {
        let t = s.trim();
        let v = match self.kind {
            ScalarKind::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "1" => 1,
                "false" | "0" => 0,
                _ => return Err(ValueError::BadBool),
            },
            ScalarKind::Enum => {
                if let Some((_, v)) = self.enumerators.iter().find(|(n, _)| n == t) {
                    *v
                } else {
                    parse_int(t).map_err(|_| ValueError::BadEnum)?
                }
            }
            _ => parse_int(t).map_err(|_| ValueError::NotANumber)?,
        };
        if v < self.min() || v > self.max() {
            return Err(ValueError::OutOfRange { min: self.min(), max: self.max() });
        }
        Ok(v)
    }
}

fn int_json(v: i128) -> Value {
    if v >= 0 {
        json!(v as u64)
    } else {
        json!(v as i64)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    NotANumber,
    BadBool,
    BadEnum,
    OutOfRange { min: i128, max: i128 },
}

/// Parse an integer: decimal, 0x hex, 0o octal, 0b binary, optional sign and `_` separators.
pub fn parse_int(s: &str) -> Result<i128, ()> {
    let s = s.trim();
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let cleaned: String = rest.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() || rest.starts_with('_') {
        return Err(());
    }
    let lower = cleaned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(());
    }
    // Anything longer than 40 digits is out of every supported range anyway.
    if digits.len() > 40 {
        return Ok(if neg { i128::MIN } else { i128::MAX });
    }
    let v = i128::from_str_radix(digits, radix).map_err(|_| ())?;
    Ok(if neg { -v } else { v })
}

/// Where a parameter lives in the object.
#[derive(Debug, Clone)]
pub struct ParamDef {
    pub name: String,
    /// DATASEC name, normally ".rodata".
    pub section: String,
    /// libbpf's name for the map backing the section (e.g. "fifo_bpf.rodata").
    pub map: Option<String>,
    pub offset: usize,
    pub size: usize,
    /// C spelling of the declared type (typedef kept), e.g. "u64".
    pub c_type: String,
    pub scalar: Result<Scalar, String>,
    /// Default value decoded from the object's initial .rodata contents.
    pub default: Option<i128>,
}

impl ParamDef {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.c_type));
        m.insert("size".into(), json!(self.size));
        m.insert("section".into(), json!(self.section));
        m.insert("offset".into(), json!(self.offset));
        match &self.scalar {
            Ok(s) => {
                m.insert("kind".into(), json!(s.kind.as_str()));
                m.insert("signed".into(), json!(s.signed));
                m.insert("settable".into(), json!(true));
                m.insert("default".into(), self.default.map(|d| s.to_json(d)).unwrap_or(Value::Null));
                m.insert("min".into(), s.to_json(s.min()));
                m.insert("max".into(), s.to_json(s.max()));
                if s.kind == ScalarKind::Enum {
                    let e: Map<String, Value> = s.enumerators.iter().map(|(n, v)| (n.clone(), int_json(*v))).collect();
                    m.insert("enumerators".into(), Value::Object(e));
                }
            }
            Err(why) => {
                m.insert("kind".into(), json!("unsupported"));
                m.insert("signed".into(), json!(false));
                m.insert("settable".into(), json!(false));
                m.insert("default".into(), Value::Null);
                m.insert("why".into(), json!(why));
            }
        }
        Value::Object(m)
    }
}

/// One parameter problem (several may be reported at once).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    /// unknown_param | not_a_number | bad_bool | bad_enum | out_of_range |
    /// bad_syntax | duplicate | unsupported_type | bad_range
    pub code: &'static str,
    pub param: Option<String>,
    pub value: Option<String>,
    pub message: String,
    pub extra: Map<String, Value>,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ParamError {
    fn new(code: &'static str, param: Option<&str>, value: Option<&str>, message: String) -> Self {
        ParamError { code, param: param.map(String::from), value: value.map(String::from), message, extra: Map::new() }
    }
    fn with(mut self, k: &str, v: Value) -> Self {
        self.extra.insert(k.into(), v);
        self
    }
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        if let Some(p) = &self.param {
            m.insert("param".into(), json!(p));
        }
        if let Some(v) = &self.value {
            m.insert("value".into(), json!(v));
        }
        m.insert("message".into(), json!(self.message));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// Split `name=value`.
pub fn split_assignment(s: &str) -> Result<(String, String), ParamError> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.trim().to_string())),
        _ => Err(ParamError::new("bad_syntax", None, Some(s), format!("expected NAME=VALUE, got {s:?}"))),
    }
}

/// A caller-supplied range (`--param-range name=min:max`, either side may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRange {
    pub name: String,
    pub min: Option<i128>,
    pub max: Option<i128>,
}

pub fn parse_range(s: &str) -> Result<ParamRange, ParamError> {
    let bad = |why: &str| {
        ParamError::new(
            "bad_range",
            None,
            Some(s),
            format!("bad --param-range {s:?}: {why} (expected NAME=MIN:MAX, either bound may be empty)"),
        )
    };
    let (name, r) = s.split_once('=').ok_or_else(|| bad("missing '='"))?;
    let (lo, hi) = r.split_once(':').ok_or_else(|| bad("missing ':'"))?;
    let num = |x: &str| -> Result<Option<i128>, ParamError> {
        if x.trim().is_empty() {
            Ok(None)
        } else {
            parse_int(x).map(Some).map_err(|_| bad(&format!("{x:?} is not an integer")))
        }
    };
    let (min, max) = (num(lo)?, num(hi)?);
    if let (Some(a), Some(b)) = (min, max) {
        if a > b {
            return Err(bad("min > max"));
        }
    }
    if name.trim().is_empty() {
        return Err(bad("empty name"));
    }
    Ok(ParamRange { name: name.trim().to_string(), min, max })
}

/// A validated assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedParam {
    pub name: String,
    pub value: i128,
}

/// Validate `name=value` assignments against the object's parameters and
/// optional ranges. Returns every problem found, not just the first.
pub fn resolve(
    defs: &[ParamDef],
    assignments: &[String],
    ranges: &[ParamRange],
) -> Result<Vec<ResolvedParam>, Vec<ParamError>> {
    let mut errors = Vec::new();
    let mut out: Vec<ResolvedParam> = Vec::new();
    let known: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    let mut range_map: BTreeMap<&str, &ParamRange> = BTreeMap::new();
    for r in ranges {
        range_map.insert(r.name.as_str(), r);
    }
    for a in assignments {
        let (name, value) = match split_assignment(a) {
            Ok(x) => x,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Some(def) = defs.iter().find(|d| d.name == name) else {
            let mut msg = format!("unknown parameter {name:?}");
            if known.is_empty() {
                msg.push_str(": this scheduler has no parameters (no const volatile globals in .rodata)");
            } else {
                msg.push_str(&format!("; known parameters: {}", known.join(", ")));
            }
            if let Some(s) = suggest(&name, &known) {
                msg.push_str(&format!(" (did you mean {s:?}?)"));
            }
            errors.push(ParamError::new("unknown_param", Some(&name), Some(&value), msg).with("known", json!(known)));
            continue;
        };
        if out.iter().any(|r| r.name == name) {
            errors.push(ParamError::new(
                "duplicate",
                Some(&name),
                Some(&value),
                format!("parameter {name:?} given more than once"),
            ));
            continue;
        }
        let scalar = match &def.scalar {
            Ok(s) => s,
            Err(why) => {
                errors.push(ParamError::new(
                    "unsupported_type",
                    Some(&name),
                    Some(&value),
                    format!("parameter {name:?} has type {} which cannot be set: {why}", def.c_type),
                ));
                continue;
            }
        };
        let v = match scalar.parse(&value) {
            Ok(v) => v,
            Err(e) => {
                let te = if def.c_type == scalar.short() {
                    def.c_type.clone()
                } else {
                    format!("{} ({})", def.c_type, scalar.short())
                };
                let err = match e {
                    ValueError::NotANumber => ParamError::new(
                        "not_a_number",
                        Some(&name),
                        Some(&value),
                        format!("parameter {name:?}: {value:?} is not an integer (type {te})"),
                    ),
                    ValueError::BadBool => ParamError::new(
                        "bad_bool",
                        Some(&name),
                        Some(&value),
                        format!("parameter {name:?}: {value:?} is not a boolean; use true/false/1/0"),
                    ),
                    ValueError::BadEnum => ParamError::new(
                        "bad_enum",
                        Some(&name),
                        Some(&value),
                        format!(
                            "parameter {name:?}: {value:?} is neither an enumerator nor an integer; enumerators: {}",
                            scalar.enumerators.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ),
                    ValueError::OutOfRange { min, max } => ParamError::new(
                        "out_of_range",
                        Some(&name),
                        Some(&value),
                        format!("parameter {name:?}: {value} is out of range for {te}: must be {min}..={max}"),
                    )
                    .with("min", int_json(min))
                    .with("max", int_json(max)),
                };
                errors.push(err);
                continue;
            }
        };
        if let Some(r) = range_map.get(name.as_str()) {
            let below = r.min.map(|m| v < m).unwrap_or(false);
            let above = r.max.map(|m| v > m).unwrap_or(false);
            if below || above {
                let lo = r.min.map(|m| m.to_string()).unwrap_or_default();
                let hi = r.max.map(|m| m.to_string()).unwrap_or_default();
                errors.push(
                    ParamError::new(
                        "out_of_range",
                        Some(&name),
                        Some(&value),
                        format!("parameter {name:?}: {value} is outside the allowed range {lo}..={hi}"),
                    )
                    .with("min", r.min.map(int_json).unwrap_or(Value::Null))
                    .with("max", r.max.map(int_json).unwrap_or(Value::Null)),
                );
                continue;
            }
        }
        out.push(ResolvedParam { name, value: v });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Ranges given for parameters the object does not have (reported as warnings).
pub fn unknown_range_names(defs: &[ParamDef], ranges: &[ParamRange]) -> Vec<String> {
    ranges.iter().filter(|r| !defs.iter().any(|d| d.name == r.name)).map(|r| r.name.clone()).collect()
}

/// Effective values (defaults overridden by assignments) as a JSON object.
pub fn effective_json(defs: &[ParamDef], resolved: &[ResolvedParam]) -> Value {
    let mut m = Map::new();
    for d in defs {
        let Ok(s) = &d.scalar else { continue };
        let v = resolved.iter().find(|r| r.name == d.name).map(|r| r.value).or(d.default);
        m.insert(d.name.clone(), v.map(|v| s.to_json(v)).unwrap_or(Value::Null));
    }
    Value::Object(m)
}

/// Closest known name by edit distance (<= 3), for "did you mean".
fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lname = name.to_ascii_lowercase();
    if let Some(k) = known.iter().find(|k| {
        let lk = k.to_ascii_lowercase();
        lname.len() >= 3 && (lk.starts_with(&lname) || lname.starts_with(&lk))
    }) {
        return Some(k);
    }
    known.iter().map(|k| (levenshtein(name, k), *k)).filter(|(d, _)| *d <= 3).min_by_key(|(d, _)| *d).map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { 1 };
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, s: Scalar, default: i128) -> ParamDef {
        ParamDef {
            name: name.into(),
            section: ".rodata".into(),
            map: Some("x.rodata".into()),
            offset: 0,
            size: s.size,
            c_type: s.short(),
            scalar: Ok(s),
            default: Some(default),
        }
    }

    #[test]
    fn int_parsing() {
        assert_eq!(parse_int("5000"), Ok(5000));
        assert_eq!(parse_int("5_000"), Ok(5000));
        assert_eq!(parse_int("0x10"), Ok(16));
        assert_eq!(parse_int("0X1f"), Ok(31));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("-12"), Ok(-12));
        assert_eq!(parse_int("+12"), Ok(12));
        assert_eq!(parse_int(" 7 "), Ok(7));
        assert!(parse_int("").is_err());
        assert!(parse_int("-").is_err());
        assert!(parse_int("1.5").is_err());
        assert!(parse_int("abc").is_err());
        assert!(parse_int("0x").is_err());
        assert!(parse_int("12abc").is_err());
        assert!(parse_int("_1").is_err());
        assert_eq!(parse_int("18446744073709551615"), Ok(u64::MAX as i128));
        assert!(parse_int("999999999999999999999999999999999999999999999").unwrap() > u64::MAX as i128);
    }

    #[test]
    fn ranges_by_width() {
        assert_eq!(Scalar::unsigned(1).max(), 255);
        assert_eq!(Scalar::unsigned(8).max(), u64::MAX as i128);
        assert_eq!(Scalar::signed(1).min(), -128);
        assert_eq!(Scalar::signed(1).max(), 127);
        assert_eq!(Scalar::signed(8).min(), i64::MIN as i128);
        assert_eq!(Scalar::signed(4).max(), i32::MAX as i128);
        assert_eq!(Scalar::boolean().max(), 1);
    }

    #[test]
    fn parse_checks_type_range() {
        let u8_ = Scalar::unsigned(1);
        assert_eq!(u8_.parse("255"), Ok(255));
        assert_eq!(u8_.parse("256"), Err(ValueError::OutOfRange { min: 0, max: 255 }));
        assert_eq!(u8_.parse("-1"), Err(ValueError::OutOfRange { min: 0, max: 255 }));
        assert_eq!(u8_.parse("x"), Err(ValueError::NotANumber));
        let s16 = Scalar::signed(2);
        assert_eq!(s16.parse("-32768"), Ok(-32768));
        assert!(s16.parse("32768").is_err());
        let u64_ = Scalar::unsigned(8);
        assert_eq!(u64_.parse("18446744073709551615"), Ok(u64::MAX as i128));
        assert!(u64_.parse("18446744073709551616").is_err());
        let b = Scalar::boolean();
        assert_eq!(b.parse("true"), Ok(1));
        assert_eq!(b.parse("FALSE"), Ok(0));
        assert_eq!(b.parse("1"), Ok(1));
        assert_eq!(b.parse("0"), Ok(0));
        assert_eq!(b.parse("yes"), Err(ValueError::BadBool));
        assert_eq!(b.parse("2"), Err(ValueError::BadBool));
    }

    #[test]
    fn enums_by_name_or_number() {
        let e = Scalar {
            kind: ScalarKind::Enum,
            size: 4,
            signed: false,
            enumerators: vec![("MODE_SJF".into(), 0), ("MODE_LJF".into(), 1)],
        };
        assert_eq!(e.parse("MODE_LJF"), Ok(1));
        assert_eq!(e.parse("0"), Ok(0));
        assert_eq!(e.parse("MODE_X"), Err(ValueError::BadEnum));
    }

    #[test]
    fn encode_decode_roundtrip() {
        for (s, v) in [
            (Scalar::unsigned(8), u64::MAX as i128),
            (Scalar::unsigned(4), 0xdead_beef),
            (Scalar::signed(4), -5),
            (Scalar::signed(1), -128),
            (Scalar::signed(8), i64::MIN as i128),
            (Scalar::unsigned(2), 65535),
            (Scalar::boolean(), 1),
        ] {
            let mut buf = [0xaau8; 8];
            s.encode(v, &mut buf);
            assert_eq!(s.decode(&buf), Some(v), "{s:?}");
            // bytes past the scalar's size are untouched
            assert!(buf[s.size..].iter().all(|b| *b == 0xaa));
        }
        let mut buf = [0u8; 4];
        Scalar::signed(4).encode(-2, &mut buf);
        assert_eq!(buf, [0xfe, 0xff, 0xff, 0xff]);
        assert_eq!(Scalar::unsigned(4).decode(&[1, 2]), None);
    }

    #[test]
    fn resolve_reports_all_errors() {
        let defs = vec![
            def("slice_us", Scalar::unsigned(8), 5000),
            def("nice", Scalar::signed(1), 0),
            def("ljf", Scalar::boolean(), 0),
        ];
        let ok = resolve(&defs, &["slice_us=2000".into(), "nice=-3".into(), "ljf=true".into()], &[]).unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[1].value, -3);

        let errs = resolve(
            &defs,
            &["slice=1".into(), "nice=200".into(), "ljf=maybe".into(), "slice_us=fast".into(), "novalue".into()],
            &[],
        )
        .unwrap_err();
        let codes: Vec<_> = errs.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["unknown_param", "out_of_range", "bad_bool", "not_a_number", "bad_syntax"]);
        assert!(errs[0].message.contains("known parameters: slice_us, nice, ljf"), "{}", errs[0].message);
        assert!(errs[0].message.contains("did you mean \"slice_us\""), "{}", errs[0].message);
        assert_eq!(errs[0].to_json()["known"], json!(["slice_us", "nice", "ljf"]));
        assert_eq!(errs[1].to_json()["min"], json!(-128));
        assert_eq!(errs[1].to_json()["max"], json!(127));

        let dup = resolve(&defs, &["nice=1".into(), "nice=2".into()], &[]).unwrap_err();
        assert_eq!(dup[0].code, "duplicate");
    }

    #[test]
    fn metadata_ranges() {
        let defs = vec![def("slice_us", Scalar::unsigned(8), 5000)];
        let r = parse_range("slice_us=100:20000").unwrap();
        assert_eq!(r, ParamRange { name: "slice_us".into(), min: Some(100), max: Some(20000) });
        assert!(resolve(&defs, &["slice_us=20000".into()], std::slice::from_ref(&r)).is_ok());
        let e = resolve(&defs, &["slice_us=50".into()], std::slice::from_ref(&r)).unwrap_err();
        assert_eq!(e[0].code, "out_of_range");
        assert!(e[0].message.contains("100..=20000"));
        let open = parse_range("slice_us=:10").unwrap();
        assert_eq!(open.min, None);
        assert!(resolve(&defs, &["slice_us=11".into()], &[open]).is_err());
        assert!(parse_range("slice_us=5").is_err());
        assert!(parse_range("slice_us=9:5").is_err());
        assert!(parse_range("slice_us=a:5").is_err());
        assert!(parse_range("=1:5").is_err());
        assert_eq!(unknown_range_names(&defs, &[parse_range("zz=1:2").unwrap()]), vec!["zz".to_string()]);
    }

    #[test]
    fn no_params_message() {
        let e = resolve(&[], &["x=1".into()], &[]).unwrap_err();
        assert!(e[0].message.contains("has no parameters"));
    }

    #[test]
    fn effective_values() {
        let defs = vec![def("slice_us", Scalar::unsigned(8), 5000), def("ljf", Scalar::boolean(), 0)];
        let eff = effective_json(&defs, &[ResolvedParam { name: "ljf".into(), value: 1 }]);
        assert_eq!(eff, json!({"slice_us": 5000, "ljf": true}));
    }
}
