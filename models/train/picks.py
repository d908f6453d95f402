"""Plans of hand-made pick steps (`model.parse_picks`) tried on a trained network without
retraining it (the picks have no weights): the network's learned stages run once on the
motorcycle pair, at full and half resolution, and on the 32 synthetic validation scenes of
train.py; each plan then runs on the stored 1/2 estimates, with the network's own
upsampling. Prints, per plan: synthetic EPE / bad-3, the pair's EPE, bad-1, bad-3,
half-resolution EPE and bad-3, EPE on its occluded pixels, in the bands around its depth
edges and on flat areas, and the refocus fidelity near / far (evaluate.py's). How versions
4 and 5's picks were chosen (CAMPAIGN.md).

    python models/train/picks.py [--ckpt variants/a1.pt] PLAN [PLAN ...]

A plan is HALF or HALF/FULL: the steps at the end of the 1/2 stage and after the upsampling
to full resolution, each in `model.parse_picks`' notation ("none" for no step), e.g.
version 4's p4,p4,p4,r9 and version 5's p16@0.05,p8@0.05,p4@0.05,p2@0.05,r9,o/r9.
"""

from __future__ import annotations

import argparse
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
from common import metrics, motorcycle, run_scaled  # noqa: E402
from evaluate import Fidelity  # noqa: E402
from export import load_net  # noqa: E402
from regions import regions  # noqa: E402
from train import make_val_set  # noqa: E402


class Stored:
    """The learned stages' outputs for a batch, kept: what the plans run on. With
    `at_half`, the learned stages run on the half-size pair (2x2 means), their 1/2 estimate
    upsampled to the pair's 1/2 level, and the plans on the pair as ever (`--learned-at-half`)."""

    def __init__(self, net, left, right, at_half=False):
        self.net = net
        with torch.no_grad():
            if not at_half:
                _, _, self.d2, self.h2, self.matched = net.learned(left, right)
                return
            _, _, d2, self.h2, _ = net.learned(F.avg_pool2d(left, 2), F.avg_pool2d(right, 2))
            self.d2 = F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
            (full_l, _, luma_l, _), (full_r, _, luma_r, _) = (M.normalised_view(v, net.luma) for v in (left, right))
            self.matched = ((luma_l, luma_r), (full_l, full_r))

    @torch.no_grad()
    def apply(self, plan):
        half, _, full = plan.partition("/")
        steps = [M.parse_picks(half), M.parse_picks(full)]
        return self.net.finish(self.d2, self.h2, self.matched, *steps)[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "variants", "a1.pt"))
    ap.add_argument("--learned-at-half", action="store_true",
                    help="the learned stages on the half-size pair, the plans on the pair (at 1/2 and full "
                         "resolution as ever): a quarter of their cost; inputs padded to 2 x the stride")
    ap.add_argument("plans", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(2)
    net = load_net(a.ckpt, half_picks="", full_picks="")
    left, right, gt = motorcycle()
    fidelity = Fidelity(left, gt)
    g, masks = regions(gt)

    def capture_pair(scale):  # run_scaled's padding and resizing; the output is not used
        kept = {}

        def network(x, y):
            kept["stored"] = Stored(net, torch.from_numpy(x), torch.from_numpy(y), a.learned_at_half)
            return np.zeros((1, 1) + x.shape[2:], np.float32)

        run_scaled(network, left, right, scale, stride=M.STRIDE * (2 if a.learned_at_half else 1))
        return kept["stored"]

    pair = {scale: capture_pair(scale) for scale in (1.0, 0.5)}
    val = make_val_set(32, 192, 384)
    scenes = [Stored(net, val[0][i:i + 4], val[1][i:i + 4], a.learned_at_half) for i in range(0, 32, 4)]
    H, W = left.shape[:2]
    print("| plan | synthetic EPE / bad-3 | EPE | bad-1 | bad-3 | half res EPE / bad-3 | occluded / edge band / flat EPE | fidelity near / far |")
    print("|---|---|---|---|---|---|---|---|")
    for plan in a.plans:
        errors = torch.cat([(s.apply(plan) - val[2][i:i + 4]).abs().flatten() for s, i in zip(scenes, range(0, 32, 4))])
        full = pair[1.0].apply(plan).numpy()[0, 0, :H, :W]
        h, w = int(round(H * 0.5)), int(round(W * 0.5))
        half = cv2.resize(pair[0.5].apply(plan).numpy()[0, 0, :h, :w], (W, H), interpolation=cv2.INTER_LINEAR) * 2.0
        m, mh, f = metrics(full, gt), metrics(half, gt), fidelity(full)
        where = " / ".join(f"{float(np.abs(full - g)[masks[k]].mean()):.2f}" for k in ("occluded", "edge band", "flat"))
        print(f"| {plan} | {float(errors.mean()):.3f} / {float((errors > 3).float().mean() * 100):.1f} | {m['epe']:.3f} | "
              f"{m['bad1']:.1f} | {m['bad3']:.1f} | {mh['epe']:.3f} / {mh['bad3']:.1f} | {where} | "
              f"{f['near']['psnr']:.2f} / {f['far']['psnr']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
