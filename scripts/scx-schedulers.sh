#!/usr/bin/env bash
# Installs sched-ext/scx's production schedulers (crates.io, pinned versions) into the
# cache, outside the clone, so fresh clones reuse them, and beside them scx_loader (the
# org.scx.Loader D-Bus service: only its test runs it; scx-mcp cooperates with one it finds on a
# host's system bus, core/scx/loader-dbus.ts). Called by scripts/setup.sh.
#
#   $CACHE/scx-bin/bin/<name>         the binaries (cargo install --locked --root)
#   $CACHE/scx-bin/status.json        per crate: ok/failed, version, build seconds
#   $CACHE/scx-bin/help/<name>.txt    the binary's own --help, recorded at install time
#   $CACHE/scx-bin/params/<name>.json typed parameters parsed from that --help
#   $CACHE/scx-bin/logs/<name>.log    the cargo log of the last build attempt
#
# Idempotent: a scheduler whose pinned version is already installed (.crates.toml) is
# not rebuilt. A failed build does not stop set-up: it is reported and marked failed in
# status.json (the library entry is then unavailable). A failed build is retried on the
# next run only when SCX_MCP_SCX_RETRY=1 (a failing build costs minutes on every run).
# cargo runs under `nice -n 15`: other work on the machine keeps its CPU.
#
# Flags: --quiet. Environment: SCX_MCP_CACHE, SCX_MCP_SCX_SCHEDULERS (space-separated
# subset), SCX_MCP_SCX_SKIP=1 (skip entirely).
set -uo pipefail
cd "$(dirname "$0")/.."

CACHE="${SCX_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scx-mcp}"
QUIET=0
for a in "$@"; do
	case "$a" in
	--quiet) QUIET=1 ;;
	*) echo "scx-schedulers.sh: unknown flag $a" >&2; exit 2 ;;
	esac
done
say() { [ "$QUIET" = 1 ] || echo "[setup] $*"; }
[ "${SCX_MCP_SCX_SKIP:-0}" = 1 ] && { say "scx schedulers: skipped (SCX_MCP_SCX_SKIP=1)"; exit 0; }

# name=version, the versions published on crates.io (checked with `cargo info`)
PINS=(scx_bpfland=1.1.4 scx_lavd=1.1.4 scx_rusty=1.1.4 scx_flash=1.1.4 scx_cosmos=1.1.7
      scx_p2dq=1.1.4 scx_tickless=1.1.4)
# not schedulers: installed the same way, no parameters read from their --help
SERVICES=(scx_loader=1.1.3)
WANT="${SCX_MCP_SCX_SCHEDULERS:-}"

ROOT="$CACHE/scx-bin"
mkdir -p "$ROOT/help" "$ROOT/params" "$ROOT/logs"
STATUS="$ROOT/status.json"

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"

# ---- build dependencies: libclang for bindgen, libelf/zlib/zstd for libbpf-sys ----------
DEPS=(libclang-19-dev libelf-dev zlib1g-dev libzstd-dev pkg-config clang-19)
missing=()
for p in "${DEPS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	say "installing scx build dependencies: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >"$ROOT/logs/apt.log" 2>&1; then
		$SUDO apt-get update -q >>"$ROOT/logs/apt.log" 2>&1
		$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$ROOT/logs/apt.log" 2>&1 ||
			{ echo "scx-schedulers.sh: could not install ${missing[*]} (see $ROOT/logs/apt.log)" >&2; }
	fi
fi

# scx_utils' build script runs `clang --version`: Debian installs clang only as clang-19
TOOLS="$ROOT/tools"
mkdir -p "$TOOLS"
for t in clang llvm-strip; do
	if [ -x "/usr/bin/$t-19" ] && [ "$(readlink "$TOOLS/$t" 2>/dev/null)" != "/usr/bin/$t-19" ]; then
		ln -sfn "/usr/bin/$t-19" "$TOOLS/$t"
	fi
done
export PATH="$TOOLS:$PATH"
[ -x /usr/bin/clang-19 ] && export BPF_CLANG=/usr/bin/clang-19
[ -d /usr/lib/llvm-19/lib ] && export LIBCLANG_PATH=/usr/lib/llvm-19/lib
# one target directory for all seven: they share scx_utils, libbpf-rs, clap, ...
export CARGO_TARGET_DIR="$CACHE/scx-target"

installed_version() { # name -> the version .crates.toml records, or nothing
	[ -f "$ROOT/.crates.toml" ] || return 0
	sed -n "s/^\"$1 \([0-9][^ ]*\) (registry.*/\1/p" "$ROOT/.crates.toml" | head -n1
}
prev_status() { # name field -> the value recorded by the last run
	[ -f "$STATUS" ] || return 0
	node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const e=(s.schedulers||{})[process.argv[2]];if(e&&e[process.argv[3]]!==undefined)process.stdout.write(String(e[process.argv[3]]))' "$STATUS" "$1" "$2" 2>/dev/null
}

# status.json after each scheduler (a later failure or an interrupted run keeps what was built): rewritten
# whole, atomically, other schedulers' records kept
write_status() { # name version status secs error
node - "$STATUS" "$@" <<'EOF'
const fs = require("fs");
const [file, ...rest] = process.argv.slice(2);
let s = { schedulers: {} };
try { s = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
s.schedulers ??= {};
for (let i = 0; i + 4 < rest.length + 1; i += 5) {
	const [name, version, status, secs, error] = rest.slice(i, i + 5);
	if (!name) continue;
	s.schedulers[name] = { status, version, ...(secs ? { buildSeconds: Number(secs) } : {}), ...(error ? { error } : {}),
		checkedAt: new Date().toISOString() };
}
fs.writeFileSync(file + ".tmp", JSON.stringify(s, null, 2) + "\n");
fs.renameSync(file + ".tmp", file);
EOF
}

failed=()
for pin in "${PINS[@]}" "${SERVICES[@]}"; do
	name="${pin%%=*}"; version="${pin#*=}"
	if [ -n "$WANT" ] && [[ " $WANT " != *" $name "* ]]; then continue; fi
	service=0; [[ " ${SERVICES[*]} " == *" $pin "* ]] && service=1
	bin="$ROOT/bin/$name"
	secs="$(prev_status "$name" buildSeconds)"
	state=ok; err=""
	if [ -x "$bin" ] && [ "$(installed_version "$name")" = "$version" ]; then
		:
	elif [ "$(prev_status "$name" status)" = failed ] && [ "$(prev_status "$name" version)" = "$version" ] && [ "${SCX_MCP_SCX_RETRY:-0}" != 1 ]; then
		state=failed; err="$(prev_status "$name" error)"
	elif ! command -v cargo >/dev/null; then
		state=failed; err="cargo not found"
	else
		say "building $name $version (cargo install, nice -n 15; the first build of all seven takes a while)"
		start=$(date +%s)
		if nice -n 15 cargo install --locked --root "$ROOT" --version "=$version" "$name" >"$ROOT/logs/$name.log" 2>&1; then
			secs=$(( $(date +%s) - start ))
			say "built $name $version in ${secs}s"
		else
			secs=$(( $(date +%s) - start ))
			state=failed
			err="$(grep -m1 -E '^error' "$ROOT/logs/$name.log" | head -c 300)"
			[ -n "$err" ] || err="cargo install failed"
			echo "scx-schedulers.sh: $name $version failed to build (${secs}s); $([ $service = 1 ] && echo "its test is skipped" || echo "its library entry is unavailable"). Log: $ROOT/logs/$name.log" >&2
			tail -n 8 "$ROOT/logs/$name.log" >&2
		fi
	fi
	if [ "$state" = ok ] && [ ! -x "$bin" ]; then
		state=failed; err="cargo install left no $bin"
	elif [ "$state" = ok ] && [ "$service" = 0 ]; then
		# typed parameters from the binary's own --help (never a hand-copied list)
		# some print their help on stderr and exit non-zero (scx_lavd 1.1.4: status 255): the text decides
		"$bin" --help >"$ROOT/help/$name.txt.new" 2>&1
		if grep -q '^Options:' "$ROOT/help/$name.txt.new"; then
			# parse again only when the help changed or the parser is newer than what it wrote
			if cmp -s "$ROOT/help/$name.txt.new" "$ROOT/help/$name.txt"; then rm -f "$ROOT/help/$name.txt.new"; else mv "$ROOT/help/$name.txt.new" "$ROOT/help/$name.txt"; fi
			P="$ROOT/params/$name.json"
			if [ -f dist/bin/scx-params.js ] && { [ ! -s "$P" ] || [ ! "$P" -nt "$ROOT/help/$name.txt" ] || [ ! "$P" -nt dist/core/scx/help.js ]; }; then
				node dist/bin/scx-params.js "$name" "$version" "$ROOT/help/$name.txt" >"$ROOT/params/$name.json.new" &&
					mv "$ROOT/params/$name.json.new" "$ROOT/params/$name.json"
			fi
		else
			rm -f "$ROOT/help/$name.txt.new"
			state=failed; err="$bin --help failed"
		fi
	fi
	[ "$state" = ok ] || failed+=("$name")
	write_status "$name" "$version" "$state" "${secs:-}" "$err"
done


if [ "${#failed[@]}" -gt 0 ]; then
	say "scx schedulers: unavailable (failed to build): ${failed[*]} (logs in $ROOT/logs; a failed version is not rebuilt on every run: SCX_MCP_SCX_RETRY=1 tries again)"
else
	say "scx schedulers ready in $ROOT/bin"
fi
exit 0
