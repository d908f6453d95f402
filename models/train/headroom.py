"""How much a change at the 1/2 stage could gain at most, on the motorcycle pair: oracles that
pick with the ground truth what a part of the network would have to pick by itself. They
decide which part is worth building and training (CAMPAIGN.md).

    python models/train/headroom.py [CHECKPOINT]     # default: variants/a1.pt, the shipped weights

- occlusion fill: the occluded pixels (known from the ground truth) take the smallest
  1/2-stage estimate within k pixels to their left, the background's if the estimate
  there is right (what an occlusion fill could do at best, given a perfect occlusion
  mask; the campaign's `OcclusionFill` shut its gate and was dropped);
- propagation: each pixel takes the best of its own 1/2-stage estimate and those of its
  neighbours at `Propagation.OFFSETS` (or every 1/2 pixel up to 4 away), each upsampled by
  the network's own convex upsampling (what `Propagation` can do at best), and the same
  picked by a hand-made matching cost instead (a 7x7 census of the luma, correlated over
  5x5) to show what an untrained choice gets;
- the evidence `Propagation` sees, at 1/2: the same candidates picked by a 3x3 census
  correlation of one pixel, and averaged over 5x5 (its `AGGREGATE`), once and iterated
  (each iteration's candidates the previous pick's neighbours: PatchMatch's iterations,
  what `propagate2` adds).
EPE over the valid pixels at full resolution.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as M  # noqa: E402
from common import motorcycle, pad_to_stride  # noqa: E402
from export import load_net  # noqa: E402
from regions import regions  # noqa: E402


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


@torch.no_grad()
def main():
    torch.set_num_threads(2)
    net = load_net(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "variants", "a1.pt"))
    left, right, gt = motorcycle()
    lp, (h, w) = pad_to_stride(left)
    rp, _ = pad_to_stride(right)
    x, y = nchw(lp), nchw(rp)
    seen = {}
    upsample = net.guided.up.forward

    def keep(d, features):  # the 1/2-stage estimate and the features the upsampling uses
        seen.update(d2=d, h2=features)
        return upsample(d, features)

    net.guided.up.forward = keep
    d1 = net(x, y)
    g, masks = regions(gt)
    valid = masks["occluded"] | masks["edge band"] | masks["flat"]
    gt_t = torch.from_numpy(g.astype(np.float32))

    def epe(full):
        return float((full[0, 0, :h, :w] - gt_t).abs()[torch.from_numpy(valid)].mean())

    occluded = torch.from_numpy(masks["occluded"])
    d2, h2 = seen["d2"], seen["h2"]
    print(f"the network: EPE {epe(d1):.2f} px; on the occluded pixels ({100 * masks['occluded'].sum() / valid.sum():.1f}%) "
          f"{float((d1[0, 0, :h, :w] - gt_t).abs()[occluded].mean()):.2f} px")
    for k in (4, 8, 16, 32):
        smallest = -F.max_pool2d(F.pad(-d2, (k, 0, 0, 0), mode="replicate"), (1, k + 1), stride=1)
        fixed = torch.where(occluded, upsample(smallest, h2)[0, 0, :h, :w], d1[0, 0, :h, :w])
        print(f"occlusion fill, smallest within {k:2d} px (1/2) to the left: EPE {epe(fixed[None, None]):.2f} px, "
              f"occluded {float((fixed - gt_t).abs()[occluded].mean()):.2f} px")
    census = M.Census(radius=3)
    census.log_tau.fill_(float(np.log(0.02)))
    luma = net.luma
    left_luma, right_luma = (x * luma).sum(1, keepdim=True), (y * luma).sum(1, keepdim=True)
    left_code = census(left_luma)

    def match(disparity):
        code = census(M.warp_horizontal(right_luma, disparity))
        return F.avg_pool2d((left_code * code).mean(dim=1, keepdim=True), 5, stride=1, padding=2)

    wide = [(0, k) for k in range(-4, 5)] + [(k, 0) for k in range(-4, 5) if k]
    for name, offsets in (("Propagation.OFFSETS", M.Propagation.OFFSETS), ("every 1/2 pixel to 4", wide)):
        ups = torch.cat([upsample(M.shift_down(M.shift_right(d2, dx), dy), h2) for dy, dx in offsets], 1)
        best = (ups[0, :, :h, :w] - gt_t).abs().min(0).values
        picked = torch.gather(ups, 1, torch.cat([match(ups[:, j:j + 1]) for j in range(len(offsets))], 1).argmax(1, keepdim=True))
        print(f"propagation, {len(offsets)} candidates ({name}): best {float(best[torch.from_numpy(valid)].mean()):.2f} px, "
              f"picked by census {epe(picked):.2f} px")

    half_census = M.Census(radius=1)
    half_census.log_tau.fill_(float(np.log(0.02)))
    half_left, half_right = (F.avg_pool2d(x, 2) * luma).sum(1, keepdim=True), (F.avg_pool2d(y, 2) * luma).sum(1, keepdim=True)

    def pick_half(d, window):
        candidates, _, score = M.candidate_matches(d, half_left, half_right, half_census, M.Propagation.OFFSETS)
        score = F.avg_pool2d(score, window, stride=1, padding=window // 2)
        return torch.gather(candidates, 1, score.argmax(1, keepdim=True))

    print(f"at 1/2, picked by a 3x3 census of one pixel: {epe(upsample(pick_half(d2, 1), h2)):.2f} px")
    d = d2
    for step in range(1, 4):
        d = pick_half(d, M.Propagation.AGGREGATE)
        print(f"at 1/2, picked by it averaged over {M.Propagation.AGGREGATE}x{M.Propagation.AGGREGATE}, iteration {step}: "
              f"{epe(upsample(d, h2)):.2f} px")


if __name__ == "__main__":
    main()
