#!/usr/bin/env bash
# npm test: set-up, then every test group, each run even when an earlier one fails;
# exits non-zero if any failed, and says which.
#   1. cargo test (sched-rust's loader and hints crates)
#   2. vitest, everything but the monitor's integration tests
#   3. vitest, the monitor's integration tests alone (they judge a scheduler by how much slower it
#      makes a probe, which a second VM sharing the two cores hides)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "npm test: set-up failed" >&2; exit 1; }
failed=()
bash scripts/cargo-test.sh || failed+=("cargo test")
npx vitest run --exclude tests/integration/monitor.test.ts || failed+=("vitest (all but the monitor)")
npx vitest run tests/integration/monitor.test.ts || failed+=("vitest (monitor)")
if [ "${#failed[@]}" -gt 0 ]; then
	echo "npm test: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "npm test: every group passed"
