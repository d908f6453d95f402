"""Plans of `CensusPick` steps tried on a trained network without retraining it (the picks
have no weights): the network runs once to the end of its 1/2 stage (its learned parts
included) on the motorcycle pair, at full and half resolution, and on the 32 synthetic
validation scenes of train.py; each plan then runs on the stored estimates and the
network's own convex upsampling. Prints, per plan: synthetic EPE / bad-3, the pair's EPE,
bad-1, bad-3, half-resolution EPE and bad-3, EPE on its occluded pixels, and the refocus
fidelity near / far (evaluate.py's). How version 4's picks were chosen (CAMPAIGN.md).

    python models/train/picks.py [--ckpt variants/a1.pt] PLAN [PLAN ...]

A plan is comma-separated steps, each optionally followed by @TEMPERATURE:
  pK   propagation over the pixel and its 4 neighbours K 1/2 pixels away (CensusPick.CROSS is p4)
  p9   propagation over Propagation.OFFSETS (9 candidates at 2 and 4; version 3 was p9,p9)
  rW   refinement by CensusPick.REFINE, the score averaged over W x W (version 4: p4,p4,p4,r9)
"none" is the network alone.
"""

from __future__ import annotations

import argparse
import os
import sys

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
from common import metrics, motorcycle, run_scaled  # noqa: E402
from evaluate import Fidelity  # noqa: E402
from export import load_net  # noqa: E402
from regions import regions  # noqa: E402
from train import make_val_set  # noqa: E402


def parse_plan(text):
    """The CensusPick modules of a plan (see the module's doc)."""
    steps = []
    for item in text.split(",") if text != "none" else []:
        name, _, temperature = item.partition("@")
        if name == "p9":
            step = M.CensusPick(offsets=M.Propagation.OFFSETS)
        elif name.startswith("p"):
            k = int(name[1:])
            step = M.CensusPick(offsets=((0, 0), (0, -k), (0, k), (-k, 0), (k, 0)))
        elif name.startswith("r"):
            step = M.CensusPick(deltas=M.CensusPick.REFINE, window=int(name[1:] or M.Propagation.AGGREGATE))
        else:
            raise ValueError(f"unknown step {item!r}")
        if temperature:
            step.TEMPERATURE = float(temperature)
        steps.append(step)
    return steps


class Stored:
    """The network's 1/2-stage estimates (after any learned parts) with what the picks and
    the upsampling need: (d2, upsampling features, left luma, right luma) per input."""

    def __init__(self, net):
        self.net, self.last = net, None
        guided, upsample = net.guided.forward, net.guided.up.forward
        lumas = {}

        def guided_kept(d, left, left_luma, right_luma, unit):
            lumas["now"] = (left_luma, right_luma)
            return guided(d, left, left_luma, right_luma, unit)

        def upsample_kept(d, h):
            self.last = (d, h) + lumas["now"]
            return upsample(d, h)

        net.guided.forward = guided_kept
        net.guided.up.forward = upsample_kept
        self.upsample = upsample

    @torch.no_grad()
    def capture(self, left, right):
        self.net(left, right)
        return self.last

    @torch.no_grad()
    def apply(self, steps, stored):
        d, h, left_luma, right_luma = stored
        for step in steps:
            d = step(d, left_luma, right_luma)
        return self.upsample(d, h)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "variants", "a1.pt"))
    ap.add_argument("plans", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(2)
    net = load_net(a.ckpt, pick_steps=0)
    stored = Stored(net)
    left, right, gt = motorcycle()
    fidelity = Fidelity(left, gt)
    g, masks = regions(gt)

    def capture_pair(scale):  # run_scaled's padding and resizing; the output is not used
        kept = {}

        def network(x, y):
            kept["stored"] = stored.capture(torch.from_numpy(x), torch.from_numpy(y))
            return np.zeros((1, 1) + x.shape[2:], np.float32)

        run_scaled(network, left, right, scale)
        return kept["stored"]

    pair = {scale: capture_pair(scale) for scale in (1.0, 0.5)}
    val = make_val_set(32, 192, 384)
    scenes = [stored.capture(val[0][i:i + 4], val[1][i:i + 4]) for i in range(0, 32, 4)]
    H, W = left.shape[:2]
    print("| plan | synthetic EPE / bad-3 | EPE | bad-1 | bad-3 | half res EPE / bad-3 | occluded EPE | fidelity near / far |")
    print("|---|---|---|---|---|---|---|---|")
    for plan in a.plans:
        steps = parse_plan(plan)
        errors = torch.cat([(stored.apply(steps, s) - val[2][i:i + 4]).abs().flatten()
                            for s, i in zip(scenes, range(0, 32, 4))])
        full = stored.apply(steps, pair[1.0]).numpy()[0, 0, :H, :W]
        h, w = int(round(H * 0.5)), int(round(W * 0.5))
        half = cv2.resize(stored.apply(steps, pair[0.5]).numpy()[0, 0, :h, :w], (W, H), interpolation=cv2.INTER_LINEAR) * 2.0
        m, mh, f = metrics(full, gt), metrics(half, gt), fidelity(full)
        occluded = float(np.abs(full - g)[masks["occluded"]].mean())
        print(f"| {plan} | {float(errors.mean()):.3f} / {float((errors > 3).float().mean() * 100):.1f} | {m['epe']:.3f} | "
              f"{m['bad1']:.1f} | {m['bad3']:.1f} | {mh['epe']:.3f} / {mh['bad3']:.1f} | {occluded:.2f} | "
              f"{f['near']['psnr']:.2f} / {f['far']['psnr']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
