"""Where a disparity model's errors are on the motorcycle pair: occluded pixels (those the
right camera does not see, from the ground truth), the bands around depth edges (9x9 around
jumps of more than 2 px) and flat areas; EPE, bad-1 and the mean signed error of each.

    python models/train/regions.py MODEL.onnx [MODEL.onnx ...]
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import motorcycle, run_scaled  # noqa: E402


def regions(gt):
    valid = np.isfinite(gt) & (gt > 0)
    g = np.where(valid, gt, 0)
    height, width = g.shape
    occluded = np.zeros_like(valid)
    for y in range(height):
        # a left pixel is hidden in the right view when a pixel to its right lands at or left of it
        xr = np.arange(width) - g[y]
        nearest = np.minimum.accumulate(np.where(valid[y], xr, 1e9)[::-1])[::-1]
        after = np.concatenate([nearest[1:], [1e9]])
        occluded[y] = valid[y] & ((after <= xr - 0.5) | (xr < 0))
    jumps = (np.abs(np.diff(g, axis=1, prepend=0)) > 2) | (np.abs(np.diff(g, axis=0, prepend=0)) > 2)
    edges = cv2.dilate(jumps.astype(np.uint8), np.ones((9, 9))) > 0
    return g, {"occluded": valid & occluded, "edge band": valid & edges & ~occluded,
               "flat": valid & ~edges & ~occluded}


def main():
    left, right, gt = motorcycle()
    g, masks = regions(gt)
    valid = sum(masks.values()).astype(bool)
    print("| model | " + " | ".join(f"{k}: EPE / bad-1 / signed (share of pixels {m.sum() / valid.sum() * 100:.0f}%)"
                                     for k, m in masks.items()) + " |")
    print("|---" * (len(masks) + 1) + "|")
    for path in sys.argv[1:]:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        d = run_scaled(lambda a, b: session.run(None, {"left": a, "right": b})[0], left, right, 1.0)
        cells = []
        for m in masks.values():
            e = d[m] - g[m]
            cells.append(f"{np.abs(e).mean():.2f} / {(np.abs(e) > 1).mean() * 100:.0f}% / {e.mean():+.2f}")
        print(f"| {os.path.basename(path)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
