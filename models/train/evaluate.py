"""Evaluate the exported ONNX model on the Middlebury 2014 motorcycle pair that ships with
scikit-image (skimage.data.stereo_motorcycle, 741x500, GT invalid = +inf), next to OpenCV
SGBM, and time it at KITTI and 1080p sizes.

    python models/train/evaluate.py [--model models/stereonet.onnx] [--threads 2] [--json out.json]

Metrics are dense: every pixel with valid GT counts (SGBM holes are filled from the nearest
valid pixel along the row). Model: run at full resolution, and at half resolution (input
downscaled by 2 with INTER_AREA, disparity x2 and bilinearly upsampled back); inputs are
padded to a multiple of 32 by edge replication and the output is cropped back.

SGBM (a) = the settings of gst-plugins-bad's `disparity` element (ext/opencv/gstdisparity.cpp,
initialise_sbm, OpenCV >= 3 branch): grey input (RGB2GRAY), minDisparity 1, numDisparities 64,
blockSize 3, P1 200, P2 255, disp12MaxDiff 0, preFilterCap 0, uniquenessRatio 0,
speckleWindowSize 0, speckleRange 0, MODE_HH. (The element then min-max normalises the map to
0..255 for display; we score the metric disparity it computes before that.)
SGBM (b) = a tuned SGBM: RGB input, blockSize 3, P1 8*3*3^2, P2 32*3*3^2, disp12MaxDiff 1,
preFilterCap 63, uniquenessRatio 10, speckleWindowSize 100, speckleRange 2, MODE_SGBM_3WAY /
MODE_HH, numDisparities 64 (full) / 32 (half). blockSize 3 won a small sweep ON THIS PAIR
(blockSize 3/5/7/9, uniqueness 5/10, speckle 0/100, numDisparities 64/80, both modes), i.e.
the baseline is tuned on the test pair itself, which favours it.
Timings: wall-clock median of --repeat runs on this machine, cv2 and onnxruntime limited to
--threads threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import fill_holes_lr, metrics, motorcycle, pad_to_stride, run_scaled  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def timed(fn, repeat):
    fn()  # warm-up
    ts = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return out, float(np.median(ts) * 1000)


def sgbm_gst(l, r):
    sg = cv2.StereoSGBM_create(minDisparity=1, numDisparities=64, blockSize=3, P1=200, P2=255,
                               disp12MaxDiff=0, preFilterCap=0, uniquenessRatio=0,
                               speckleWindowSize=0, speckleRange=0, mode=cv2.STEREO_SGBM_MODE_HH)
    gl = cv2.cvtColor(l, cv2.COLOR_RGB2GRAY)
    gr = cv2.cvtColor(r, cv2.COLOR_RGB2GRAY)
    d = sg.compute(gl, gr).astype(np.float32) / 16.0
    return fill_holes_lr(d, d < 1)


def sgbm_tuned(l, r, num=64, mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY, bs=3):
    sg = cv2.StereoSGBM_create(minDisparity=0, numDisparities=num, blockSize=bs,
                               P1=8 * 3 * bs * bs, P2=32 * 3 * bs * bs, disp12MaxDiff=1,
                               preFilterCap=63, uniquenessRatio=10, speckleWindowSize=100,
                               speckleRange=2, mode=mode)
    d = sg.compute(l, r).astype(np.float32) / 16.0
    return fill_holes_lr(d, d < 0)


def sgbm_scaled(fn, l, r, scale, **kw):
    H, W = l.shape[:2]
    if scale == 1.0:
        return fn(l, r, **kw)
    w, h = int(round(W * scale)), int(round(H * scale))
    ls = cv2.resize(l, (w, h), interpolation=cv2.INTER_AREA)
    rs = cv2.resize(r, (w, h), interpolation=cv2.INTER_AREA)
    d = fn(ls, rs, **kw)
    return cv2.resize(d, (W, H), interpolation=cv2.INTER_LINEAR) / scale


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "stereonet.onnx"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--save-maps", default=None, help="folder for colour-mapped disparity PNGs")
    a = ap.parse_args()

    import onnxruntime as ort

    cv2.setNumThreads(a.threads)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    print(f"model {a.model} ({os.path.getsize(a.model) / 1e6:.2f} MB), metadata {meta}, "
          f"onnxruntime {ort.__version__} CPU, {a.threads} threads, cv2 {cv2.__version__}")

    def onnx_fn(lx, rx):
        return sess.run(["disparity"], {"left": lx.astype(np.float32), "right": rx.astype(np.float32)})[0]

    lf, rf, gt = motorcycle()
    l8 = (lf * 255).round().astype(np.uint8)
    r8 = (rf * 255).round().astype(np.uint8)
    H, W = gt.shape
    rows = []
    maps = {}

    for name, s in (("model, full res (741x500)", 1.0), ("model, half res (371x250 -> x2)", 0.5)):
        d, ms = timed(lambda: run_scaled(onnx_fn, lf, rf, s), a.repeat)
        rows.append((name, metrics(d, gt), ms))
        maps[name] = d
    d, ms = timed(lambda: sgbm_gst(l8, r8), a.repeat)
    rows.append(("SGBM (a) gst `disparity` settings, full res, holes filled", metrics(d, gt), ms))
    maps["sgbm_a"] = d
    for mode, mname in ((cv2.STEREO_SGBM_MODE_SGBM_3WAY, "3WAY"), (cv2.STEREO_SGBM_MODE_HH, "HH")):
        d, ms = timed(lambda: sgbm_tuned(l8, r8, 64, mode), a.repeat)
        rows.append((f"SGBM (b) tuned {mname}, full res, holes filled", metrics(d, gt), ms))
        maps[f"sgbm_b_{mname}"] = d
        d, ms = timed(lambda: sgbm_scaled(sgbm_tuned, l8, r8, 0.5, num=32, mode=mode), a.repeat)
        rows.append((f"SGBM (b) tuned {mname}, half res -> x2, holes filled", metrics(d, gt), ms))

    print()
    print("Middlebury motorcycle (skimage.data.stereo_motorcycle), dense, all valid GT pixels:")
    print()
    print("| method | EPE (px) | bad-1 (%) | bad-3 (%) | time (ms) |")
    print("|---|---|---|---|---|")
    for name, m, ms in rows:
        print(f"| {name} | {m['epe']:.2f} | {m['bad1']:.1f} | {m['bad3']:.1f} | {ms:.0f} |")

    # speed at common video sizes (model inference only: session.run on padded inputs)
    print()
    print(f"Model inference time, onnxruntime CPU, {a.threads} threads (session.run only, input padded to 32):")
    print()
    print("| frame | working resolution | padded input | time (ms) |")
    print("|---|---|---|---|")
    speed = []
    rng = np.random.default_rng(0)
    for fw, fh in ((1242, 375), (1920, 1080)):
        for label, s in (("full", 1.0), ("half", 0.5)):
            w, h = int(round(fw * s)), int(round(fh * s))
            base = cv2.resize(lf, (w, h), interpolation=cv2.INTER_AREA)
            lp, _ = pad_to_stride(base)
            rp, _ = pad_to_stride(np.roll(base, -8, axis=1))
            lx = lp.transpose(2, 0, 1)[None].copy()
            rx = rp.transpose(2, 0, 1)[None].copy()
            _, ms = timed(lambda: onnx_fn(lx, rx), a.repeat)
            speed.append({"frame": f"{fw}x{fh}", "work": f"{label} ({w}x{h})", "input": f"{lx.shape[3]}x{lx.shape[2]}", "ms": ms})
            print(f"| {fw}x{fh} | {label} ({w}x{h}) | {lx.shape[3]}x{lx.shape[2]} | {ms:.0f} |")
    _ = rng

    print()
    print(f"SGBM time at the same frame sizes, cv2 {a.threads} threads (compute + hole fill):")
    print()
    print("| frame | SGBM (a) gst settings (ms) | SGBM (b) tuned 3WAY, numDisparities 128 (ms) |")
    print("|---|---|---|")
    sg_speed = []
    for fw, fh in ((1242, 375), (1920, 1080)):
        lb = cv2.resize(l8, (fw, fh), interpolation=cv2.INTER_AREA)
        rb = cv2.resize(r8, (fw, fh), interpolation=cv2.INTER_AREA)
        _, ma = timed(lambda: sgbm_gst(lb, rb), max(1, a.repeat // 2))
        _, mb = timed(lambda: sgbm_tuned(lb, rb, 128), max(1, a.repeat // 2))
        sg_speed.append({"frame": f"{fw}x{fh}", "sgbm_a_ms": ma, "sgbm_b_ms": mb})
        print(f"| {fw}x{fh} | {ma:.0f} | {mb:.0f} |")

    if a.save_maps:
        os.makedirs(a.save_maps, exist_ok=True)
        vmax = float(gt[np.isfinite(gt)].max())
        for k, d in list(maps.items()) + [("gt", np.where(np.isfinite(gt), gt, 0))]:
            im = cv2.applyColorMap(np.clip(d / vmax * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
            fn = "".join(c if c.isalnum() else "_" for c in k)[:40] + ".png"
            cv2.imwrite(os.path.join(a.save_maps, fn), im)

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"motorcycle": [{"method": n, **m, "ms": ms} for n, m, ms in rows],
                       "model_speed": speed, "sgbm_speed": sg_speed, "metadata": meta}, f, indent=1)


if __name__ == "__main__":
    main()
