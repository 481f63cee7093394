#!/usr/bin/env bash
# sched-rust's checks, each run even when an earlier one fails; exits non-zero if any
# failed, and says which:
#   rustfmt   cargo fmt --check over the workspace (sched-rust/rustfmt.toml)
#   clippy    cargo clippy, every crate and target (tests, bins, build script), warnings are errors
#   test      the Rust loader's own tests (pure parts: params, BTF decoding, stats, exit kinds, CLI)
# The rustfmt and clippy components come from scripts/setup.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
CACHE="${SCX_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scx-mcp}"
export CARGO_TARGET_DIR="$CACHE/sched-rust-target"
M=sched-rust/Cargo.toml
failed=()
# --all: the workspace root is a virtual manifest, where plain `cargo fmt` finds no targets
cargo fmt --all --check --manifest-path "$M" || failed+=("rustfmt (cargo fmt --all --manifest-path $M fixes it)")
cargo clippy --quiet --manifest-path "$M" --workspace --all-targets -- -D warnings || failed+=("clippy (cargo clippy -D warnings)")
cargo test --quiet --manifest-path "$M" || failed+=("cargo test")
if [ "${#failed[@]}" -gt 0 ]; then
	echo "cargo-test.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
