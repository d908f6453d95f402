#!/usr/bin/env bash
# The three benchmarks on a machine with an NVIDIA GPU (CUDA): the renderer on the real
# GPU through Vulkan, the network with ONNX Runtime's CUDA provider from the onnxruntime-gpu
# wheel. Run from the repository root after scripts/setup.sh; prints the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if ! .venv/bin/python -c "import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers()" 2>/dev/null; then
  .venv/bin/pip install -q onnxruntime-gpu
fi
capi=$(.venv/bin/python -c "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))")
export ORT_DYLIB_PATH=$(ls "$capi"/libonnxruntime.so.* | head -1)
export LD_LIBRARY_PATH="$capi${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo build --release --examples
nvidia-smi --query-gpu=name --format=csv,noheader || true
./target/release/examples/bench_refocus
./target/release/examples/bench_refocus --outputs
STEREFO_PROVIDER=cuda ./target/release/examples/bench_depth
./target/release/examples/bench_sterefo
