"""Helpers shared by train.py and evaluate.py: the Middlebury motorcycle pair (evaluation
ONLY, never training), stride padding, metrics."""

from __future__ import annotations

import cv2
import numpy as np

STRIDE = 32


def motorcycle():
    """(left, right) float32 RGB [0,1] HxWx3 and GT disparity (inf = invalid), 500x741."""
    import skimage.data

    l, r, d = skimage.data.stereo_motorcycle()
    return l.astype(np.float32) / 255.0, r.astype(np.float32) / 255.0, d.astype(np.float32)


def pad_to_stride(img, stride=STRIDE):
    """Edge-replicate pad HxWxC at the bottom/right to multiples of stride."""
    H, W = img.shape[:2]
    Hp = (H + stride - 1) // stride * stride
    Wp = (W + stride - 1) // stride * stride
    return cv2.copyMakeBorder(img, 0, Hp - H, 0, Wp - W, cv2.BORDER_REPLICATE), (H, W)


def run_scaled(fn, left, right, scale, stride=STRIDE):
    """Runs fn(left_nchw, right_nchw) -> [1,1,h,w] disparity at a working scale (1 or 1/2...)
    on the pair padded to `stride`, and returns the disparity at the input resolution, in
    input pixels."""
    H, W = left.shape[:2]
    if scale != 1.0:
        w, h = int(round(W * scale)), int(round(H * scale))
        l = cv2.resize(left, (w, h), interpolation=cv2.INTER_AREA)
        r = cv2.resize(right, (w, h), interpolation=cv2.INTER_AREA)
    else:
        l, r = left, right
    lp, (h, w) = pad_to_stride(l, stride)
    rp, _ = pad_to_stride(r, stride)
    d = fn(lp.transpose(2, 0, 1)[None].copy(), rp.transpose(2, 0, 1)[None].copy())
    d = np.asarray(d)[0, 0, :h, :w]
    if scale != 1.0:
        d = cv2.resize(d, (W, H), interpolation=cv2.INTER_LINEAR) / scale
    return d


def metrics(pred, gt):
    """Dense metrics over all valid GT pixels: EPE, bad-1 %, bad-3 %."""
    v = np.isfinite(gt) & (gt > 0)
    e = np.abs(pred[v] - gt[v])
    return {"epe": float(e.mean()), "bad1": float((e > 1).mean() * 100), "bad3": float((e > 3).mean() * 100)}


def fill_holes_lr(disp, invalid):
    """Dense fill of invalid pixels from the nearest valid pixel to the left/right along the
    row (the smaller, i.e. farther, of the two, the usual background fill); rows with no
    valid pixel get the image median."""
    d = disp.astype(np.float32).copy()
    H, W = d.shape
    valid = ~invalid
    idx = np.where(valid, np.arange(W)[None, :], -1)
    left_idx = np.maximum.accumulate(idx, axis=1)
    idx_r = np.where(valid, np.arange(W)[None, :], W)
    right_idx = np.minimum.accumulate(idx_r[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(H)[:, None].repeat(W, 1)
    lv = np.where(left_idx >= 0, d[rows, np.clip(left_idx, 0, W - 1)], np.inf)
    rv = np.where(right_idx < W, d[rows, np.clip(right_idx, 0, W - 1)], np.inf)
    fill = np.minimum(lv, rv)
    med = float(np.median(d[valid])) if valid.any() else 0.0
    fill = np.where(np.isfinite(fill), fill, med)
    d[invalid] = fill[invalid]
    return d
