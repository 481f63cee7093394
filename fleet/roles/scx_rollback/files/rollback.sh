#!/bin/sh
# Stop this host's monitor and go back to the kernel default. Args: FLEET_DIR NODE CLI [LOADER_DIR].
# `scx-mcp call rollback` adopts the loader the monitor started (by its pid file under /run/scx-mcp),
# unloads it and writes the rollback to the audit log; at the kernel default it does nothing.
dir=$1 node=$2 cli=$3 loader=${4:-}
esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\t\r' '   '; }
before=$(cat /sys/kernel/sched_ext/state 2>/dev/null || echo absent)
ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)
if [ -s "$dir/monitor.pid" ]; then
  pid=$(cat "$dir/monitor.pid")
  kill "$pid" 2>/dev/null
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
  kill -9 "$pid" 2>/dev/null
  rm -f "$dir/monitor.pid"
fi
export SCX_MCP_STATE="$dir/state" SCX_MCP_LIBRARY="$dir/library"
# the loader the deploy used: the one it copied here, else the host's own
[ -x "$dir/cache/sched-rust-target/release/scx-loader" ] && loader="$dir/cache/sched-rust-target/release"
[ -n "$loader" ] && export SCX_MCP_LOADER_DIR="$loader"
cd /
out=$("$node" "$cli" call rollback '{"target":"host","to":"default"}' --allow-host 2>&1 </dev/null)
rc=$?
after=$(cat /sys/kernel/sched_ext/state 2>/dev/null || echo absent)
ok=true; [ "$after" = enabled ] && ok=false
changed=false; printf '%s' "$out" | grep -q '"changed": true' && changed=true
printf '{"ok":%s,"before":"%s","opsBefore":"%s","after":"%s","changed":%s,"exit":%s,"output":"%s"}\n' \
  "$ok" "$(esc "$before")" "$(esc "$ops")" "$(esc "$after")" "$changed" "$rc" "$(esc "$(printf '%s' "$out" | tail -c 800)")"
[ "$ok" = true ]
