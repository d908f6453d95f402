#!/usr/bin/env python3
"""Writes the test and example data into data/ from what scikit-image ships (nothing is
downloaded): the Middlebury 2014 motorcycle pair with its ground-truth disparity.

data/motorcycle/left.png, right.png      741x500 RGB
data/motorcycle/disparity_gt.png         GRAY16, disparity x 256, 0 = invalid (KITTI style)
data/motorcycle/disparity_filled.png     same, holes filled from the farther neighbour
data/bench/WxH_image.png, WxH_disparity.png   the left view resized for benchmarks, disparity
                                              rescaled to [0, 72] px (for a [0, 80] sweep)
data/bench/WxH_right.png                      the right view resized the same way
"""
import os
import sys

import cv2
import numpy as np
from skimage import data


def fill_holes(disparity: np.ndarray) -> np.ndarray:
    """Fills invalid pixels along each row with the smaller (farther) of the nearest valid
    values on the left and right: occlusions belong to the background."""
    out = disparity.copy()
    height, width = out.shape
    for y in range(height):
        row = out[y]
        valid = np.isfinite(row)
        if not valid.any():
            row[:] = 0.0
            continue
        idx = np.arange(width)
        left = np.where(valid, idx, -1)
        np.maximum.accumulate(left, out=left)
        right = np.where(valid, idx, width)
        right = np.minimum.accumulate(right[::-1])[::-1]
        lv = np.where(left >= 0, row[np.clip(left, 0, width - 1)], np.inf)
        rv = np.where(right < width, row[np.clip(right, 0, width - 1)], np.inf)
        row[~valid] = np.minimum(lv, rv)[~valid]
    return out


def write_gray16(path: str, disparity: np.ndarray) -> None:
    value = np.where(np.isfinite(disparity), disparity, 0.0)
    cv2.imwrite(path, np.clip(np.round(value * 256.0), 0, 65535).astype(np.uint16))


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else "data"
    os.makedirs(f"{root}/motorcycle", exist_ok=True)
    os.makedirs(f"{root}/bench", exist_ok=True)
    left, right, disparity = data.stereo_motorcycle()
    disparity = disparity.astype(np.float32)
    cv2.imwrite(f"{root}/motorcycle/left.png", cv2.cvtColor(left, cv2.COLOR_RGB2BGR))
    cv2.imwrite(f"{root}/motorcycle/right.png", cv2.cvtColor(right, cv2.COLOR_RGB2BGR))
    write_gray16(f"{root}/motorcycle/disparity_gt.png", disparity)
    filled = fill_holes(disparity)
    write_gray16(f"{root}/motorcycle/disparity_filled.png", filled)

    scale = 72.0 / float(filled.max())
    for width, height in [(1242, 375), (1920, 1080)]:
        image = cv2.resize(left, (width, height), interpolation=cv2.INTER_AREA)
        right_image = cv2.resize(right, (width, height), interpolation=cv2.INTER_AREA)
        cv2.imwrite(f"{root}/bench/{width}x{height}_right.png", cv2.cvtColor(right_image, cv2.COLOR_RGB2BGR))
        depth = cv2.resize(filled, (width, height), interpolation=cv2.INTER_NEAREST) * scale
        cv2.imwrite(f"{root}/bench/{width}x{height}_image.png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_gray16(f"{root}/bench/{width}x{height}_disparity.png", depth)
    print(f"test data written to {root}/")


if __name__ == "__main__":
    main()
