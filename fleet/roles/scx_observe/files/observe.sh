#!/bin/sh
# What this host runs now. Args: FLEET_DIR NODE CLI. Prints one JSON object:
# sched_ext state and ops, whether the monitor still runs, its events except samples (baseline, deployed,
# alert, probe_failed, regression, scheduler_exit, rollback, …), its last sample, and scx-mcp's audit lines.
dir=$1
esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\t\r' '   '; }
lines() { # JSON lines → a JSON array (only lines that look like objects)
  printf '['; grep '^{.*}$' | awk 'NR > 1 { printf "," } { printf "%s", $0 }'; printf ']'
}
st=absent; ops=
[ -d /sys/kernel/sched_ext ] && st=$(cat /sys/kernel/sched_ext/state) && ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)
alive=false
[ -s "$dir/monitor.pid" ] && kill -0 "$(cat "$dir/monitor.pid")" 2>/dev/null && alive=true
events=$(grep -v '"kind":"sample"' "$dir/monitor.jsonl" 2>/dev/null | lines)
last=$(grep '"kind":"sample"' "$dir/monitor.jsonl" 2>/dev/null | tail -n 1 | lines)
audit=$(tail -n 40 "${SCX_MCP_RUN_DIR:-/run/scx-mcp}/audit.jsonl" 2>/dev/null | lines)
printf '{"ok":true,"state":"%s","ops":"%s","monitorAlive":%s,"build":"%s","events":%s,"lastSample":%s,"audit":%s,"monitorErr":"%s"}\n' \
  "$(esc "$st")" "$(esc "$ops")" "$alive" "$(esc "$(cat "$dir/monitor.build" 2>/dev/null)")" "$events" "$last" "$audit" "$(esc "$(tail -c 600 "$dir/monitor.err" 2>/dev/null)")"
