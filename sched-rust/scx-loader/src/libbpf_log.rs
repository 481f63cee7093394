//! Capture of libbpf's log output (libbpf_rs::set_print).
//!
//! Everything (debug, info, warn) is kept in memory so a load failure can
//! report the verifier log; lines at or above the echo level are also copied
//! to stderr as libbpf printed them.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use libbpf_rs::PrintLevel;

use crate::verifier::Captured;

static CAPTURED: Mutex<Vec<Captured>> = Mutex::new(Vec::new());
/// 0 = nothing, 1 = warn, 2 = info, 3 = debug
static ECHO: AtomicU8 = AtomicU8::new(2);
/// Keep memory bounded if something logs in a loop (the verifier log itself is one message).
const MAX_MESSAGES: usize = 100_000;

fn callback(level: PrintLevel, msg: String) {
    let (name, rank) = match level {
        PrintLevel::Warn => ("warn", 1),
        PrintLevel::Info => ("info", 2),
        PrintLevel::Debug => ("debug", 3),
    };
    if rank <= ECHO.load(Ordering::Relaxed) {
        let _ = std::io::stderr().write_all(msg.as_bytes());
    }
    if let Ok(mut c) = CAPTURED.lock() {
        if c.len() < MAX_MESSAGES || rank == 1 {
            c.push(Captured { level: name, text: msg });
        }
    }
}

/// Install the capturing print callback. `verbose` echoes debug lines too.
pub fn install(verbose: bool) {
    ECHO.store(if verbose { 3 } else { 2 }, Ordering::Relaxed);
    libbpf_rs::set_print(Some((PrintLevel::Debug, callback)));
}

/// Stop echoing to stderr (capture continues).
pub fn quiet() {
    ECHO.store(0, Ordering::Relaxed);
}

/// Take (and clear) everything captured so far.
pub fn take() -> Vec<Captured> {
    CAPTURED.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
}

/// Warn-level lines captured so far (without clearing).
pub fn warnings() -> Vec<String> {
    CAPTURED
        .lock()
        .map(|c| {
            c.iter()
                .filter(|m| m.level == "warn")
                .flat_map(|m| m.text.lines().map(|l| l.to_string()).collect::<Vec<_>>())
                .filter(|l| !l.trim().is_empty())
                .collect()
        })
        .unwrap_or_default()
}
