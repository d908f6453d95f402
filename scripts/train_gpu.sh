#!/usr/bin/env bash
# One leg of the disparity network's training campaign on a lent CUDA GPU machine (the
# session's `run` tool; check its `status` first). Resumes models/train/campaign/last.pt
# with a batch and crop sized for a large GPU, for MINUTES (default 8, so that a 10-minute
# command limit leaves time to copy back), and writes the campaign folder to $OUT; copy it
# back over models/train/campaign/ and commit it. Further arguments go to train.py: give
# the current leg's (models/train/CAMPAIGN.md, Commands).
#
#   run(command="bash scripts/train_gpu.sh 8 --data-module models/train/dataset_v1.py",
#       carry=["data/textures"], timeout_s=600)
#   cp <files_at>/campaign/* models/train/campaign/
#
# The GPU machine has PyTorch, OpenCV, scikit-image and onnxruntime but no package
# registry and no wallpaper packages: data/textures (made by models/train/setup.sh) is
# carried so that it trains on the same textures.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-8}
shift || true
out=${OUT:-out/gpu}
mkdir -p "$out"
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
ls data/textures/*.jpg >/dev/null 2>&1 || { echo "data/textures is missing: carry it (models/train/setup.sh makes it)"; exit 1; }
workers=$(( $(nproc) - 2 ))
python3 models/train/train.py --resume --device cuda --batch 32 --crop 256x512 \
  --workers "$workers" --minutes "$minutes" --eval-every 2 --save-every 2 "$@" 2>&1 | tail -n 40
cp -r models/train/campaign "$out"/
