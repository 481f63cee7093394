//! JSON-lines output: one JSON object per line on stdout, flushed per line.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

pub struct Emitter {
    out: Box<dyn Write + Send>,
    broken: bool,
}

impl Emitter {
    pub fn stdout() -> Emitter {
        Emitter { out: Box::new(io::stdout()), broken: false }
    }

    pub fn to_writer(w: impl Write + Send + 'static) -> Emitter {
        Emitter { out: Box::new(w), broken: false }
    }

    /// An emitter writing into a shared buffer (tests, embedding).
    pub fn capture() -> (Emitter, SharedBuf) {
        let buf = SharedBuf::default();
        (Emitter::to_writer(buf.clone()), buf)
    }

    /// Write one line. A closed stdout (EPIPE) marks the emitter broken; the
    /// run loop treats that as "the controller went away" and detaches.
    pub fn emit(&mut self, v: &Value) {
        if self.broken {
            return;
        }
        let line = serde_json::to_string(v).unwrap_or_else(|_| "{\"type\":\"error\"}".into());
        if writeln!(self.out, "{line}").and_then(|_| self.out.flush()).is_err() {
            self.broken = true;
        }
    }

    pub fn is_broken(&self) -> bool {
        self.broken
    }
}

/// `{"type": ty, ...fields}` with `type` first.
pub fn event(ty: &str, fields: Value) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(ty.into()));
    if let Value::Object(f) = fields {
        for (k, v) in f {
            if k != "type" {
                m.insert(k, v);
            }
        }
    }
    Value::Object(m)
}

#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    /// Parsed lines (panics on a non-JSON line: that is a protocol bug).
    pub fn lines(&self) -> Vec<Value> {
        self.text().lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_object_per_line_type_first() {
        let (mut e, buf) = Emitter::capture();
        e.emit(&event("stats", json!({"t_ms": 5, "stats": {"a": 1}, "type": "ignored"})));
        e.emit(&event("detached", json!({"reason": "signal"})));
        let text = buf.text();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("{\"type\":\"stats\""));
        let l = buf.lines();
        assert_eq!(l[0]["type"], "stats");
        assert_eq!(l[1]["reason"], "signal");
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn broken_pipe_is_remembered() {
        let mut e = Emitter::to_writer(Broken);
        assert!(!e.is_broken());
        e.emit(&json!({"type": "x"}));
        assert!(e.is_broken());
    }
}
