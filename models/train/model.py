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
3. Cost aggregation by (2+1)D blocks: a 3x3 spatial convolution shared by all bins, then a
   3-tap convolution along the bins (disparity-equivariant like StereoNet's 3D
   convolutions, at 12 of 27 taps; a 2D U-Net with disparities as channels learned
   less steadily in a first comparison, see MODEL_CARD.md), the left context added to
   every bin, plus a per-bin skip of the raw costs that starts as their winner-take-all;
   soft-argmin (paper eq. 1): d = sum_d d softmax_d(-C(d)).
4. 1/4: the right view's features and census are warped horizontally by the upsampled
   disparity (two GatherElements and a lerp instead of GridSample), shifted by -2..2 px
   (1/4 pixels), correlated again with the left, and a residual net predicts a correction
   (a network may leave this stage out, `PARTS`: the 1/4 estimate is then the 1/8 one
   upsampled).
5. 1/2: image-guided residual refinement on [left, disparity, warped right luma, |left -
   warped right| at -2..2 px, correlations of 3x3 census codes at -2..2 px] (the paper's
   hierarchical refinement, plus the photometric errors and the correlations).
   Then each pixel may take a neighbour's disparity, chosen by how well it matches
   (`Propagation`, PatchMatch's propagation step, learned; in the campaign's checkpoints,
   not in the shipped model), and, hand-made, a global search along the rows with a
   left-right check (`CensusSearch`), PatchMatch's propagation and refinement steps
   chosen by matching census codes (`CensusPick`) and an occlusion fill
   (`OcclusionFill`): the plan `half_picks`.
6. Full resolution: a learned convex x2 upsampling (values x2) from the 1/2 stage's
   features (RAFT), which started as bilinear (or, without that part, bilinear: version
   6); then the plan `full_picks` (versions 5 and 6: one refinement).
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


def image_statistics(img):
    """Per-image (per-sample) mean m and 1 / standard deviation k over pixels and
    channels, so that img * k - m * k has zero mean and unit variance."""
    m = img.mean(dim=(1, 2, 3), keepdim=True)
    c = img - m
    return m, torch.rsqrt((c * c).mean(dim=(1, 2, 3), keepdim=True) + 1e-4)


def normalise(img):
    m, k = image_statistics(img)
    return img * k - m * k


def normalised_view(img, luma):
    """A view [B, 3, H, W] normalised by statistics of its 1/4 image (cheaper than full
    resolution: the full-resolution frame is read by one pooling, one scale and one offset,
    and the first convolution): (the normalised image, its normalised 2x2 mean, that mean's
    luma, and the 4x4 mean as it is)."""
    half = F.avg_pool2d(img, 2)
    quarter = F.avg_pool2d(half, 2)
    m, k = image_statistics(quarter)
    half = half * k - m * k
    return img * k - m * k, half, (half * luma).sum(dim=1, keepdim=True), quarter


def inner(x, top, left, bottom=None, right=None):
    """x[..., top:-bottom, left:-right], the margins counted from the far ends (bottom,
    right: None for the same as top, left; `inner(p, 2, 2)` is p without a padding of 2):
    constant slices in the ONNX graph, where `x[..., a:a + W]` of a traced width W needs
    shape arithmetic, several nodes per slice (2000 of the 5700 in version 8)."""
    bottom = top if bottom is None else bottom
    right = left if right is None else right
    return x[..., top:(-bottom or None), left:(-right or None)]


def columns(x, left, right=None):
    """x[..., left:-right] along the last axis, constant slices (`inner`)."""
    return inner(x, 0, left, 0, right)


def pixel_columns(like):
    """x coordinate of every pixel of `like` [B, C, H, W], as [W] (broadcasts): a Range of
    the traced width, so the ONNX graph stays valid for any H and W (a cumsum of ones, as
    before, cost 4% of the network's time)."""
    return torch.arange(like.shape[-1], dtype=like.dtype, device=like.device)


def warp_horizontal(x, disp):
    """x [B, C, H, W] sampled at (u - disp(u, v), v), bilinear, border clamped: the right
    view seen from the left. disp [B, 1, H, W] in pixels of this level, or [B, C, H, W], a
    disparity per channel. Two GatherElements and a lerp: ONNX Runtime's GridSample is a
    slow generic kernel (and a flat Gather of all channels measured slower than this)."""
    xs = pixel_columns(disp[:, :1])
    wmax = xs[-1:]
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


def shift_down(x, k):
    """y(v) = x(v - k) for an integer k (either sign), border replicated."""
    if k == 0:
        return x
    if k > 0:
        return torch.cat([x[..., :1, :].expand(-1, -1, k, -1), x[..., :-k, :]], dim=2)
    return torch.cat([x[..., -k:, :], x[..., -1:, :].expand(-1, -1, -k, -1)], dim=2)


def correlation_volume(fl, fr, bins, groups):
    """Mean product per channel group for disparities 0..bins-1: [B, groups, bins, H, W].
    Right columns beyond the left border are zero (no match)."""
    B, C, H, W = fl.shape
    cg = C // groups
    frp = F.pad(fr, (bins - 1, 0))
    vols = []
    for d in range(bins):
        sl = columns(frp, bins - 1 - d, d)  # columns [bins - 1 - d, bins - 1 - d + W)
        vols.append((fl * sl).reshape(B, groups, cg, H, W).mean(dim=2))
    return torch.stack(vols, dim=2)


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
        self.radius = radius
        self.register_buffer("weight", w)
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


class FactorisedBlock(nn.Module):
    """A (2+1)D residual block over a cost volume [B, C, BINS, H, W]: a 3x3 spatial
    convolution shared by all bins (kernel 1x3x3), then a 3-tap convolution along the bins
    (kernel 3x1x1). Equivariant in disparity like StereoNet's 3D convolutions, at 12 of
    their 27 taps per channel pair."""

    def __init__(self, c, dil=1):
        super().__init__()
        self.spatial = nn.Conv3d(c, c, (1, 3, 3), padding=(0, dil, dil), dilation=(1, dil, dil))
        self.bins = nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))

    def forward(self, x):
        return lrelu(x + self.bins(lrelu(self.spatial(x))))


class Aggregation(nn.Module):
    """Cost aggregation of the costs [B, Cv, BINS, H, W] by (2+1)D blocks (dilations 1, 2,
    4, 1), with the left context added to every bin. Output -C(d) [B, BINS, H, W]: the
    blocks' output plus a learned per-bin skip of the raw costs. The skip starts as the sum
    of the costs (winner-take-all of the raw cost) and the blocks' output at zero: with a
    random start instead, a first run learned far more slowly."""

    def __init__(self, cv, ctx, c=8, dilations=(1, 2, 4, 1)):
        super().__init__()
        self.inp = nn.Conv3d(cv, c, 1)
        self.ctx = conv(ctx, c, k=1)
        self.blocks = nn.Sequential(*[FactorisedBlock(c, d) for d in dilations])
        self.out = nn.Conv3d(c, 1, 1)
        self.skip = nn.Conv3d(cv, 1, 1)
        with torch.no_grad():
            self.out.weight.zero_()
            self.out.bias.zero_()
            self.skip.weight.fill_(2.0)
            self.skip.bias.zero_()

    def forward(self, costs, context):
        x = lrelu(self.inp(costs) + self.ctx(context).unsqueeze(2))
        return (self.out(self.blocks(x)) + self.skip(costs))[:, 0]


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
        # features and census correlated in one pass, as two groups: (offset, group) order
        fw = torch.cat([F.normalize(fw[:, :24], dim=1), fw[:, 24:]], dim=1)
        corr = local_correlation(torch.cat([F.normalize(f4l, dim=1), c4l], dim=1), fw, 2)
        n = len(LOCAL_OFFSETS)
        corr = corr.reshape(corr.shape[0], n, 2, *corr.shape[2:]).transpose(1, 2).reshape(corr.shape)
        x = torch.cat([corr, d4 * (1.0 / 32.0), f4l], dim=1)
        return F.relu(d4 + self.out(self.block(lrelu(self.inp(x)))))


class GuidedStage(nn.Module):
    """1/2 resolution: image-guided residual refinement (paper 3.1) on [left RGB,
    disparity, right luma warped by the disparity, |left luma - warped right luma|], and,
    around the estimate at LOCAL_OFFSETS, the other photometric errors and the
    correlations of a 3x3 census of the left luma with that of the warped right luma (the
    photometric errors and the correlations are this project's additions: they say whether
    the estimate is right and which way to move it). Only the luma is warped: the census
    of the warped luma is the warped census where the disparity is locally constant, at an
    eighth of the cost.

    Its features also give the weights of the learned upsampling to full resolution
    (`ConvexUpsample`), where it has one (`convex`)."""

    def __init__(self, c=8, convex=True):
        super().__init__()
        n = len(LOCAL_OFFSETS)
        self.census = Census(radius=1)
        # [left 3, d, warped, |error| at 0 (the first inputs), errors at the other offsets,
        # census correlations]
        self.inp = conv(3 + 1 + 1 + 1 + (n - 1) + n, c)
        self.block = ResBlock(c)
        self.out = conv(c, 1)
        self.up = ConvexUpsample(c) if convex else None

    def forward(self, d, left, left_luma, right_luma, unit):
        warped = warp_horizontal(right_luma, d)
        cl, cr = self.census(left_luma), self.census(warped)
        errors = [(left_luma - shift_right(warped, k)).abs() for k in LOCAL_OFFSETS if k != 0]
        corr = local_correlation(cl, cr, 1)
        x = torch.cat([left, d * (0.25 / unit), warped, (left_luma - warped).abs()] + errors + [corr], dim=1)
        h = self.block(lrelu(self.inp(x)))
        return F.relu(d + self.out(h) * unit), h


def neighbour_candidates(d, offsets, deltas=None):
    """PatchMatch's candidates for each pixel, [B, n, H, W], all in one tensor so that each
    operation runs once over them: the disparities of d [B, 1, H, W] at the pixel's
    neighbours `offsets` ((dy, dx), borders replicated), each plus its entry of `deltas`
    where given (a step of the pixel's own estimate: PatchMatch's refinement; clamped at 0)."""
    r = max(max(abs(dy), abs(dx)) for dy, dx in offsets)
    p = F.pad(d, (r, r, r, r), mode="replicate") if r else d
    c = torch.cat([inner(p, r - dy, r - dx, r + dy, r + dx) for dy, dx in offsets], dim=1)
    if deltas is not None:
        step = torch.tensor(deltas, dtype=d.dtype, device=d.device).view(1, -1, 1, 1)
        c = torch.clamp(c + step, min=0.0)
    return c


def candidate_matches(d, left_luma, right_luma, census, offsets):
    """`neighbour_candidates` at `offsets`, [B, n, H, W]; the right luma warped by each,
    [B, n, H, W]; and how well each matches: the correlation of `census` of the left luma
    with that of the warped right luma, [B, n, H, W]."""
    B, _, H, W = d.shape
    n = len(offsets)
    candidates = neighbour_candidates(d, offsets)
    warped = warp_horizontal(right_luma.expand(-1, n, -1, -1), candidates)
    codes = census(warped.reshape(B * n, 1, H, W)).reshape(B, n, -1, H, W)
    return candidates, warped, (census(left_luma).unsqueeze(1) * codes).mean(dim=2)


class Propagation(nn.Module):
    """1/2 resolution, after the guided refinement: each pixel may take the disparity of a
    neighbour (PatchMatch's propagation, learned). Near a depth edge the estimate is smeared
    across it while the right value lies a few pixels away, on the same surface (at
    iteration 22,149, picking per pixel the best of its own 1/2 estimate and those at OFFSETS
    would take the motorcycle pair's EPE from 2.35 to 1.33 px, picking by a hand-made
    census cost to 2.10: `headroom.py`).
    For each candidate, the neighbour's disparity at OFFSETS, the evidence: the correlation
    of a 3x3 census of the left luma with that of the right luma warped by the candidate,
    the photometric error, how far the candidate is from the pixel's own estimate, and the
    census correlation averaged over AGGREGATE x AGGREGATE pixels (one pixel's correlation
    is noise: at 43,689 a pick by the averaged one alone took the pair to 2.11 px, by the
    pixel's own to 2.25); with the left image a small net scores the candidates (softmax)
    and gates the move: d + g (sum_j softmax_j c_j - d). Applied twice (`propagate`,
    `propagate2`, their own weights), a disparity travels twice as far, as PatchMatch's
    iterations (the hand-made pick iterated: 2.24 -> 2.11 -> 2.03 px).

    Starts as the identity: the scores uniform (their convolution at zero), the gate
    g = 1e-5 (weights at zero, its bias just inside the clamp so gradients flow)."""

    OFFSETS = ((0, 0), (0, -4), (0, -2), (0, 2), (0, 4), (-4, 0), (-2, 0), (2, 0), (4, 0))  # (dy, dx)
    AGGREGATE = 5

    def __init__(self, c=8):
        super().__init__()
        n = len(self.OFFSETS)
        self.census = Census(radius=1)
        # [left 3, (census correlation, photometric error, distance) per candidate, the
        # averaged census correlations] (the last ones were added at 48,237: grow.py appends)
        self.inp = conv(3 + 4 * n, c)
        self.score = conv(c, n)
        self.gate = conv(c, 1)
        with torch.no_grad():
            for layer in (self.score, self.gate):
                layer.weight.zero_()
                layer.bias.zero_()
            self.gate.bias.fill_(1e-5)

    def forward(self, d, left, left_luma, right_luma, unit):
        B, _, H, W = d.shape
        n = len(self.OFFSETS)
        candidates, warped, correlation = candidate_matches(d, left_luma, right_luma, self.census, self.OFFSETS)
        evidence = torch.stack([correlation, (left_luma - warped).abs(), (candidates - d).abs() * (0.25 / unit)], dim=2)
        k = self.AGGREGATE
        averaged = F.avg_pool2d(correlation, k, stride=1, padding=k // 2, count_include_pad=False)
        h = lrelu(self.inp(torch.cat([left, evidence.reshape(B, 3 * n, H, W), averaged], dim=1)))
        # softmax over the candidates written out, as in ConvexUpsample
        w = torch.exp(torch.clamp(self.score(h), -30.0, 30.0))
        pick = (w * candidates).sum(dim=1, keepdim=True) / w.sum(dim=1, keepdim=True)
        gate = torch.clamp(self.gate(h), 0.0, 1.0)
        return d + gate * (pick - d)


CODE_MARGIN = 0.01  # in the normalised luma's standard deviations


def census_code(g):
    """The 8-bit census code of a normalised one-channel image [B, 1, H, W] (3x3 window,
    borders replicated): bit j is set where neighbour j is brighter than the pixel by more
    than CODE_MARGIN. As float, 0..255. The margin keeps flat areas' codes 0 whatever the
    rounding (a difference of exactly zero would otherwise set a bit or not by the last
    bit of the float arithmetic)."""
    p = F.pad(g, (1, 1, 1, 1), mode="replicate")
    code, bit = torch.zeros_like(g), 1.0
    for y in range(3):
        for x in range(3):
            if (y, x) != (1, 1):
                code = code + (inner(p, y, x, 2 - y, 2 - x) > g + CODE_MARGIN).to(g.dtype) * bit
                bit *= 2.0
    return code


NO_CODE = 256  # a left code that matches every right code by 0 (`CensusSearch`'s border rows)


def _code_match_table():
    """1 - 2 x (Hamming distance of codes a and b) / 8 at a * 256 + b: the census
    correlation of hard bits (1 = the same code, -1 = every bit differs); 0 for a = NO_CODE."""
    bits = torch.tensor([bin(v).count("1") for v in range(256)], dtype=torch.float32)
    a = torch.arange(256).view(-1, 1)
    return torch.cat([(1.0 - 2.0 * bits[a ^ a.view(1, -1)] / 8.0).flatten(), torch.zeros(256)])


def code_pairs(left_code, right_code):
    """The index of `_code_match_table` for the left codes (float, [B, 1, h, w]) against
    the right codes (int32, [B, n, h, w]): in int32, so that the only conversions are of
    the left codes and of the right codes before they are gathered or sliced into the
    volume (a Cast of the whole volume to int64 was a fifth of the search's time)."""
    return left_code.to(torch.int32) * 256 + right_code


class CensusPick(nn.Module):
    """PatchMatch with a hand-made choice, at the level it is given (1/2 or full resolution).
    Each pixel takes the candidates that match best by the census: the left pixel's 8-bit
    code against the right view's at the pixel the candidate points to (nearest), the match
    averaged over `window` pixels square; a softmax over those scores at `temperature`, no
    weights. The candidates are its own disparity and its neighbours' at `offsets`
    (propagation, `cross(k)`: 4 pixels away in version 4), or, with `deltas`, its own moved
    by each (refinement: REFINE, one pixel either way, the score averaged wider: a
    sub-pixel choice follows the sensor noise more). Iterated, a disparity travels as far
    as the offsets add up to (`parse_picks`' plans).

    Version 4 matched a soft census (tanh bits) of the right luma warped by each candidate
    (bilinear): the same choice (motorcycle pair, version 4's plan: 2.00 against 1.99 px,
    30.69 / 31.61 against 30.61 / 31.63 dB), at about a third of the time (two gathers per
    candidate instead of a warp, a convolution and a product over 8 bits)."""

    TEMPERATURE = 0.1
    REFINE = (-1.0, 0.0, 1.0)  # pixels of the level
    WINDOW = 5

    def __init__(self, offsets=None, deltas=None, window=WINDOW, temperature=TEMPERATURE):
        super().__init__()
        self.offsets = cross(4) if offsets is None else offsets
        if deltas is not None:
            self.offsets = ((0, 0),) * len(deltas)
        self.deltas = deltas
        self.window = window
        self.temperature = temperature
        self.register_buffer("table", _code_match_table(), persistent=False)

    def match(self, candidates, left_code, right_code):
        """How well each candidate matches, averaged over `window` pixels: [B, n, H, W]."""
        n, W = candidates.shape[1], candidates.shape[-1]
        column = torch.clamp(torch.round(pixel_columns(candidates[:, :1]) - candidates), 0.0, W - 1.0)
        right = torch.gather(right_code.to(torch.int32).expand(-1, n, -1, -1), 3, column.long())
        m = self.table[code_pairs(left_code, right)]
        k = self.window
        if k == 1:
            return m
        # separable: 2k reads per pixel instead of k^2, the same mean (zero padding, divided
        # by k each time)
        m = F.avg_pool2d(m, (1, k), stride=1, padding=(0, k // 2))
        return F.avg_pool2d(m, (k, 1), stride=1, padding=(k // 2, 0))

    def forward(self, d, left_code, right_code):
        c = neighbour_candidates(d, self.offsets, self.deltas)
        m = self.match(c, left_code, right_code)
        # softmax over the candidates written out, as in ConvexUpsample
        w = torch.exp((m - m.amax(dim=1, keepdim=True)) * (1.0 / self.temperature))
        return (w * c).sum(dim=1, keepdim=True) / w.sum(dim=1, keepdim=True)


def cross(k):
    """The pixel itself and its 4 neighbours k pixels away, (dy, dx)."""
    return ((0, 0), (0, -k), (0, k), (-k, 0), (k, 0))


def _nearest_valid(v, valid, direction, steps):
    """Along each row, the value of the nearest pixel with `valid` set, looking left
    (direction 1) or right (-1), at most 2^steps - 1 pixels away; inf where there is none.
    Doubling: after step s every pixel knows the nearest within 2^s - 1."""
    inf = torch.full_like(v, float("inf"))
    v = torch.where(valid, v, inf)
    k = 1
    for _ in range(steps):
        pad = inf[..., :k]
        shifted = torch.cat([pad, v[..., :-k]], dim=3) if direction > 0 else torch.cat([v[..., k:], pad], dim=3)
        v = torch.where(torch.isinf(v), shifted, v)
        k *= 2
    return v


class OcclusionFill(nn.Module):
    """The left view's occluded pixels, found and filled with the background. Each pixel
    claims the right view's pixel its disparity points to; where several claim the same one
    only the best match can be right (the uniqueness constraint): the others, and pixels
    pointing outside the right view, are occluded. The match is `CensusPick`'s (its census
    codes, averaged over WINDOW). Z-buffering the claims by disparity instead would trust
    the very values that are wrong here: an occluded pixel takes the nearer surface's
    disparity (foreground fattening) and its claim collides with the visible background's.
    Each occluded pixel then takes the farther (smaller) of the nearest unoccluded
    disparities to its left and right within REACH pixels, if smaller than its own: what
    the right camera does not see is background. A ScatterElements with max (ONNX opset 18)
    for the claims, doubling shifts for the fill.

    With `spread` (version 7: 16 at 1/2 resolution), an occluded run wider than one pixel
    takes the farthest visible disparity within `spread` pixels of its nearest visible
    pixels instead of theirs: the visible pixels next to an occlusion are often fattened
    foreground themselves (motorcycle pair: occluded pixels 7.60 -> 6.64 px, EPE 1.41 ->
    1.32). Runs of one pixel keep the nearest fill: most are rounding collisions of claims
    on slanted surfaces, and the farthest disparity within 16 pixels would carry the
    background into visible foreground edges (without the opening the edge bands went
    1.38 -> 1.61 px)."""

    REACH_STEPS = 8  # 255 pixels

    def __init__(self, window=CensusPick.WINDOW, spread=0):
        super().__init__()
        self.pick = CensusPick(offsets=((0, 0),), window=window)
        self.spread = spread

    def forward(self, d, left_code, right_code):
        m = self.pick.match(d, left_code, right_code)
        W = d.shape[-1]
        target = pixel_columns(d) - d
        claim = torch.clamp(torch.round(target), 0.0, W - 1.0).long()
        best = torch.full_like(m, -2.0).scatter_reduce(3, claim, m, "amax", include_self=True)
        occluded = (m < torch.gather(best, 3, claim)) | (target < -0.5)
        visible = ~occluded
        source, wide = d, None
        if self.spread:
            # the background next to a wide occlusion: the farthest visible disparity within
            # `spread` pixels, through the same doubling as the pixel's own disparity
            r = self.spread
            farthest = -F.max_pool2d(-torch.where(visible, d, torch.full_like(d, float("inf"))),
                                     (1, 2 * r + 1), stride=1, padding=(0, r))
            source = torch.cat([d, farthest], dim=1)
            visible = visible.expand(-1, 2, -1, -1)
            # an opening along the row: occluded runs of one pixel (rounding collisions on
            # slanted surfaces, far more of them than of true occlusions) are not wide
            wide = occluded.float()
            wide = -F.max_pool2d(-wide, (1, 3), stride=1, padding=(0, 1))
            wide = F.max_pool2d(wide, (1, 3), stride=1, padding=(0, 1)) > 0.5
        fill = torch.minimum(_nearest_valid(source, visible, 1, self.REACH_STEPS),
                             _nearest_valid(source, visible, -1, self.REACH_STEPS))
        if wide is not None:
            fill = torch.where(wide, fill[:, 1:], fill[:, :1])
        return torch.where(occluded, torch.minimum(fill, d), d)


class CensusSearch(nn.Module):
    """A global search along the rows, the hand-made answer to what the coarse-to-fine
    network cannot see: a thin or small object that its 1/8 stage smeared into the
    background (the motorcycle's mirror and handlebar) has no candidate near its true
    disparity for the propagation to find.

    On every `every`-th row, each pixel's census code is matched against the right view's
    at every disparity 0..`max_disparity` (pixels of the level; out of view: the border
    code, as `CensusPick`), the match averaged over `window` pixels of its row and `rows`
    of the rows searched; the winner (the first of equal maxima) is kept where the right
    view's winner at the pixel it points to points back within `tolerance` (semi-global
    matching's left-right check: occluded and ambiguous pixels fail it), and taken by the
    rows in between. A kept winner replaces the pixel's disparity only where it matches
    better by `CensusPick`'s score and that score is above `floor` (textureless areas
    match every disparity equally and keep theirs; on noise finer than the level every
    disparity matches badly, and a winner there, once taken, would spread by the
    propagation steps after it). With `support` (version 9: 1), a consistent winner is kept
    only where at least that many of its 8 neighbours on the rows searched are consistent
    winners within `tolerance` of it: semi-global matching's speckle filter in its simplest
    form. On fine textures the check passes isolated wrong winners, each of which the
    propagation would spread (motorcycle pair 1.174 -> 1.164 px, synthetic validation
    10.47 -> 10.33 px, the range scenes 16.70 -> 16.44 px).

    The match volume [B, D, h, W] (disparities as channels) is built from D slices of the
    padded right codes, and the right view's, A_R(x, d) = A(x + d, d), from D slices of
    the left's: copies, no index tensor of the volume's size (a Gather of the codes and a
    pooling in a 5-D layout took twice as long). Every other row: half the cost, and on
    the motorcycle pair no worse than all rows (1.42 against 1.43 px, 9 x 5 and 9 x 9).
    The volume is made and reduced in BANDS bands of rows, each with the `rows` // 2 rows
    either side that its mean reads: the same output to the bit, and each band's volume
    stays in the cache between the operations: about 5% of the network's time at 1248x384
    (within the noise at 1920x1088) and a quarter less peak memory (616 -> 459 MiB at
    1920x1088, 2.3 -> 1.6 GiB at 3840x2176). At most 8 bands: the smallest input, 32
    rows (STRIDE), has 8 rows searched."""

    BANDS = 8

    def __init__(self, max_disparity, window=7, rows=5, every=2, tolerance=1.0, floor=0.3, support=0):
        super().__init__()
        self.max_disparity, self.window, self.rows, self.every = max_disparity, window, rows, every
        self.tolerance, self.floor, self.support = tolerance, floor, support
        self.pick = CensusPick(offsets=((0, 0),))

    def winners(self, left_code, right_code):
        """The left view's winners on the rows searched [B, 1, h, W], and where they are
        left-right consistent: band by band of BANDS bands of rows."""
        left_code, right_code = left_code[:, :, ::self.every], right_code[:, :, ::self.every]
        h, k = left_code.shape[2], self.rows // 2
        # k rows either side that match nothing (NO_CODE: 0 at every disparity, what the
        # rows' mean would pad with), so that each band reads the k rows either side of it
        left_code = F.pad(left_code, (0, 0, k, k), value=float(NO_CODE))
        right_code = F.pad(right_code, (0, 0, k, k))
        lefts, kept = [], []
        for i in range(self.BANDS):
            top, bottom = (i * h) // self.BANDS, ((i + 1) * h) // self.BANDS
            m = self.match_volume(left_code[:, :, top:bottom + 2 * k], right_code[:, :, top:bottom + 2 * k])
            left, consistent = self.consistent_winners(m)
            lefts.append(left)
            kept.append(consistent)
        return torch.cat(lefts, dim=2), torch.cat(kept, dim=2)

    def match_volume(self, left_code, right_code):
        """The match of every disparity [B, D, rows, W] averaged over `window` x `rows`,
        for the rows of the codes but the outer `rows` // 2 either side."""
        D = self.max_disparity + 1
        r = F.pad(right_code.to(torch.int32), (D - 1, 0, 0, 0), mode="replicate")
        r = torch.cat([columns(r, D - 1 - d, d) for d in range(D)], dim=1)  # right codes at x - d
        m = self.pick.table[code_pairs(left_code, r)]
        m = F.avg_pool2d(m, (1, self.window), stride=1, padding=(0, self.window // 2))
        return F.avg_pool2d(m, (self.rows, 1), stride=1)

    def consistent_winners(self, m):
        """The winners of a match volume [B, D, h, W] (the first of equal maxima) as [B, 1,
        h, W], and where the right view's winner at the pixel each points to points back
        within `tolerance`."""
        D = self.max_disparity + 1
        left = torch.argmax(m, dim=1, keepdim=True).to(m.dtype)
        # the right view's pixel x at disparity d is the left's x + d
        m = F.pad(m, (0, D - 1), value=-2.0)
        right = torch.argmax(torch.cat([columns(m[:, d:d + 1], d, D - 1 - d) for d in range(D)], dim=1), dim=1, keepdim=True)
        back = torch.gather(right.to(m.dtype), 3, torch.clamp(pixel_columns(left) - left, min=0.0).long())
        return left, (back - left).abs() <= self.tolerance

    def agreeing_neighbours(self, left, kept):
        """How many of each winner's 8 neighbours on the rows searched (3 x 3) are kept
        winners within `tolerance` of it, [B, 1, h, W]."""
        p, k = F.pad(left, (1, 1, 1, 1), mode="replicate"), F.pad(kept.to(left.dtype), (1, 1, 1, 1))
        count = torch.zeros_like(left)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    near = (inner(p, 1 + dy, 1 + dx, 1 - dy, 1 - dx) - left).abs() <= self.tolerance
                    count = count + near.to(left.dtype) * inner(k, 1 + dy, 1 + dx, 1 - dy, 1 - dx)
        return count

    def forward(self, d, left_code, right_code):
        left, kept = self.winners(left_code, right_code)
        if self.support:
            # a speckle filter: a consistent winner that no neighbour agrees with is noise
            kept = kept & (self.agreeing_neighbours(left, kept) >= self.support)
        H = d.shape[2]
        left = left.repeat_interleave(self.every, dim=2)[:, :, :H]
        kept = kept.repeat_interleave(self.every, dim=2)[:, :, :H]
        found = torch.where(kept, left, d)
        m = self.pick.match(torch.cat([d, found], dim=1), left_code, right_code)
        return torch.where(m[:, 1:] > torch.clamp(m[:, :1], min=self.floor), found, d)


class ModeFilter(nn.Module):
    """A weighted mode filter along the rows (Min, Lu and Do 2012, "Depth video enhancement
    based on weighted mode filtering"): each pixel takes the candidate disparity that its
    row's neighbours within `radius` pixels (every `step`-th, itself included) vote for
    most. A neighbour's vote is weighted by how alike its colour is to the pixel's,
    w = exp(-|I(x) - I(x + o)|_1 / sigma) (the normalised left image, summed over its
    channels), and given to a candidate by how close their disparities are,
    max(0, 1 - |d_o - d_c| / `tolerance`). The candidates are the pixel's own disparity and
    those `radius` and `radius` / 2 pixels either way: at a depth edge the two surfaces,
    beyond the band the census windows fattened. Each candidate's votes are averaged over
    `rows` rows (the votes for the candidate at the same offset in the rows above and
    below): rows that chose on their own left streaks along slanted edges. Ties keep the
    pixel's own. Version 8 runs it twice: at 1/2 resolution after the occlusion fill
    (`m6s2`) and at full resolution (`m12s3`), between two refinements (its choices are
    whole values from a neighbour).

    Why: the census windows of every step carry the nearer surface's disparity a few pixels
    across its edges (into the background beside it and into the occlusions), and a colour
    edge is where the depth edge is. Motorcycle pair, version 7's steps and then these two
    and the last refinement (version 8): EPE 1.32 -> 1.17 px, bad-3 7.9 -> 6.8%, half
    resolution 1.96 -> 1.79 px, fidelity +0.37 / +0.47 dB, the synthetic validation 10.69
    -> 10.47 px, disparity flicker 0.613 -> 0.600 px. No weights; at 1248x384 on 2 CPU
    threads about 15 ms at full resolution and 5 ms at 1/2 (the pooling of its guide
    included).

    Limit: on a slanted surface of one colour the candidates `radius` / 2 away collect as
    many votes as the pixel's own, so a pixel may take one of them: d +- slope * radius / 2
    (at the image's left and right borders, whose padding repeats the border pixel, up to
    slope * radius). A bonus for the pixel's own vote cost the pair what the filter gained
    (+25%: EPE 1.22, +100%: 1.27, with the full-resolution filter alone)."""

    def __init__(self, radius=12, step=3, sigma=1.25, tolerance=1.0, rows=3):
        super().__init__()
        self.radius, self.sigma, self.tolerance, self.rows = radius, sigma, tolerance, rows
        self.voters = list(range(-radius, radius + 1, step))
        half = step * round(radius / 2 / step)
        self.candidates = (0, -radius, radius, -half, half)  # offsets, among the voters'

    def forward(self, d, guide):
        r, t = self.radius, self.tolerance
        padded_d = F.pad(d, (r, r, 0, 0), mode="replicate")
        padded_guide = F.pad(guide, (r, r, 0, 0), mode="replicate")
        disparities = {o: columns(padded_d, r + o, r - o) for o in self.voters}
        # w_o(x) = w_-o(x + o): one colour difference per |o|, over the padded row; the
        # channels summed by slices (a ReduceSum over them took longer)
        weights = {}
        for o in self.voters:
            if o > 0:
                a = (padded_guide[..., o:] - padded_guide[..., :-o]).abs()
                e = torch.exp((a[:, 0:1] + a[:, 1:2] + a[:, 2:3]) * (-1.0 / self.sigma))  # y against y + o
                weights[o], weights[-o] = columns(e, r, r - o), columns(e, r - o, r)
        # every vote scaled by the tolerance, max(0, t - |d_o - d_c|), the same choice; one
        # image per vote, not a [B, K, H, W] volume per candidate: those are read and
        # written once per operation, and ONNX Runtime's CPU provider is memory-bound on
        # them (twice the time); agreements between two candidates are computed once
        agree = {}
        votes = []
        for c in self.candidates:
            total = t if c == 0 else weights[c] * t  # its own vote
            for o in self.voters:
                if o != c:
                    if (o, c) not in agree:
                        agree[c, o] = torch.relu(t - (disparities[o] - disparities[c]).abs())
                    vote = agree.get((c, o), agree.get((o, c)))
                    total = total + (vote if o == 0 else vote * weights[o])
            votes.append(total)
        # each candidate's votes averaged over `rows` rows (its own offset in each): rows
        # that snap on their own leave streaks along slanted edges
        votes = F.avg_pool2d(torch.cat(votes, dim=1), (self.rows, 1), stride=1, padding=(self.rows // 2, 0),
                             count_include_pad=False)
        candidates = torch.cat([disparities[c] for c in self.candidates], dim=1)
        return torch.gather(candidates, 1, torch.argmax(votes, dim=1, keepdim=True))


def parse_picks(plan):
    """The steps of a plan: comma-separated, each optionally followed by @TEMPERATURE:
      pK  propagation over the pixel and its 4 neighbours K pixels away (`cross(K)`)
      hK  the same over its 2 neighbours K pixels away in its row, vK in its column
          (pKwW, hKwW, vKwW: the score averaged over W x W instead of CensusPick.WINDOW)
      rW  refinement by CensusPick.REFINE, the score averaged over W x W
      sD  `CensusSearch` over 0..D pixels of the level (sDwW: the match averaged over W
          pixels of the row instead of 7; sDkK: a winner kept only where K of its 8
          neighbours agree, its `support`)
      o   `OcclusionFill` (oS: wide occlusions filled from `spread` S pixels)
      mR  `ModeFilter` over R pixels of the row either way (mRsS: every S-th, default 3)
    "" or "none" is no step."""
    steps = []
    for item in plan.split(",") if plan not in ("", "none") else []:
        name, _, temperature = item.partition("@")
        t = {"temperature": float(temperature)} if temperature else {}
        if name[:1] in ("p", "h", "v"):
            k, _, window = name[1:].partition("w")
            k = int(k)
            if window:
                t["window"] = int(window)
            offsets = {"p": cross(k), "h": ((0, 0), (0, -k), (0, k)), "v": ((0, 0), (-k, 0), (k, 0))}[name[0]]
            steps.append(CensusPick(offsets=offsets, **t))
        elif name.startswith("s") and not t:
            rest, _, support = name[1:].partition("k")
            k, _, window = rest.partition("w")
            options = {"window": int(window)} if window else {}
            if support:
                options["support"] = int(support)
            steps.append(CensusSearch(int(k), **options))
        elif name.startswith("r"):
            steps.append(CensusPick(deltas=CensusPick.REFINE, window=int(name[1:] or CensusPick.WINDOW), **t))
        elif name.startswith("o") and not t:
            steps.append(OcclusionFill(spread=int(name[1:] or 0)))
        elif name.startswith("m") and not t:
            radius, _, step = name[1:].partition("s")
            steps.append(ModeFilter(int(radius), **({"step": int(step)} if step else {})))
        else:
            raise ValueError(f"unknown pick step {item!r}")
    return steps


def soft_argmin(cost):
    """Paper eq. 1 over the bins of [B, BINS, h, w] (larger = better match): [B, 1, h, w]."""
    prob = F.softmax(cost, dim=1)
    idx = torch.arange(cost.shape[1], dtype=prob.dtype, device=prob.device).view(1, -1, 1, 1)
    return (prob * idx).sum(dim=1, keepdim=True)


class ConvexUpsample(nn.Module):
    """x2 upsampling of a disparity map as a per-pixel convex combination of its 3x3
    neighbourhood, the weights predicted from features (RAFT's learned upsampling): edges
    stay sharp where bilinear interpolation would smear them. Starts as exactly bilinear
    (align_corners=False): the weights' convolution at zero, their biases the logarithms
    of the bilinear weights."""

    def __init__(self, c):
        super().__init__()
        self.mask = nn.Conv2d(c, 4 * 9, 1)
        bias = torch.full((4, 3, 3), -30.0)
        for sy in range(2):  # sub-pixel row: 0 = upper, 1 = lower
            for sx in range(2):
                # the two nearest coarse rows/columns: the pixel itself (3/4) and the
                # neighbour on the sub-pixel's side (1/4)
                wy = {1: 0.75, 2 * sy: 0.25}
                wx = {1: 0.75, 2 * sx: 0.25}
                for ky, vy in wy.items():
                    for kx, vx in wx.items():
                        bias[2 * sy + sx, ky, kx] = torch.tensor(vy * vx).log()
        with torch.no_grad():
            self.mask.weight.zero_()
            self.mask.bias.copy_(bias.flatten())

    def forward(self, d, h):
        B, _, H, W = d.shape
        # softmax over the 9 neighbours, written out: ONNX Runtime's Softmax on an inner
        # axis transposes the tensor (it took longer than the whole rest of the network)
        w = torch.exp(torch.clamp(self.mask(h), -30.0, 30.0)).reshape(B, 4, 9, H, W)
        w = w / w.sum(dim=2, keepdim=True)
        p = F.pad(d, (1, 1, 1, 1), mode="replicate")
        nb = torch.stack([inner(p[:, 0], ky, kx, 2 - ky, 2 - kx) for ky in range(3) for kx in range(3)], dim=1)
        up = (w * nb.unsqueeze(1)).sum(dim=2)  # [B, 4, H, W]: sub-pixels (0,0) (0,1) (1,0) (1,1)
        return F.pixel_shuffle(up, 2) * 2.0


def legacy_plan(pick_steps):
    """The 1/2-stage plan of a checkpoint trained with version 4's `--pick-steps N`: N
    propagation steps 4 pixels away, then the refinement over 9 x 9."""
    return ",".join(["p4"] * pick_steps + ["r9"]) if pick_steps else ""


def plans_of(args):
    """The (half, full) pick plans a checkpoint's train.py arguments say it was trained with."""
    if "half_picks" in args:
        return args["half_picks"] or "", args.get("full_picks") or ""
    return legacy_plan(args.get("pick_steps") or 0), ""


# The network's optional parts, by the prefix of their weights: the 1/4 stage and the convex
# upsampling, which a leg may leave out (then the 1/4 estimate is the upsampled 1/8 one and
# the full-resolution one the bilinear x2 of the 1/2 one), and the parts the campaign added
# later, as the identity (grow.py). A checkpoint builds and exports the network it was
# trained as, with the parts it has weights for (export.load_net).
PARTS = {"local": "local.", "up": "guided.up.", "propagate": "propagate.", "propagate2": "propagate2."}


def parts_in(state_dict):
    """Which of PARTS a checkpoint's weights have."""
    return [p for p, prefix in PARTS.items() if any(k.startswith(prefix) for k in state_dict)]


def without_parts(state_dict, parts):
    """The weights of `state_dict` less those of the PARTS not in `parts`: another leg's
    checkpoint loaded into a network that leaves some of its parts out."""
    dropped = tuple(prefix for p, prefix in PARTS.items() if p not in parts)
    return {k: v for k, v in state_dict.items() if not k.startswith(dropped)}


class StereoNet(nn.Module):
    """census=False (an ablation) feeds zeros where the census codes go: the same network
    and parameters, with no hand-crafted matching cost. `parts`: which of PARTS the
    network has (all by default). `half_picks`, `full_picks`: the plans (`parse_picks`) of
    the hand-made steps that end the 1/2 stage and follow the upsampling to full
    resolution (no weights: a checkpoint says which it was trained with, `export.load_net`
    which it is exported with)."""

    def __init__(self, census: bool = True, parts=tuple(PARTS), half_picks: str = "", full_picks: str = ""):
        super().__init__()
        self.use_census = census
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 3, 1, 1))
        self.tower = Tower()
        self.census = Census()
        self.aggregate = Aggregation(GROUPS + 1, 32)
        self.local = LocalStage() if "local" in parts else None
        self.guided = GuidedStage(convex="up" in parts)
        self.propagate = Propagation() if "propagate" in parts else None
        self.propagate2 = Propagation() if "propagate2" in parts else None
        # no weights: not in the state dict, any checkpoint loads with any plan
        self.half_picks = nn.ModuleList(parse_picks(half_picks))
        self.full_picks = nn.ModuleList(parse_picks(full_picks))

    def view(self, img):
        """What one view contributes: 1/4 features and census, 1/8 features, the 1/8
        matching descriptor [cosine-normalised feature groups, census], the normalised 1/2
        image, its luma, and the normalised full-resolution image. Each view separately
        (the same weights): no full-resolution copy of the pair into one batch."""
        full, half, luma2, quarter = normalised_view(img, self.luma)
        f4, f8 = self.tower(full)
        # census on the luma at 1/4 (area-averaged), and its 2x2 mean at 1/8
        c4 = self.census(normalise((quarter * self.luma).sum(dim=1, keepdim=True)))
        if not self.use_census:
            c4 = torch.zeros_like(c4)
        f8n = F.normalize(f8.reshape(f8.shape[0], GROUPS, 32 // GROUPS, *f8.shape[2:]), dim=2).reshape(f8.shape)
        descriptor8 = torch.cat([f8n, F.avg_pool2d(c4, 2)], dim=1)
        return f4, f8, c4, descriptor8, half, (luma2, full)

    def forward(self, left, right, all_scales: bool = False, probabilities: bool = False):
        """The full-resolution disparity; all_scales: the estimates of every stage;
        probabilities: only the soft-argmin's softmax over the bins at 1/8, [B, BINS, H/8,
        W/8] (bin b is the disparity 8 b px; the architecture study's variant B)."""
        if probabilities:
            return self.learned(left, right, probabilities=True)
        d8, d4, d2, h2, matched = self.learned(left, right)
        d2, d1 = self.finish(d2, h2, matched, self.half_picks, self.full_picks)
        if all_scales:
            return [d8 * 8.0, d4 * 4.0, d2 * 2.0, d1]  # input pixels at 1/8, 1/4, 1/2, 1
        return d1

    def learned(self, left, right, probabilities: bool = False):
        """The learned stages: the estimates at 1/8, 1/4 and 1/2 (in pixels of each level),
        the 1/2 stage's features (for the upsampling) and what the picks match: the two
        views' normalised luma at 1/2 and their normalised full-resolution images, ((left,
        right) luma at 1/2, (left, right) images)."""
        f4l, f8l, c4l, desc_l, half_l, (luma_l, full_l) = self.view(left)
        f4r, _, c4r, desc_r, _, (luma_r, full_r) = self.view(right)
        # one pass over the bins for both kinds of cost: the learned features as GROUPS
        # cosine groups of 8 channels, the census as 3 groups of 8 bits averaged afterwards
        vol = correlation_volume(desc_l, desc_r, BINS, GROUPS + 3)  # [B, G + 3, BINS, h, w]
        costs = torch.cat([vol[:, :GROUPS] * float(32 // GROUPS), vol[:, GROUPS:].mean(dim=1, keepdim=True)], dim=1)
        cost = self.aggregate(costs, f8l)  # [B, BINS, H/8, W/8], larger = better match (= -C)
        if probabilities:
            return F.softmax(cost, dim=1)
        d8 = soft_argmin(cost)  # 1/8-resolution pixels
        d4 = F.interpolate(d8, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
        if self.local is not None:
            d4 = self.local(d4, f4l, f4r, c4l, c4r)
        d2 = F.interpolate(d4, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
        d2, h2 = self.guided(d2, half_l, luma_l, luma_r, 2.0)
        for step in (self.propagate, self.propagate2):
            if step is not None:
                d2 = step(d2, half_l, luma_l, luma_r, 2.0)
        return d8, d4, d2, h2, ((luma_l, luma_r), (full_l, full_r))

    def finish(self, d2, h2, matched, half_picks, full_picks):
        """The hand-made steps at 1/2 (`half_picks`, modules), the upsampling, the hand-made
        steps at full resolution: (the 1/2 estimate, the full-resolution one)."""
        left = matched[1][0]
        if len(half_picks):
            codes = census_code(matched[0][0]), census_code(matched[0][1])
            guide = F.avg_pool2d(left, 2) if any(isinstance(p, ModeFilter) for p in half_picks) else None
            for pick in half_picks:
                d2 = pick(d2, guide) if isinstance(pick, ModeFilter) else pick(d2, *codes)
        if self.guided.up is not None:
            d1 = self.guided.up(d2, h2)
        else:
            d1 = F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False) * 2.0
        if len(full_picks):
            codes = [census_code((image * self.luma).sum(dim=1, keepdim=True)) for image in matched[1]]
            for pick in full_picks:
                d1 = pick(d1, left) if isinstance(pick, ModeFilter) else pick(d1, *codes)
        return d2, d1


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
