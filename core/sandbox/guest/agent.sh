#!/bin/sh
# The scx-mcp guest agent. One request per line from the host on the
# virtio-serial port named scx.agent; one reply line per request.
#
#   host -> guest                      guest -> host
#   <id> RUN <timeout_s> <b64 script>  <id> DONE <rc> <t0_ns> <t1_ns> <b64 stdout|-> <b64 stderr|->
#   <id> PUT <path> <nbytes>\n<bytes>  <id> DONE <rc>
#   <id> BYE                           <id> DONE 0, then power off
# and, once at start:                  HELLO <kernel release> <cpus> <clock_ns>
#
# Scripts run with stdin from /dev/null, without the channel's fd, in /tmp.
# A timeout_s > 0 kills the script's process group after that many seconds.
# One agent runs per port (scx.agent for jobs, scx.monitor for the monitor's
# samples), so sampling goes on while a long workload runs.
name=${1:-scx.agent}
port=
for d in /sys/class/virtio-ports/*; do
	[ "$(cat "$d/name" 2>/dev/null)" = "$name" ] && port=/dev/${d##*/}
done
if [ -z "$port" ]; then
	echo "scx-agent: no virtio port named $name" >&2
	exit 1
fi
exec 3<>"$port"

b64() { if [ -s "$1" ]; then base64 -w0 < "$1"; else printf -- -; fi; }

printf 'HELLO %s %s %s\n' "$(uname -r)" "$(nproc)" "$(scx-clock)" >&3
cd /tmp
while read -r id op a1 a2 <&3; do
	case "$op" in
	RUN)
		printf %s "$a2" | base64 -d > "/tmp/.req.$name.$id.sh"
		t0=$(scx-clock)
		if [ "$a1" -gt 0 ] 2>/dev/null; then
			timeout -s KILL "$a1" sh "/tmp/.req.$name.$id.sh" < /dev/null > "/tmp/.req.$name.$id.out" 2> "/tmp/.req.$name.$id.err" 3>&-
		else
			sh "/tmp/.req.$name.$id.sh" < /dev/null > "/tmp/.req.$name.$id.out" 2> "/tmp/.req.$name.$id.err" 3>&-
		fi
		rc=$?
		t1=$(scx-clock)
		printf '%s DONE %s %s %s %s %s\n' "$id" "$rc" "$t0" "$t1" "$(b64 "/tmp/.req.$name.$id.out")" "$(b64 "/tmp/.req.$name.$id.err")" >&3
		rm -f "/tmp/.req.$name.$id.sh" "/tmp/.req.$name.$id.out" "/tmp/.req.$name.$id.err"
		;;
	PUT)
		mkdir -p "$(dirname "$a1")"
		head -c "$a2" <&3 > "$a1"
		rc=$?
		chmod +x "$a1"
		printf '%s DONE %s\n' "$id" "$rc" >&3
		;;
	BYE)
		printf '%s DONE 0\n' "$id" >&3
		sync
		poweroff -f
		;;
	*)
		printf '%s DONE 127 0 0 - %s\n' "$id" "$(printf 'unknown request %s' "$op" | base64 -w0)" >&3
		;;
	esac
done
