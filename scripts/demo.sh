#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh), builds the plugin and refocuses the bundled
# Middlebury motorcycle pair: out/motorcycle_{near,far}.png with its ground-truth disparity,
# out/motorcycle_sterefo.png from the stereo pair alone.
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
# The whole job: disparity from the stereo pair by the network, then refocus on the bike.
gst-launch-1.0 -q sterefo name=s aperture=0.3 focus-mode=point focus-x=0.45 focus-y=0.55 max-disparity=64 \
    ! videoconvert ! pngenc ! filesink location=out/motorcycle_sterefo.png \
  filesrc location=data/motorcycle/left.png ! pngdec ! videoconvert ! s.sink_left \
  filesrc location=data/motorcycle/right.png ! pngdec ! videoconvert ! s.sink_right
echo "demo: wrote out/motorcycle_near.png, out/motorcycle_far.png (refocus, ground-truth disparity)"
echo "      and out/motorcycle_sterefo.png (sterefo, disparity from the stereo pair)"
