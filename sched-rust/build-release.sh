#!/usr/bin/env bash
# Build the release binaries of sched-rust (scx-loader, scx-job-hints) into
# sched-rust/target/release and print their paths (one per line on stdout).
# Non-interactive; the same as:
#   cargo build --release --manifest-path sched-rust/Cargo.toml
# Environment:
#   SCX_LOADER_DYNAMIC=1   link libelf/zlib dynamically (default: static when
#                          libelf.a/libz.a/libzstd.a are installed)
#   CARGO                  cargo binary (default: cargo)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cargo="${CARGO:-cargo}"
"$cargo" build --release --locked --manifest-path "$here/Cargo.toml" >&2
for b in scx-loader scx-job-hints; do
  p="$here/target/release/$b"
  [ -x "$p" ] || { echo "missing $p" >&2; exit 1; }
  echo "$p"
done
if command -v ldd >/dev/null 2>&1; then
  echo "--- ldd $here/target/release/scx-loader" >&2
  ldd "$here/target/release/scx-loader" >&2 || true
fi
