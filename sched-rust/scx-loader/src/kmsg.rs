//! Best-effort reader of new kernel log records (/dev/kmsg), used to report
//! what the kernel said when a scheduler fails to attach or is ejected.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

pub struct Kmsg {
    file: Option<File>,
}

impl Kmsg {
    /// Open /dev/kmsg positioned after the existing records. Never fails:
    /// without access the reader just returns nothing.
    pub fn open_at_end() -> Kmsg {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()
            .and_then(|mut f| f.seek(SeekFrom::End(0)).ok().map(|_| f));
        Kmsg { file }
    }

    pub fn disabled() -> Kmsg {
        Kmsg { file: None }
    }

    /// New records since the last call whose text contains `filter`.
    pub fn read_new(&mut self, filter: &str, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        let Some(f) = self.file.as_mut() else { return out };
        let mut buf = vec![0u8; 16 * 1024];
        for _ in 0..10_000 {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(msg) = parse_record(&String::from_utf8_lossy(&buf[..n])) {
                        if msg.contains(filter) && out.len() < max {
                            out.push(msg);
                        }
                    }
                }
                // EPIPE: records were overwritten before we read them; go on.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break, // EAGAIN: no more records
            }
        }
        out
    }
}

/// `"6,1234,5678,-;sched_ext: ...\n SUBSYSTEM=...\n"` -> `"sched_ext: ..."`.
pub fn parse_record(rec: &str) -> Option<String> {
    let first = rec.lines().next()?;
    let (_, msg) = first.split_once(';')?;
    Some(msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_parsing() {
        assert_eq!(
            parse_record("6,1234,5678,-;sched_ext: BPF scheduler \"fifo\" disabled (runnable task stall)\n DEVICE=x\n"),
            Some("sched_ext: BPF scheduler \"fifo\" disabled (runnable task stall)".into())
        );
        assert_eq!(parse_record("garbage"), None);
    }
}
