#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh), builds the plugin and refocuses the bundled
# Middlebury motorcycle pair: out/motorcycle_{near,far}.png.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo build --release --lib --examples
mkdir -p out
./target/release/examples/refocus_still data/motorcycle/left.png data/motorcycle/disparity_filled.png \
  --focus 55 --aperture 0.3 --max-disparity 64 out/motorcycle_near.png
./target/release/examples/refocus_still data/motorcycle/left.png data/motorcycle/disparity_filled.png \
  --focus 12 --aperture 0.3 --max-disparity 64 out/motorcycle_far.png
echo "demo: wrote out/motorcycle_near.png and out/motorcycle_far.png"
