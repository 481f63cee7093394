#!/bin/sh
# Preflight for one host of a rollout (run by Ansible's script module: no python needed).
# Args: VERIFIED_KERNELS(comma list) NODE CLI LOADER_DIR. Prints one JSON object; exit 1 when the host must not get the build.
kernels=$1 node=$2 cli=$3 loader=$4
esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\t' '  '; }
k=$(uname -r)
if [ -d /sys/kernel/sched_ext ]; then st=$(cat /sys/kernel/sched_ext/state 2>/dev/null); ops=$(cat /sys/kernel/sched_ext/root/ops 2>/dev/null); else st=absent ops=; fi
uid=$(id -u)
verified=false
old_ifs=$IFS; IFS=,
for v in $kernels; do [ "$v" = "$k" ] && verified=true; done
IFS=$old_ifs
nodev=$("$node" --version 2>/dev/null || true)
[ -f "$cli" ] && clip=true || clip=false
[ -x "$loader/scx-loader" ] && loaderp=true || loaderp=false
why=""
[ "$st" = absent ] && why="$why; this kernel has no sched_ext"
[ "$uid" = 0 ] || why="$why; not root (uid $uid)"
[ "$verified" = true ] || why="$why; the build is not verified on kernel $k (verified on: $kernels)"
[ -n "$nodev" ] || why="$why; no node at $node"
[ "$clip" = true ] || why="$why; no scx-mcp at $cli"
[ "$st" = enabled ] && why="$why; a sched_ext scheduler ($ops) already runs"
ok=true; [ -n "$why" ] && ok=false
printf '{"ok":%s,"kernel":"%s","schedExt":"%s","ops":"%s","uid":%s,"verified":%s,"node":"%s","cli":%s,"loaderPresent":%s,"error":"%s"}\n' \
  "$ok" "$(esc "$k")" "$(esc "$st")" "$(esc "$ops")" "$uid" "$verified" "$(esc "$nodev")" "$clip" "$loaderp" "$(esc "${why#; }")"
[ "$ok" = true ]
