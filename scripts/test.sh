#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo build --release --lib
cargo test --all-targets -- --test-threads=2
