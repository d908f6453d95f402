#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# PyTorch (from PyPI, about 5 GB with its CUDA libraries, which also run on the CPU) for the
# tests of the differentiable refocusing, models/train/test_layered_dof.py, and
# scikit-video for NIQE (models/train/test_niqe.py)
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check torch
.venv/bin/python -c "import skvideo" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check scikit-video
source scripts/env.sh
cargo build --release --lib --examples
log=$(mktemp)
status=0
cargo test --lib --tests -- --test-threads=2 2>&1 | tee "$log" || status=$?
# The differentiable refocusing against the Rust oracle's vectors, and its gradients; NIQE;
# the network's parts the campaign's checkpoints rely on; the current leg's training scenes.
.venv/bin/python -m unittest models/train/test_layered_dof.py models/train/test_niqe.py models/train/test_model.py models/train/test_datasets.py 2>&1 | tee -a "$log" || status=$?
# One closing line for the whole suite, summed over the test binaries and unittest's run.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     /^Ran [0-9]+ tests? in/ { ran += $2 }
     /^FAILED \(/ { n = split($0, parts, /[=,)]/); for (i = 2; i <= n; i += 2) bad += parts[i] }
     END { printf "tests: %d passed, %d failed\n", p + ran - bad, f + bad }' "$log"
rm -f "$log"
exit "$status"
