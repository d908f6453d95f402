"""StereoNet-style disparity network (SteReFo paper section 3.1, DESIGN.md model contract).

left, right: [B, 3, H, W] RGB in [0, 1], H and W multiples of 32.
Output (eval): left-view disparity [B, 1, H, W] in pixels of the input, >= 0.

* Each image is normalised by its own mean and std inside the network (no normalisation
  layers anywhere: they made the CPU probe worse and cost time).
* Shared-weight feature tower: three stride-2 3x3 convolutions to 1/8, residual blocks.
* Cost volume at 1/8 over 18 disparity bins (0..17, i.e. 0..136 px at input resolution):
  cosine correlation in channel groups, filtered by a few 3D convolutions, plus a learned
  1x1x1 skip of the raw correlation.
* Soft-argmin (paper eq. 1): d = sum_d d * softmax(-C(d)).
* Hierarchical refinement 1/8 -> 1/4 -> 1/2 -> 1: bilinear upsampling (disparity x2), then a
  small dilated residual conv net on [left image, disparity, right image warped by the
  disparity, |left - warped right|] predicts a residual; ReLU keeps the result >= 0.
  (The warped right image is this project's addition to the paper's image-guided
  refinement: it gives each stage a photometric signal for sub-pixel corrections.)
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

BINS = 18
STRIDE = 32  # callers pad H and W to a multiple of this
MAX_DISPARITY = (BINS - 1) * 8  # 136 px at input resolution, before refinement


def lrelu(x):
    return F.leaky_relu(x, 0.2)


class ResBlock(nn.Module):
    def __init__(self, c, dil=1):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=dil, dilation=dil)
        self.c2 = nn.Conv2d(c, c, 3, padding=dil, dilation=dil)

    def forward(self, x):
        return lrelu(x + self.c2(lrelu(self.c1(x))))


def normalise(img):
    m = img.mean(dim=(1, 2, 3), keepdim=True)
    v = ((img - m) ** 2).mean(dim=(1, 2, 3), keepdim=True)
    return (img - m) / torch.sqrt(v + 1e-4)


class Tower(nn.Module):
    def __init__(self, c=32):
        super().__init__()
        self.d1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.d2 = nn.Conv2d(16, c, 3, stride=2, padding=1)
        self.r2 = ResBlock(c)
        self.d3 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.r3 = nn.Sequential(ResBlock(c, 1), ResBlock(c, 2), ResBlock(c, 1))
        self.out = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        x = lrelu(self.d1(x))
        x = self.r2(lrelu(self.d2(x)))
        x = self.r3(lrelu(self.d3(x)))
        return self.out(x)


class Refine(nn.Module):
    """Residual refinement of an upsampled disparity, guided by the left image and the
    right image warped by the current disparity."""

    def __init__(self, c, dilations):
        super().__init__()
        self.inp = nn.Conv2d(3 + 1 + 3 + 1, c, 3, padding=1)
        self.blocks = nn.Sequential(*[ResBlock(c, d) for d in dilations])
        self.out = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, disp, left, right, unit):
        # disp in pixels of this level; `unit` = pixels of this level per 1/8 pixel
        # horizontal warp of the right image to the left view: sample right at x - d.
        # Pixel coordinates are built from the tensor itself (cumsum of ones) so the ONNX
        # graph stays valid for any H and W.
        ones = torch.ones_like(disp)
        xs = ones.cumsum(dim=3) - 1.0
        ys = ones.cumsum(dim=2) - 1.0
        wmax = xs[:, :, :, -1:]
        hmax = ys[:, :, -1:, :]
        gx = (xs - disp) * 2.0 / wmax - 1.0
        gy = ys * 2.0 / hmax - 1.0
        grid = torch.cat([gx, gy], dim=1).permute(0, 2, 3, 1)
        warped = F.grid_sample(right, grid, mode="bilinear", padding_mode="border", align_corners=True)
        err = (left - warped).abs().mean(dim=1, keepdim=True)
        x = torch.cat([left, disp * (0.25 / unit), warped, err], dim=1)
        r = self.out(self.blocks(lrelu(self.inp(x))))
        return F.relu(disp + r * unit)


class StereoNet(nn.Module):
    def __init__(self, feat=32, groups=8, cv_ch=16):
        super().__init__()
        self.groups = groups
        self.tower = Tower(feat)
        self.cv = nn.Sequential(
            nn.Conv3d(groups, cv_ch, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(cv_ch, cv_ch, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(cv_ch, cv_ch, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(cv_ch, 1, 3, padding=1),
        )
        self.skip = nn.Conv3d(groups, 1, 1)
        self.ref4 = Refine(16, (1, 2, 4))
        self.ref2 = Refine(16, (1, 2))
        self.ref1 = Refine(8, (1,))

    def cost_volume(self, fl, fr):
        B, C, H, W = fl.shape
        G = self.groups
        fl = F.normalize(fl.reshape(B, G, C // G, H, W), dim=2)
        fr = F.normalize(fr.reshape(B, G, C // G, H, W), dim=2)
        frp = F.pad(fr, (BINS - 1, 0))
        vols = []
        for d in range(BINS):
            s = BINS - 1 - d  # columns [s, s + W) of the padded map, via constant slices
            sl = frp[..., s:] if d == 0 else frp[..., s:-d]
            vols.append((fl * sl).sum(dim=2))
        return torch.stack(vols, dim=2)  # [B, G, D, H, W]

    def forward(self, left, right, all_scales: bool = False):
        ln = normalise(left)
        rn = normalise(right)
        both = self.tower(torch.cat([ln, rn], dim=0))
        B = left.shape[0]
        fl, fr = both[:B], both[B:]
        corr = self.cost_volume(fl, fr)
        cost = self.cv(corr) + self.skip(corr)  # [B, 1, D, H, W]; larger = better match
        # paper eq. 1 with C = -score: soft-argmin over bins 0..17
        prob = F.softmax(cost[:, 0], dim=1)
        idx = torch.arange(BINS, dtype=prob.dtype, device=prob.device).view(1, BINS, 1, 1)
        d8 = (prob * idx).sum(dim=1, keepdim=True)  # disparity in 1/8-resolution pixels
        outs = [d8 * 8.0]
        d = d8
        unit = 1.0
        for ref, scale in ((self.ref4, 4), (self.ref2, 2), (self.ref1, 1)):
            d = F.interpolate(d, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
            unit = unit * 2.0
            if scale > 1:
                li = F.avg_pool2d(ln, scale)
                ri = F.avg_pool2d(rn, scale)
            else:
                li, ri = ln, rn
            d = ref(d, li, ri, unit)
            outs.append(d * float(scale))
        if all_scales:
            return outs  # each in pixels of the input, at 1/8, 1/4, 1/2, 1 resolution
        return outs[-1]


def count_params(m):
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    import time

    torch.set_num_threads(2)
    m = StereoNet().eval()
    print("params", count_params(m))
    for H, W in ((192, 640), (384, 1248)):
        x = torch.rand(1, 3, H, W)
        with torch.no_grad():
            m(x, x)
            t = time.time()
            y = m(x, x)
            print(H, W, y.shape, f"{(time.time() - t) * 1000:.0f} ms torch")
