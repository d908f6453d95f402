"""Disparity network v2 (SteReFo paper section 3.1, DESIGN.md model contract).

left, right: [B, 3, H, W] RGB in [0, 1], H and W multiples of 32.
Output (eval): left-view disparity [B, 1, H, W] in pixels of the input, >= 0.

A StereoNet-style coarse-to-fine network rebuilt for generalisation from synthetic data and
for ONNX Runtime's CPU provider (only 2D convolutions, no GridSample; see MODEL_CARD.md):

1. Matching inputs. A shared feature tower on each view normalised by its own mean and std
   (1/2 -> 1/4 -> 1/8), and a *census transform* of the luma (5x5 window, 24 soft bits
   `tanh((I(q) - I(p)) / tau)`, tau learned): a hand-crafted, domain-invariant matching
   cost that is indifferent to exposure and white balance. Luma only for the census, so
   a grey pair (R = G = B) gives the same census as a colour one.
2. Cost volume at 1/8 over BINS disparities (0..192 px at the input resolution): cosine
   correlation of the learned features in groups, plus one census group (mean product of
   the soft bits = 1 - 2 x Hamming distance / 24 for hard bits).
3. 2D aggregation, disparities as channels (MobileStereoNet / LightStereo): a small U-Net
   over 1/8, 1/16, 1/32 on [correlations, left context], output C(d) per bin plus a learned
   skip of the raw correlations; soft-argmin (paper eq. 1): d = sum_d d softmax_d(-C(d)).
4. 1/4: the right view's features and census are warped horizontally by the upsampled
   disparity (two GatherElements and a lerp instead of GridSample), shifted by -2..2 px
   (1/4 pixels), correlated again with the left, and a residual net predicts a correction.
5. 1/2: image-guided residual refinement on [left, disparity, warped right, |left - warped
   right|] (the paper's hierarchical refinement, plus the photometric error).
6. Full resolution: bilinear x2 (values x2), kept >= 0 by ReLU.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

BINS = 25  # cost volume bins at 1/8: 0..24, i.e. 0..192 px at the input resolution
STRIDE = 32  # callers pad H and W to a multiple of this
MAX_DISPARITY = (BINS - 1) * 8  # 192 px at input resolution, before refinement
GROUPS = 4  # cosine-correlation groups of the learned 1/8 features
LOCAL_OFFSETS = (-2, -1, 0, 1, 2)  # 1/4-resolution pixels around the coarse estimate
CENSUS_RADIUS = 2  # 5x5 window, 24 bits
LUMA = (0.299, 0.587, 0.114)


def lrelu(x):
    return F.leaky_relu(x, 0.2)


def conv(cin, cout, k=3, stride=1, dil=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=dil * (k // 2), dilation=dil)


class ResBlock(nn.Module):
    def __init__(self, c, dil=1):
        super().__init__()
        self.c1 = conv(c, c, dil=dil)
        self.c2 = conv(c, c, dil=dil)

    def forward(self, x):
        return lrelu(x + self.c2(lrelu(self.c1(x))))


def normalise(img):
    """Per-image (per-sample) zero mean, unit variance over pixels and channels.
    Written as one scale and one offset (x * k - m * k) with Mul for the square: ONNX
    Runtime's Pow, Sub and Div each cost a full-resolution pass."""
    m = img.mean(dim=(1, 2, 3), keepdim=True)
    c = img - m
    k = torch.rsqrt((c * c).mean(dim=(1, 2, 3), keepdim=True) + 1e-4)
    return img * k - m * k


def pixel_columns(like):
    """x coordinate of every pixel of `like` [B, 1, H, W], built from the tensor itself
    (cumsum of ones), so the ONNX graph stays valid for any H and W."""
    return torch.ones_like(like).cumsum(dim=3) - 1.0


def warp_horizontal(x, disp):
    """x [B, C, H, W] sampled at (u - disp(u, v), v), bilinear, border clamped: the right
    view seen from the left. disp [B, 1, H, W] in pixels of this level."""
    xs = pixel_columns(disp)
    wmax = xs[:, :, :, -1:]
    pos = torch.minimum(torch.clamp(xs - disp, min=0.0), wmax)
    p0 = torch.floor(pos)
    frac = pos - p0
    p1 = torch.minimum(p0 + 1.0, wmax)
    C = x.shape[1]
    i0 = p0.long().expand(-1, C, -1, -1)
    i1 = p1.long().expand(-1, C, -1, -1)
    return torch.gather(x, 3, i0) * (1.0 - frac) + torch.gather(x, 3, i1) * frac


def shift_right(x, k):
    """y(u) = x(u - k) for an integer k (either sign), border replicated."""
    if k == 0:
        return x
    if k > 0:
        return torch.cat([x[..., :1].expand(-1, -1, -1, k), x[..., :-k]], dim=3)
    return torch.cat([x[..., -k:], x[..., -1:].expand(-1, -1, -1, -k)], dim=3)


def correlation_volume(fl, fr, bins, groups):
    """Mean product per channel group for disparities 0..bins-1: [B, groups * bins, H, W],
    group-major. Right columns beyond the left border are zero (no match)."""
    B, C, H, W = fl.shape
    cg = C // groups
    frp = F.pad(fr, (bins - 1, 0))
    vols = []
    for d in range(bins):
        s = bins - 1 - d  # columns [s, s + W) of the padded map, via constant slices
        sl = frp[..., s:] if d == 0 else frp[..., s:-d]
        vols.append((fl * sl).reshape(B, groups, cg, H, W).mean(dim=2))
    return torch.stack(vols, dim=2).reshape(B, groups * bins, H, W)


def local_correlation(fl, fr_warped, groups):
    """Correlation with the warped right view at LOCAL_OFFSETS: [B, groups * n, H, W]."""
    B, C, H, W = fl.shape
    out = []
    for k in LOCAL_OFFSETS:
        out.append((fl * shift_right(fr_warped, k)).reshape(B, groups, C // groups, H, W).mean(dim=2))
    return torch.cat(out, dim=1)


class Census(nn.Module):
    """Soft census transform of a one-channel image: 24 maps tanh((I(q) - I(p)) / tau)
    for the 24 neighbours q of p in a 5x5 window (zero padding at the borders)."""

    def __init__(self, radius=CENSUS_RADIUS, tau=0.15):
        super().__init__()
        k = 2 * radius + 1
        w = torch.zeros(k * k - 1, 1, k, k)
        j = 0
        for y in range(k):
            for x in range(k):
                if (y, x) == (radius, radius):
                    continue
                w[j, 0, y, x] = 1.0
                w[j, 0, radius, radius] = -1.0
                j += 1
        self.register_buffer("weight", w)
        self.radius = radius
        self.log_tau = nn.Parameter(torch.tensor(float(tau)).log())

    def forward(self, g):
        diff = F.conv2d(g, self.weight, padding=self.radius)
        return torch.tanh(diff * torch.exp(-self.log_tau))


class Tower(nn.Module):
    """Shared feature tower: 1/4 features (24 ch) for the local stage, 1/8 matching
    features (32 ch)."""

    def __init__(self):
        super().__init__()
        self.d1 = conv(3, 16, stride=2)
        self.d2 = conv(16, 24, stride=2)
        self.d3 = conv(24, 32, stride=2)
        self.r3 = ResBlock(32)

    def forward(self, x):
        x = lrelu(self.d1(x))
        f4 = lrelu(self.d2(x))
        f8 = self.r3(lrelu(self.d3(f4)))
        return f4, f8


class Aggregation(nn.Module):
    """2D U-Net over the cost volume (disparities as channels): 1/8 -> 1/16 -> 1/32 and back."""

    def __init__(self, cin, bins, c=(32, 48, 64)):
        super().__init__()
        self.inp = conv(cin, c[0], k=1)
        self.a1 = conv(c[0], c[0])
        self.down2 = conv(c[0], c[1], stride=2)
        self.b2 = ResBlock(c[1])
        self.down3 = conv(c[1], c[2], stride=2)
        self.b3 = ResBlock(c[2])
        self.up2 = conv(c[2], c[1])
        self.m2 = conv(c[1], c[1])
        self.up1 = conv(c[1], c[0])
        self.m1 = conv(c[0], c[0])
        self.out = conv(c[0], bins)
        self.skip = conv(cin, bins, k=1)

    def forward(self, x):
        s1 = lrelu(self.a1(lrelu(self.inp(x))))
        s2 = self.b2(lrelu(self.down2(s1)))
        s3 = self.b3(lrelu(self.down3(s2)))
        u2 = lrelu(self.up2(F.interpolate(s3, scale_factor=2.0, mode="bilinear", align_corners=False)) + s2)
        u2 = lrelu(self.m2(u2))
        u1 = lrelu(self.up1(F.interpolate(u2, scale_factor=2.0, mode="bilinear", align_corners=False)) + s1)
        u1 = lrelu(self.m1(u1))
        return self.out(u1) + self.skip(x)


class LocalStage(nn.Module):
    """1/4 resolution: residual from local correlations around the upsampled estimate."""

    def __init__(self, c=16):
        super().__init__()
        n = len(LOCAL_OFFSETS)
        self.inp = conv(2 * n + 1 + 24, c)
        self.block = ResBlock(c, 2)
        self.out = conv(c, 1)

    def forward(self, d4, f4l, f4r, c4l, c4r):
        fw = warp_horizontal(torch.cat([f4r, c4r], dim=1), d4)
        corr_f = local_correlation(F.normalize(f4l, dim=1), F.normalize(fw[:, :24], dim=1), 1)
        corr_c = local_correlation(c4l, fw[:, 24:], 1)
        x = torch.cat([corr_f, corr_c, d4 * (1.0 / 32.0), f4l], dim=1)
        return F.relu(d4 + self.out(self.block(lrelu(self.inp(x)))))


class GuidedStage(nn.Module):
    """Image-guided residual refinement (paper 3.1) with the photometric error."""

    def __init__(self, c=8):
        super().__init__()
        self.inp = conv(3 + 1 + 3 + 1, c)
        self.block = ResBlock(c)
        self.out = conv(c, 1)

    def forward(self, d, left, right, unit):
        warped = warp_horizontal(right, d)
        err = (left - warped).abs().mean(dim=1, keepdim=True)
        x = torch.cat([left, d * (0.25 / unit), warped, err], dim=1)
        return F.relu(d + self.out(self.block(lrelu(self.inp(x)))) * unit)


class StereoNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1))
        self.tower = Tower()
        self.census = Census()
        self.context = conv(32, 16, k=1)
        self.aggregate = Aggregation(GROUPS * BINS + BINS + 16, BINS)
        self.local = LocalStage()
        self.guided = GuidedStage()

    def forward(self, left, right, all_scales: bool = False):
        B = left.shape[0]
        both = torch.cat([left, right], dim=0)
        norm = normalise(both)
        f4, f8 = self.tower(norm)
        # census on the luma at 1/4 (area-averaged), and its 2x2 mean at 1/8
        luma = normalise((both * self.luma).sum(dim=1, keepdim=True))
        c4 = self.census(F.avg_pool2d(luma, 4))
        c8 = F.avg_pool2d(c4, 2)
        f8n = F.normalize(f8.reshape(2 * B, GROUPS, 32 // GROUPS, *f8.shape[2:]), dim=2).reshape(f8.shape)
        corr = torch.cat([
            correlation_volume(f8n[:B], f8n[B:], BINS, GROUPS) * float(32 // GROUPS),
            correlation_volume(c8[:B], c8[B:], BINS, 1),
            lrelu(self.context(f8[:B])),
        ], dim=1)
        cost = self.aggregate(corr)  # [B, BINS, H/8, W/8], larger = better match (= -C)
        prob = F.softmax(cost, dim=1)
        idx = torch.arange(BINS, dtype=prob.dtype, device=prob.device).view(1, BINS, 1, 1)
        d8 = (prob * idx).sum(dim=1, keepdim=True)  # 1/8-resolution pixels
        d4 = F.interpolate(d8, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
        d4 = self.local(d4, f4[:B], f4[B:], c4[:B], c4[B:])
        d2 = F.interpolate(d4, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
        d2 = self.guided(d2, F.avg_pool2d(norm[:B], 2), F.avg_pool2d(norm[B:], 2), 2.0)
        d1 = F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
        if all_scales:
            return [d8 * 8.0, d4 * 4.0, d2 * 2.0, d1]  # input pixels at 1/8, 1/4, 1/2, 1
        return d1


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
