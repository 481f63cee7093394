#!/bin/sh
# The scx-mcp guest agent. One request per line from the host on the
# virtio-serial port named scx.agent; one reply line per request.
#
#   host -> guest                      guest -> host
#   <id> RUN <timeout_s> <b64 script>  <id> DONE <rc> <t0_ns> <t1_ns> <b64 stdout|-> <b64 stderr|->
#   <id> PUT <path> <nbytes>\n<bytes>  <id> DONE <rc>
#   <id> BYE                           <id> DONE 0, then power off
# and, once at start:                  HELLO <kernel release> <cpus> <clock_ns> <host|none>
# (host: the agent runs in the host's filesystem; none: in the initramfs, busybox only)
#
# Scripts run with stdin from /dev/null, without the channel's fd, in /tmp. With the host
# filesystem mounted (see init) the agent runs chrooted into it and scripts run under the host's
# /bin/sh, finding the host's programs on PATH; the agent's own plumbing uses busybox's applets
# ($SCX_BB) explicitly, so it does not depend on what the host has installed.
# A timeout_s > 0 kills the script's process group after that many seconds.
# One agent runs per port (scx.agent for jobs, scx.monitor for the monitor's
# samples), so sampling goes on while a long workload runs.
name=${1:-scx.agent}
BB=${SCX_BB:-/bin/busybox}
# Scripts run under the host's /bin/sh when the host is mounted: busybox's sh prefers its own
# applets to PATH, so `xz` or `sort` in a user's command would be busybox's, not the host's.
SH=$BB\ sh
[ "${SCX_SHARE:-none}" = host ] && [ -x /bin/sh ] && SH=/bin/sh
port=
for d in /sys/class/virtio-ports/*; do
	[ "$($BB cat "$d/name" 2>/dev/null)" = "$name" ] && port=/dev/${d##*/}
done
if [ -z "$port" ]; then
	echo "scx-agent: no virtio port named $name" >&2
	exit 1
fi
exec 3<>"$port"

# a file's bytes as base64 straight onto the channel (never held in a shell variable: a workload
# that prints gigabytes costs the guest nothing extra; the host keeps the start and end of a long line)
b64() { if [ -s "$1" ]; then $BB base64 -w0 < "$1"; else printf -- -; fi; }
clock() { if [ -x /run/scx/scx-clock ]; then /run/scx/scx-clock; else /scx/scx-clock; fi; }

printf 'HELLO %s %s %s %s\n' "$($BB uname -r)" "$($BB nproc)" "$(clock)" "${SCX_SHARE:-none}" >&3
cd /tmp
while read -r id op a1 a2 <&3; do
	case "$op" in
	RUN)
		printf %s "$a2" | $BB base64 -d > "/tmp/.req.$name.$id.sh"
		t0=$(clock)
		if [ "$a1" -gt 0 ] 2>/dev/null; then
			$BB timeout -s KILL "$a1" $SH "/tmp/.req.$name.$id.sh" < /dev/null > "/tmp/.req.$name.$id.out" 2> "/tmp/.req.$name.$id.err" 3>&-
		else
			$SH "/tmp/.req.$name.$id.sh" < /dev/null > "/tmp/.req.$name.$id.out" 2> "/tmp/.req.$name.$id.err" 3>&-
		fi
		rc=$?
		t1=$(clock)
		{ printf '%s DONE %s %s %s ' "$id" "$rc" "$t0" "$t1"; b64 "/tmp/.req.$name.$id.out"; printf ' '; b64 "/tmp/.req.$name.$id.err"; printf '\n'; } >&3
		$BB rm -f "/tmp/.req.$name.$id.sh" "/tmp/.req.$name.$id.out" "/tmp/.req.$name.$id.err"
		;;
	PUT)
		$BB mkdir -p "$($BB dirname "$a1")"
		$BB head -c "$a2" <&3 > "$a1"
		rc=$?
		$BB chmod +x "$a1"
		printf '%s DONE %s\n' "$id" "$rc" >&3
		;;
	BYE)
		printf '%s DONE 0\n' "$id" >&3
		$BB sync
		$BB poweroff -f
		;;
	*)
		printf '%s DONE 127 0 0 - %s\n' "$id" "$(printf 'unknown request %s' "$op" | $BB base64 -w0)" >&3
		;;
	esac
done
