#!/usr/bin/env bash
# Installs sched-ext/scx's scx_loader (the D-Bus service org.scx.Loader that starts and switches
# scx schedulers; crates.io, pinned version) into the cache beside the scx schedulers, outside the
# clone. Called by scripts/setup.sh. Only the scx_loader test uses it: scx-mcp cooperates with an
# scx_loader it finds on a host's system bus (core/scx/loader-dbus.ts), it never starts one.
#
#   $CACHE/scx-bin/bin/scx_loader        the binary (cargo install --locked --root)
#   $CACHE/scx-bin/scx_loader.json       ok/failed, version, build seconds, error
#   $CACHE/scx-bin/logs/scx_loader.log   the cargo log of the last build attempt
#
# Idempotent: the pinned version already installed (.crates.toml) is not rebuilt; a failed build
# is not retried on every run (SCX_MCP_SCX_RETRY=1 does). A failure does not stop set-up: the
# scx_loader test is then skipped with the reason. cargo runs under `nice -n 15`.
#
# Flags: --quiet. Environment: SCX_MCP_CACHE, SCX_MCP_SCX_SKIP=1 (skip, like the schedulers).
set -uo pipefail
cd "$(dirname "$0")/.."

CACHE="${SCX_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scx-mcp}"
QUIET=0
for a in "$@"; do
	case "$a" in
	--quiet) QUIET=1 ;;
	*) echo "scx-loader.sh: unknown flag $a" >&2; exit 2 ;;
	esac
done
say() { [ "$QUIET" = 1 ] || echo "[setup] $*"; }
[ "${SCX_MCP_SCX_SKIP:-0}" = 1 ] && { say "scx_loader: skipped (SCX_MCP_SCX_SKIP=1)"; exit 0; }

NAME=scx_loader
VERSION=1.1.3 # the version published on crates.io (checked with `cargo info scx_loader`)
ROOT="$CACHE/scx-bin"
mkdir -p "$ROOT/logs"
STATUS="$ROOT/$NAME.json"
BIN="$ROOT/bin/$NAME"

write_status() { # status secs error
	node -e 'const [f,v,st,secs,err]=process.argv.slice(1);const fs=require("fs");
fs.writeFileSync(f+".tmp",JSON.stringify({name:"scx_loader",version:v,status:st,...(secs?{buildSeconds:Number(secs)}:{}),...(err?{error:err}:{}),checkedAt:new Date().toISOString()},null,2)+"\n");
fs.renameSync(f+".tmp",f)' "$STATUS" "$VERSION" "$@"
}
prev() { # field -> value recorded by the last run
	[ -f "$STATUS" ] || return 0
	node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));if(s[process.argv[2]]!==undefined)process.stdout.write(String(s[process.argv[2]]))' "$STATUS" "$1" 2>/dev/null
}
installed_version() {
	[ -f "$ROOT/.crates.toml" ] || return 0
	sed -n "s/^\"$NAME \([0-9][^ ]*\) (registry.*/\1/p" "$ROOT/.crates.toml" | head -n1
}

if [ -x "$BIN" ] && [ "$(installed_version)" = "$VERSION" ]; then
	[ "$(prev status)" = ok ] && [ "$(prev version)" = "$VERSION" ] || write_status ok "$(prev buildSeconds)" ""
	say "scx_loader $VERSION ready in $ROOT/bin"
	exit 0
fi
if [ "$(prev status)" = failed ] && [ "$(prev version)" = "$VERSION" ] && [ "${SCX_MCP_SCX_RETRY:-0}" != 1 ]; then
	say "scx_loader $VERSION: failed to build before ($(prev error)); SCX_MCP_SCX_RETRY=1 tries again"
	exit 0
fi
if ! command -v cargo >/dev/null; then
	write_status failed "" "cargo not found"
	echo "scx-loader.sh: cargo not found; the scx_loader test will be skipped" >&2
	exit 0
fi
say "building $NAME $VERSION (cargo install, nice -n 15)"
export CARGO_TARGET_DIR="$CACHE/scx-target" # shared with the schedulers' builds
start=$(date +%s)
if nice -n 15 cargo install --locked --root "$ROOT" --version "=$VERSION" "$NAME" >"$ROOT/logs/$NAME.log" 2>&1 && [ -x "$BIN" ]; then
	secs=$(($(date +%s) - start))
	write_status ok "$secs" ""
	say "built $NAME $VERSION in ${secs}s"
else
	secs=$(($(date +%s) - start))
	err="$(grep -m1 -E '^error' "$ROOT/logs/$NAME.log" | head -c 300)"
	write_status failed "$secs" "${err:-cargo install failed}"
	echo "scx-loader.sh: $NAME $VERSION failed to build (${secs}s); the scx_loader test will be skipped. Log: $ROOT/logs/$NAME.log" >&2
	tail -n 8 "$ROOT/logs/$NAME.log" >&2
fi
exit 0
