#!/bin/sh
# Start `scx-mcp monitor` detached on this host and wait until it has deployed (or failed).
# Args: FLEET_DIR BUILD_ID MONITOR_CONFIG_BASE64 NODE CLI LOADER_DIR RUN_AS TIMEOUT_S
# LOADER_DIR holds scx-loader and scx-job-hints: where the host has them, or where the rollout copied them.
# The monitor samples a baseline, loads the build through scx-loader, then watches: it rolls back on its own
# on a regression or an ejection, and its events (JSON lines) stay in FLEET_DIR/monitor.jsonl for observe.sh.
dir=$1 id=$2 cfg=$3 node=$4 cli=$5 loader=$6 runas=$7 timeout=$8
esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\t\r' '   '; }
if [ -s "$dir/monitor.pid" ] && kill -0 "$(cat "$dir/monitor.pid")" 2>/dev/null; then
  if [ "$(cat "$dir/monitor.build" 2>/dev/null)" = "$id" ] && grep -q '"kind":"deployed"' "$dir/monitor.jsonl" 2>/dev/null; then
    printf '{"ok":true,"already":true,"pid":%s}\n' "$(cat "$dir/monitor.pid")"; exit 0
  fi
  kill "$(cat "$dir/monitor.pid")" 2>/dev/null; sleep 1
fi
printf '%s' "$cfg" | base64 -d > "$dir/monitor.json" || exit 1
echo "$id" > "$dir/monitor.build"
: > "$dir/monitor.jsonl"; : > "$dir/monitor.err"
export SCX_MCP_STATE="$dir/state" SCX_MCP_LIBRARY="$dir/library" SCX_MCP_LOADER_DIR="$loader"
cd /
setsid nohup "$node" "$cli" monitor --build "$id" --target host --config "$(cat "$dir/monitor.json")" --allow-host --run-as "$runas" \
  > "$dir/monitor.jsonl" 2> "$dir/monitor.err" < /dev/null &
pid=$!
echo "$pid" > "$dir/monitor.pid"
t=0
while [ "$t" -lt "$timeout" ]; do
  if grep -q '"kind":"deployed"' "$dir/monitor.jsonl"; then
    printf '{"ok":true,"pid":%s,"waitedS":%s,"state":"%s","ops":"%s"}\n' "$pid" "$t" "$(cat /sys/kernel/sched_ext/state)" "$(esc "$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null)")"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    printf '{"ok":false,"pid":%s,"waitedS":%s,"error":"the monitor exited before deploying: %s"}\n' "$pid" "$t" "$(esc "$(tail -c 1500 "$dir/monitor.err")")"
    exit 1
  fi
  sleep 1; t=$((t + 1))
done
printf '{"ok":false,"pid":%s,"waitedS":%s,"error":"no deployment within %s s: %s"}\n' "$pid" "$t" "$timeout" "$(esc "$(tail -c 1500 "$dir/monitor.err")")"
exit 1
