#!/bin/sh
# The cyclictest workload (core/bench/workloads.ts, cyclictestWorkload), run in the sandbox guest:
# stress-ng CPU hogs in the background, cyclictest (one SCHED_OTHER thread, histogram on stdout)
# in the foreground; the hogs are stopped when cyclictest ends, and the exit status is cyclictest's.
#
#   sh cyclictest-beside-stress.sh STRESS_CPUS INTERVAL_US LOOPS HIST_MAX_US
#
# Tested under the host's /bin/sh with stand-in programs: tests/unit/bench-scripts.test.ts.
if [ $# -ne 4 ]; then
  echo "usage: $0 STRESS_CPUS INTERVAL_US LOOPS HIST_MAX_US" >&2
  exit 2
fi
stress_cpus=$1 interval_us=$2 loops=$3 hist_max=$4
stress-ng --cpu "$stress_cpus" --quiet --timeout 3600s & s=$!
cyclictest -q -t1 --policy=other -p0 -i "$interval_us" -l "$loops" -h "$hist_max"; rc=$?
kill $s 2>/dev/null; wait $s 2>/dev/null; exit $rc
