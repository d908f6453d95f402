#!/usr/bin/env bash
# Installs everything sterefo needs on Debian bookworm, idempotently:
#   - GStreamer 1.22 (dev files, tools, base/good/bad plugins, the OpenCV plugin), meson and
#     Mesa's Vulkan drivers (lavapipe: wgpu on the CPU when there is no GPU), from apt;
#   - a Python venv in .venv (numpy, scikit-image, OpenCV, onnxruntime) from PyPI;
#   - the ONNX Runtime shared library, taken from the onnxruntime wheel, in .deps/onnxruntime,
#     and the WebGPU plugin execution provider (onnxruntime-ep-webgpu) in .deps/onnxruntime-webgpu;
#   - the test and example data in data/, made from what scikit-image ships.
# Usage: scripts/setup.sh            (then builds nothing; demo.sh and test.sh build)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-opencv mesa-vulkan-drivers libvulkan1 python3-venv meson ninja-build
)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON_PACKAGES=(numpy scikit-image opencv-python-headless "onnxruntime>=1.20" onnx)
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, skimage, cv2, onnxruntime, onnx" 2>/dev/null; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "${PYTHON_PACKAGES[@]}"
fi

# ONNX Runtime's C library ships inside the Python wheel; the `ort` crate loads it at run
# time (load-dynamic). Copy it to a stable place the plugin looks in.
ORT_DIR=.deps/onnxruntime
if ! ls "$ORT_DIR"/libonnxruntime.so* >/dev/null 2>&1; then
  mkdir -p "$ORT_DIR"
  capi=$(.venv/bin/python -c "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))")
  cp "$capi"/libonnxruntime.so* "$ORT_DIR"/
  ln -sf "$(basename "$(ls "$ORT_DIR"/libonnxruntime.so.* | head -1)")" "$ORT_DIR/libonnxruntime.so"
fi

# The WebGPU plugin execution provider (provider=webgpu; optional), from its PyPI wheel.
WEBGPU_DIR=.deps/onnxruntime-webgpu
if [ ! -f "$WEBGPU_DIR/libonnxruntime_providers_webgpu.so" ]; then
  if .venv/bin/pip install -q --disable-pip-version-check onnxruntime-ep-webgpu; then
    mkdir -p "$WEBGPU_DIR"
    cp "$(.venv/bin/python -c "import onnxruntime_ep_webgpu as w; print(w.get_library_path())")" "$WEBGPU_DIR"/
  else
    echo "setup: note: onnxruntime-ep-webgpu not installed; provider webgpu will be unavailable"
  fi
fi

if [ ! -f data/motorcycle/disparity_filled.png ] || [ ! -f data/bench/1920x1080_right.png ]; then
  .venv/bin/python scripts/make_test_data.py data
fi

# wgpu's Vulkan loader wants a private runtime folder.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "${XDG_RUNTIME_DIR}" ]; then
  echo "setup: note: export XDG_RUNTIME_DIR to a 0700 folder to silence a Vulkan warning"
fi
echo "setup: done"
