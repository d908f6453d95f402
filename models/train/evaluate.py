"""Evaluate the exported ONNX model on the Middlebury 2014 motorcycle pair that ships with
scikit-image (skimage.data.stereo_motorcycle, 741x500, GT invalid = +inf), next to OpenCV
SGBM, all in one run: accuracy, refocus fidelity, robustness to what cameras deliver, and
speed at KITTI and 1080p sizes.

    python models/train/evaluate.py [--model models/stereonet.onnx] [--threads 2] [--json out.json]
                                    [--scales 1,0.875,0.75,0.625,0.5]

Refocus fidelity (issue 13): the ground truth's holes are filled along each row from the
farther of the nearest valid neighbours; Algorithm 1 is rendered exactly (a = 0.25, range
[0, ceil(max GT) + 2], no kernel cap; scripts/naive_refocus.py) with the focus at the 90th
(near) and 10th (far) percentile of the valid ground truth, once with the filled ground
truth (the ideal) and once with each method's disparity; PSNR and SSIM against the ideal
over the whole frame and within 8 px of a ground-truth depth edge (a jump of more than
2 px between 4-neighbours).

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
preFilterCap 63, uniquenessRatio 10, speckleWindowSize 100, speckleRange 2, MODE_SGBM_3WAY,
numDisparities 64 (full) / 32 (half). blockSize 3 won a small sweep ON THIS PAIR
(blockSize 3/5/7/9, uniqueness 5/10, speckle 0/100, numDisparities 64/80, both modes), i.e.
the baseline is tuned on the test pair itself, which favours it.
Timings: wall-clock median of --repeat runs on this machine, cv2 and onnxruntime limited to
--threads threads.

--scales: one more table, the model at each of those working scales (the element's
`working-scale`: the pair scaled by it with INTER_AREA, the disparity scaled back
bilinearly): accuracy and fidelity on the motorcycle pair, and the network's time on a
1242x375 frame at that scale next to SGBM with the element's settings on the whole frame.
"""

from __future__ import annotations

import argparse
import json
import math
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


def sgbm_tuned(l, r, num=64, bs=3):
    sg = cv2.StereoSGBM_create(minDisparity=0, numDisparities=num, blockSize=bs,
                               P1=8 * 3 * bs * bs, P2=32 * 3 * bs * bs, disp12MaxDiff=1,
                               preFilterCap=63, uniquenessRatio=10, speckleWindowSize=100,
                               speckleRange=2, mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY)
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


FIDELITY_APERTURE = 0.25
EDGE_JUMP_PX = 2.0
EDGE_BAND_PX = 8


def edge_band(gt_filled):
    """Pixels within EDGE_BAND_PX of a ground-truth depth edge (a 4-neighbour jump > 2 px)."""
    jump = np.zeros(gt_filled.shape, bool)
    dx = np.abs(np.diff(gt_filled, axis=1)) > EDGE_JUMP_PX
    dy = np.abs(np.diff(gt_filled, axis=0)) > EDGE_JUMP_PX
    jump[:, :-1] |= dx
    jump[:, 1:] |= dx
    jump[:-1, :] |= dy
    jump[1:, :] |= dy
    dist = cv2.distanceTransform((~jump).astype(np.uint8), cv2.DIST_L2, 5)
    return dist <= EDGE_BAND_PX


class Fidelity:
    """Refocus fidelity of a disparity map against the ground truth's refocus."""

    def __init__(self, image, gt):
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        from naive_refocus import refocus

        self.refocus = refocus
        self.image = image.astype(np.float32)
        valid = np.isfinite(gt) & (gt > 0)
        self.gt_filled = fill_holes_lr(np.where(valid, gt, 0), ~valid)
        self.dmax = float(math.ceil(gt[valid].max()) + 2)
        self.focus = {"near": float(np.percentile(gt[valid], 90)), "far": float(np.percentile(gt[valid], 10))}
        self.band = edge_band(self.gt_filled)
        self.ideal = {k: self.render(self.gt_filled, f) for k, f in self.focus.items()}

    def render(self, disparity, focus):
        out = self.refocus(self.image, disparity.astype(np.float32), FIDELITY_APERTURE, focus, 0.0, self.dmax, 0)
        return np.clip(out, 0, 1)

    def __call__(self, disparity):
        from skimage.metrics import structural_similarity

        res = {}
        for k, f in self.focus.items():
            out, ideal = self.render(disparity, f), self.ideal[k]
            err = ((out - ideal) ** 2).mean(axis=2)
            _, smap = structural_similarity(out, ideal, channel_axis=2, data_range=1.0, full=True)
            smap = smap.mean(axis=2)
            res[k] = {"psnr": psnr(err.mean()), "ssim": float(smap.mean()),
                      "psnr_edge": psnr(err[self.band].mean()), "ssim_edge": float(smap[self.band].mean())}
        return res


def psnr(mse):
    return float(10 * math.log10(1.0 / max(mse, 1e-12)))


def perturbations(l8, r8):
    """What cameras deliver, applied to the evaluation pair: (name, left, right)."""
    rng = np.random.default_rng(7)
    grey = lambda im: np.repeat(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    shifted = cv2.warpAffine(r8, np.float32([[1, 0, 0], [0, 1, 1.0]]), (r8.shape[1], r8.shape[0]),
                             borderMode=cv2.BORDER_REFLECT_101)
    warm = np.clip(r8.astype(np.float32) * np.array([1.0, 0.8, 0.6]) * 0.7, 0, 255).astype(np.uint8)

    def noisy(im):
        return np.clip(im + rng.normal(0, 0.02 * 255, im.shape), 0, 255).astype(np.uint8)

    def jpeg(im):
        ok, buf = cv2.imencode(".jpg", im[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 50])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()

    return [
        ("as captured", l8, r8),
        ("grey pair (channel replicated)", grey(l8), grey(r8)),
        ("right view darker (x0.7) and warmer (G x0.8, B x0.6)", l8, warm),
        ("right view 1 px lower (rectification error)", l8, shifted),
        ("sensor noise (sigma 0.02) on both", noisy(l8), noisy(r8)),
        ("JPEG quality 50 on both", jpeg(l8), jpeg(r8)),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "stereonet.onnx"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--save-maps", default=None, help="folder for colour-mapped disparity PNGs and comparison.jpg (left view, ground truth, model, tuned SGBM)")
    ap.add_argument("--baseline", default=os.path.join(ROOT, "models", "stereonet.onnx"),
                    help="a second model in the accuracy and fidelity table (default: the shipped "
                         "one, when --model is another file); 'none' for none")
    ap.add_argument("--scales", default="", metavar="S1,S2,...",
                    help="also tabulate the model at these working scales (accuracy, fidelity, time)")
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
          f"onnxruntime {ort.__version__} CPU, {a.threads} threads, cv2 {cv2.__version__}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")

    def onnx_fn(lx, rx, session=sess):
        return session.run(["disparity"], {"left": lx.astype(np.float32), "right": rx.astype(np.float32)})[0]

    def model_at(scale, session=sess):
        fn = lambda lx, rx: onnx_fn(lx, rx, session)  # noqa: E731
        return lambda l8, r8: run_scaled(fn, l8.astype(np.float32) / 255, r8.astype(np.float32) / 255, scale)

    baseline = []
    if a.baseline != "none" and os.path.abspath(a.baseline) != os.path.abspath(a.model):
        other = ort.InferenceSession(a.baseline, so, providers=["CPUExecutionProvider"])
        version = other.get_modelmeta().custom_metadata_map.get("version", "?")
        name = f"baseline {os.path.basename(a.baseline)} (version {version})"
        baseline = [(f"{name}, full res", model_at(1.0, other)), (f"{name}, half res", model_at(0.5, other))]

    methods = [
        ("model, full res (741x500)", model_at(1.0)),
        ("model, half res (371x250 -> x2)", model_at(0.5)),
        *baseline,
        ("SGBM tuned, full res, holes filled", lambda l, r: sgbm_tuned(l, r, 64)),
        ("SGBM tuned, half res -> x2, holes filled", lambda l, r: sgbm_scaled(sgbm_tuned, l, r, 0.5, num=32)),
        ("SGBM `disparity` element settings, full res, holes filled", sgbm_gst),
    ]

    lf, rf, gt = motorcycle()
    l8 = (lf * 255).round().astype(np.uint8)
    r8 = (rf * 255).round().astype(np.uint8)
    fidelity = Fidelity(lf, gt)
    rows, maps = [], {}
    for name, fn in methods:
        d, ms = timed(lambda: fn(l8, r8), a.repeat)
        rows.append({"method": name, **metrics(d, gt), "ms": ms, "fidelity": fidelity(d)})
        maps[name] = d
    print()
    print("Middlebury motorcycle (skimage.data.stereo_motorcycle), dense, all valid GT pixels; "
          f"refocus fidelity at a = {FIDELITY_APERTURE}, focus near = {fidelity.focus['near']:.1f} px, "
          f"far = {fidelity.focus['far']:.1f} px (PSNR dB / SSIM against the ground truth's refocus, "
          f"whole frame and within {EDGE_BAND_PX} px of depth edges):")
    print()
    print("| method | EPE (px) | bad-1 (%) | bad-3 (%) | near: PSNR / SSIM | near, edges | far: PSNR / SSIM | far, edges | time (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = r["fidelity"]
        cells = [f"{f[k]['psnr' + e]:.2f} / {f[k]['ssim' + e]:.4f}" for k in ("near", "far") for e in ("", "_edge")]
        print(f"| {r['method']} | {r['epe']:.2f} | {r['bad1']:.1f} | {r['bad3']:.1f} | " + " | ".join(cells) + f" | {r['ms']:.0f} |")

    print()
    print("Robustness: EPE (px) / bad-3 (%) on the motorcycle pair as cameras deliver it:")
    print()
    print("| input | model full res | SGBM tuned full res |")
    print("|---|---|---|")
    robust = []
    for name, pl, pr in perturbations(l8, r8):
        mm = metrics(model_at(1.0)(pl, pr), gt)
        ms_ = metrics(sgbm_tuned(pl, pr, 64), gt)
        robust.append({"input": name, "model": mm, "sgbm": ms_})
        print(f"| {name} | {mm['epe']:.2f} / {mm['bad3']:.1f} | {ms_['epe']:.2f} / {ms_['bad3']:.1f} |")

    print()
    print("Range: EPE (px) by ground-truth disparity on 16 procedural scenes at 384x768 (their own "
          "seed, never trained on), at full resolution:")
    print()
    print("| disparity (px) | pixels (%) | EPE (px) | bad-3 (%) |")
    print("|---|---|---|---|")
    from dataset import StereoSceneGenerator

    gen = StereoSceneGenerator(384, 768, max_disp=200.0, min_scene_max=100.0, seed=777)
    errs, gts = [], []
    for i in range(16):
        l, r, d = gen.sample(i)
        p = run_scaled(onnx_fn, l, r, 1.0)
        seen = np.arange(d.shape[1])[None, :] >= d  # the right camera sees the point
        errs.append(np.abs(p - d)[seen])
        gts.append(d[seen])
    errs, gts = np.concatenate(errs), np.concatenate(gts)
    ranges = []
    for lo, hi in ((0, 32), (32, 64), (64, 128), (128, 160), (160, 192)):
        sel = (gts >= lo) & (gts < hi)
        e = errs[sel]
        ranges.append({"range": [lo, hi], "share": float(sel.mean() * 100), "epe": float(e.mean()),
                       "bad3": float((e > 3).mean() * 100)})
        print(f"| {lo}-{hi} | {sel.mean() * 100:.1f} | {e.mean():.2f} | {(e > 3).mean() * 100:.1f} |")

    print()
    print(f"Speed, {a.threads} threads, same run: network = onnxruntime session.run on the padded input; "
          "SGBM = the `disparity` element's settings (compute + hole fill), at the same frame size:")
    print()
    print("| frame | working resolution | padded input | network (ms) | SGBM element settings (ms) | network / SGBM |")
    print("|---|---|---|---|---|---|")
    speed = []
    frames = {}  # (frame, SGBM ms) by size, for the --scales table
    for fw, fh in ((1242, 375), (1920, 1080)):
        lb = cv2.resize(l8, (fw, fh), interpolation=cv2.INTER_AREA)
        rb = np.roll(lb, -12, axis=1)
        _, sg = timed(lambda: sgbm_gst(lb, rb), max(1, a.repeat // 2))
        frames[fw, fh] = lb, sg
        for label, s in (("full", 1.0), ("half", 0.5)):
            (w, h), padded, ms = network_time(onnx_fn, lb, s, a.repeat)
            speed.append({"frame": f"{fw}x{fh}", "work": label, "input": padded, "ms": ms, "sgbm_ms": sg})
            print(f"| {fw}x{fh} | {label} ({w}x{h}) | {padded} | {ms:.0f} | {sg:.0f} | {ms / sg:.2f} |")

    scales = []
    if a.scales:
        scales = working_scales(a, model_at, onnx_fn, fidelity, l8, r8, gt, *frames[1242, 375])

    if a.save_maps:
        os.makedirs(a.save_maps, exist_ok=True)
        vmax = float(gt[np.isfinite(gt)].max())
        for k, d in list(maps.items()) + [("gt", np.where(np.isfinite(gt), gt, 0))]:
            im = cv2.applyColorMap(np.clip(d / vmax * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
            fn = "".join(c if c.isalnum() else "_" for c in k)[:40] + ".png"
            cv2.imwrite(os.path.join(a.save_maps, fn), im)
        # The figure of the model card: left view, ground truth, the model, tuned SGBM (half size)
        panels = [cv2.cvtColor(l8, cv2.COLOR_RGB2BGR)] + [
            cv2.applyColorMap(np.clip(d / vmax * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
            for d in (np.where(np.isfinite(gt), gt, 0), maps[methods[0][0]], maps["SGBM tuned, full res, holes filled"])]
        grid = np.vstack([np.hstack(panels[:2]), np.hstack(panels[2:])])
        grid = cv2.resize(grid, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        cv2.imwrite(os.path.join(a.save_maps, "comparison.jpg"), grid, [cv2.IMWRITE_JPEG_QUALITY, 88])

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"motorcycle": rows, "robustness": robust, "range": ranges, "speed": speed, "scales": scales,
                       "metadata": meta}, f, indent=1)


def network_time(onnx_fn, frame, scale, repeat):
    """The bare network on `frame` (uint8 RGB) resized by `scale` (INTER_AREA) and padded,
    against a copy shifted by 8 px: ((w, h) resized, "WxH" padded, median ms)."""
    w, h = int(round(frame.shape[1] * scale)), int(round(frame.shape[0] * scale))
    base = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    lp, _ = pad_to_stride(base)
    rp, _ = pad_to_stride(np.roll(base, -8, axis=1))
    lx, rx = lp.transpose(2, 0, 1)[None].copy(), rp.transpose(2, 0, 1)[None].copy()
    _, ms = timed(lambda: onnx_fn(lx, rx), repeat)
    return (w, h), f"{lx.shape[3]}x{lx.shape[2]}", ms


def working_scales(a, model_at, onnx_fn, fidelity, l8, r8, gt, lb, sg):
    """The --scales table: the model at each working scale on the motorcycle pair, and its
    network time on the speed table's 1242x375 frame `lb` at that scale against SGBM
    (element settings) on the frame itself, `sg` ms, in the same run."""
    print()
    print("Working scale: the model on the motorcycle pair at each scale, and the network on a 1242x375 "
          "frame at that scale next to SGBM with the `disparity` element's settings on the whole frame:")
    print()
    print("| working scale | EPE (px) | bad-1 (%) | bad-3 (%) | fidelity near / far (dB) | padded input | network (ms) | network / SGBM |")
    print("|---|---|---|---|---|---|---|---|")
    out = []
    for scale in (float(v) for v in a.scales.split(",")):
        d = model_at(scale)(l8, r8)
        m, f = metrics(d, gt), fidelity(d)
        _, padded, ms = network_time(onnx_fn, lb, scale, a.repeat)
        out.append({"scale": scale, **m, "fidelity": f, "ms": ms, "sgbm_ms": sg})
        print(f"| {scale:g} | {m['epe']:.2f} | {m['bad1']:.1f} | {m['bad3']:.1f} | {f['near']['psnr']:.2f} / "
              f"{f['far']['psnr']:.2f} | {padded} | {ms:.0f} | {ms / sg:.2f} |", flush=True)
    print()
    print(f"SGBM with the element's settings on the 1242x375 frame: {sg:.0f} ms.")
    return out


if __name__ == "__main__":
    main()
