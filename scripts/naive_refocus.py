#!/usr/bin/env python3
"""Algorithm 1 as a user would write it with OpenCV: one filter2D per plane for the masked
image and one for the mask, downsampling with cv2.resize where 2r+1 > kmax (paper 3.2).
Prints milliseconds per frame (the benchmark's baseline; it also writes nothing else).

usage: naive_refocus.py IMAGE DISPARITY_GRAY16 APERTURE FOCUS DMIN DMAX KMAX [OUT.png]
"""
import sys
import time

import cv2
import numpy as np


def disc(radius: float) -> np.ndarray:
    if radius < 0.5:
        return np.ones((1, 1), np.float32)
    n = int(np.ceil(radius))
    y, x = np.mgrid[-n : n + 1, -n : n + 1]
    kernel = ((x * x + y * y) <= radius * radius).astype(np.float32)
    return kernel / kernel.sum()


def refocus(image, disparity, a, df, dmin, dmax, kmax):
    d = np.clip(disparity, dmin, dmax)
    acc_i = np.zeros_like(image)
    acc_m = np.zeros(d.shape, np.float32)
    k = 0
    while dmin + k / a <= dmax:
        plane = dmin + k / a
        k += 1
        mask = (np.abs(d - plane) < 1.0 / a).astype(np.float32)
        r = a * abs(plane - df)
        masked = image * mask[..., None]
        size = 2 * r + 1
        if kmax > 0 and r >= 0.5 and size > kmax:
            gamma = size / kmax
            h, w = mask.shape
            small = (max(1, int(np.ceil(w / gamma))), max(1, int(np.ceil(h / gamma))))
            kernel = disc(r / gamma)
            mb = cv2.filter2D(cv2.resize(mask, small, interpolation=cv2.INTER_AREA), -1, kernel, borderType=cv2.BORDER_CONSTANT)
            ib = cv2.filter2D(cv2.resize(masked, small, interpolation=cv2.INTER_AREA), -1, kernel, borderType=cv2.BORDER_CONSTANT)
            mb = cv2.resize(mb, (w, h), interpolation=cv2.INTER_LINEAR)
            ib = cv2.resize(ib, (w, h), interpolation=cv2.INTER_LINEAR)
        else:
            kernel = disc(r)
            mb = cv2.filter2D(mask, -1, kernel, borderType=cv2.BORDER_CONSTANT)
            ib = cv2.filter2D(masked, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        acc_m = acc_m * (1 - mb) + mb
        acc_i = acc_i * (1 - mb[..., None]) + ib
    return acc_i / np.maximum(acc_m, 1e-6)[..., None]


def main():
    image = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR).astype(np.float32) / 255.0
    disparity = cv2.imread(sys.argv[2], cv2.IMREAD_UNCHANGED).astype(np.float32) / 256.0
    a, df, dmin, dmax = (float(v) for v in sys.argv[3:7])
    kmax = int(sys.argv[7])
    cv2.setNumThreads(2)
    # The fastest of three runs, as the benchmark does for the GPU renderer.
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        out = refocus(image, disparity, a, df, dmin, dmax, kmax)
        best = min(best, time.perf_counter() - start)
    print(f"{best * 1000.0:.1f}")
    if len(sys.argv) > 8:
        cv2.imwrite(sys.argv[8], np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8))


if __name__ == "__main__":
    main()
