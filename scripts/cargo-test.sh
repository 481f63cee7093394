#!/usr/bin/env bash
# The Rust loader's own tests (pure parts: params, BTF decoding, stats, exit kinds, CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${SCX_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scx-mcp}"
export CARGO_TARGET_DIR="$CACHE/sched-rust-target"
cargo test --quiet --manifest-path sched-rust/Cargo.toml
