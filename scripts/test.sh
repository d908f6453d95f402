#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo build --release --lib --examples
log=$(mktemp)
status=0
cargo test --lib --tests -- --test-threads=2 2>&1 | tee "$log" || status=$?
# One closing line for the whole suite, summed over the test binaries.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
