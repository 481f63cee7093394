#!/bin/sh
# Stop what start.sh started, last first: scx_loader (asked over D-Bus to stop its scheduler first,
# since a child it started outlives it), polkitd, the bus; the socket goes, so later commands find
# no system bus. Prints sched_ext's state at the end.
#
#   sh stop.sh RUN_DIR
set -u
run=$1
busctl --system --auto-start=no -- call org.scx.Loader /org/scx/Loader org.scx.Loader StopScheduler >/dev/null 2>&1
i=0
while [ -e /sys/kernel/sched_ext/state ] && [ "$(cat /sys/kernel/sched_ext/state)" != disabled ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
for d in scx_loader polkitd dbus; do
	p=$(cat "$run/$d.pid" 2>/dev/null) || continue
	[ -n "$p" ] || continue
	kill -INT "$p" 2>/dev/null
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$p" 2>/dev/null
done
rm -f /run/dbus/system_bus_socket
echo "state=$(cat /sys/kernel/sched_ext/state 2>/dev/null || echo absent)"
