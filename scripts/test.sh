#!/usr/bin/env bash
# npm test: set-up, then every test group, each run even when an earlier one fails;
# exits non-zero if any failed, and says which.
#   0. the static checks: the architecture's dependency rules (dependency-cruiser), eslint, prettier
#   1. cargo test (sched-rust's loader and hints crates)
#      after cargo fmt --check and cargo clippy -D warnings (scripts/cargo-test.sh says which failed)
#   2. vitest, everything but the monitor's tests
#   3. vitest, the tests that judge a scheduler by how much slower it makes a probe, alone (a second
#      VM sharing the two cores hides the slowdown: seen in CI, and in a fresh run where one_cpu
#      slowed the in-guest probe by 41 % and then not at all): monitor.test.ts, host-in-guest.test.ts;
#      and sandbox-death.test.ts, which boots five VMs in a row: the first fresh run with it beside
#      the others had two load-sensitive tests fail (the /proc profiler missed 2 of 9 short jobs;
#      the exec reader missed a job that ended before it read the job's /proc entry); its extra
#      load is the likely cause, not a proven one
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "npm test: set-up failed" >&2; exit 1; }
failed=()
npm run -s lint:deps || failed+=("dependency rules (npm run lint:deps)")
npm run -s lint:ts || failed+=("eslint (npm run lint:ts)")
npm run -s format:check || failed+=("formatting (npm run format:check; npm run format fixes it)")
bash scripts/cargo-test.sh || failed+=("cargo test")
ALONE=(tests/integration/monitor.test.ts tests/integration/host-in-guest.test.ts tests/integration/sandbox-death.test.ts)
npx vitest run "${ALONE[@]/#/--exclude=}" || failed+=("vitest (all but the monitor's tests)")
# one at a time: vitest would run two files side by side, each with its own VM
for f in "${ALONE[@]}"; do npx vitest run "$f" || failed+=("vitest ($f, alone)"); done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "npm test: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "npm test: every group passed"
