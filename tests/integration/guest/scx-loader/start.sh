#!/bin/sh
# Start, in the sandbox guest, what a host where scx_loader manages the scheduler has: a system
# bus (dbus-daemon with system-bus.conf), polkitd with scx_loader's action and a rule letting
# root, and scx_loader itself. Run as root in the guest, which sees the host's filesystem read-only:
# the caller makes /usr/share/polkit-1/actions, /etc/polkit-1/rules.d and /boot writable (overlays
# in guest memory) first.
#
#   sh start.sh SCX_BIN_DIR RUN_DIR [KERNEL_CONFIG]
#
# SCX_BIN_DIR holds scx_loader and the scx schedulers it starts by name (PATH); RUN_DIR gets the
# daemons' logs and pids; KERNEL_CONFIG is put at /boot/config-$(uname -r) for libbpf when there is
# none. Prints "ready" and exits 0 once org.freedesktop.PolicyKit1 and org.scx.Loader are on the
# bus; otherwise says which step failed (with its log) and exits 1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
run=$2
kcfg=${3:-}
[ -x "$bin/scx_loader" ] || { echo "no scx_loader in $bin" >&2; exit 1; }
mkdir -p "$run" /run/dbus

if [ -n "$kcfg" ] && [ ! -e "/boot/config-$(uname -r)" ] && [ ! -e /proc/config.gz ]; then
	cp "$kcfg" "/boot/config-$(uname -r)" || { echo "cannot write /boot/config-$(uname -r)" >&2; exit 1; }
fi
cp "$here/org.scx.Loader.policy" /usr/share/polkit-1/actions/org.scx.Loader.policy || { echo "cannot install the polkit action" >&2; exit 1; }
cp "$here/50-scx-loader-root.rules" /etc/polkit-1/rules.d/50-scx-loader-root.rules || { echo "cannot install the polkit rule" >&2; exit 1; }

owned() { # NAME -> 0 when someone owns it on the system bus
	busctl --system --json=short --auto-start=no -- call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null | grep -q '\[true\]'
}
wait_for() { # NAME SECONDS LOG
	end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le "$end" ]; do
		owned "$1" && return 0
		sleep 0.2
	done
	echo "$1 did not appear on the bus within $2 s; its log:" >&2
	tail -n 20 "$3" >&2
	return 1
}

rm -f /run/dbus/system_bus_socket
dbus-daemon --config-file="$here/system-bus.conf" --fork --print-pid=3 --nopidfile 3>"$run/dbus.pid" >"$run/dbus.log" 2>&1 ||
	{ echo "dbus-daemon did not start:" >&2; cat "$run/dbus.log" >&2; exit 1; }
i=0
while [ ! -S /run/dbus/system_bus_socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S /run/dbus/system_bus_socket ] || { echo "dbus-daemon made no socket" >&2; exit 1; }

/usr/lib/polkit-1/polkitd --no-debug >"$run/polkitd.log" 2>&1 </dev/null &
echo $! >"$run/polkitd.pid"
wait_for org.freedesktop.PolicyKit1 60 "$run/polkitd.log" || exit 1

PATH="$bin:$PATH" RUST_LOG=info "$bin/scx_loader" >"$run/scx_loader.log" 2>&1 </dev/null &
echo $! >"$run/scx_loader.pid"
wait_for org.scx.Loader 60 "$run/scx_loader.log" || exit 1
echo ready
