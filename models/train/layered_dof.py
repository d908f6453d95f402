"""The layered depth of field of SteReFo (Busam et al. 2019, section 3.2, Algorithm 1) as a
differentiable PyTorch module, for training networks through the refocusing (section 3.3).

The conventions are the Rust renderer's (`src/dof/`, DESIGN.md), and in exact mode the
result is its CPU oracle's (`src/dof/reference.rs`) to 1e-4, on vectors the oracle writes
(`models/train/testdata/dof_vectors.txt`, checked by `test_layered_dof.py`):

* the disparity D is clamped into [dmin, dmax]; planes d_k = dmin + k / a, k = 0, 1, ...
  while d_k <= dmax, drawn back to front (far first: smallest disparity first);
* plane k's mask M_k: hard, |D - d_k| < 1/a (compared in float32, as the renderers do), or
  smooth (eq. 3), 1/2 + 1/2 tanh(alpha (1/a - |D - d_k|)), which has gradients;
* its circle of confusion r_k = a |d_k - df|, its kernel K(r_k) the integer offsets
  x^2 + y^2 <= r_k^2, each weighing 1 / (number of taps), zero padding; r_k < 0.5 is the
  identity;
* compositing (Algorithm 1, lines 6-8): [I_b, M_b] = K(r_k) * [M_k I, M_k],
  I_s <- I_s (1 - M_b) + I_b, M_s <- M_s (1 - M_b) + M_b;
* output I_s / M_s where M_s > 1e-6, the input pixel elsewhere.

Adaptive downsampling (`max_kernel` = kmax > 0): a plane whose kernel 2 r_k + 1 exceeds kmax
is blurred on a grid 2^L times coarser, L the smallest with 2^L >= (2 r_k + 1) / kmax (the
renderer's `Params::level`, a power of two where the paper takes gamma = (2r+1)/kmax
itself): its masked image is area-averaged onto that grid, blurred with K(r_k / 2^L) and
upsampled bilinearly before compositing. This is the paper's scheme, plane by plane; the
renderer's fast path composites a level's planes on the level's grid and stores bytes, so
it differs from this by the same order as from exact mode (README, "How it renders").

All of it is differentiable in the image and, with the smooth mask, in the disparity
(the hard mask has zero gradient almost everywhere). Use float64 for `gradcheck`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_LEVEL = 14  # as the renderer's MAX_LEVEL


@dataclass(frozen=True)
class DofParams:
    """What decides a refocused frame, apart from the image and its disparity."""

    aperture: float  # a: blur radius in pixels per pixel of disparity from the focus
    focus: float  # df, pixels
    dmin: float
    dmax: float
    mask: str = "hard"  # "hard" or "smooth"
    alpha: float = 1.0  # the smooth mask's steepness
    max_kernel: int = 0  # kmax; 0 = exact

    def planes(self) -> list[float]:
        """d_k = dmin + k/a while d_k <= dmax (with the oracle's slack for rounding)."""
        out, k = [], 0
        while True:
            d = self.dmin + k / self.aperture
            if d > self.dmax * (1 + 1e-12) + 1e-12:
                return out
            out.append(d)
            k += 1

    def radius(self, plane: float) -> float:
        """r_k = a |d_k - df|, rounded to float32 as the renderers blur with."""
        return float(torch.tensor(self.aperture * abs(plane - self.focus), dtype=torch.float32))

    def level(self, radius: float) -> int:
        """The smallest L with 2^L >= (2r + 1) / kmax; 0 in exact mode or for r < 0.5."""
        if self.max_kernel == 0 or radius < 0.5:
            return 0
        ratio = (2 * radius + 1) / self.max_kernel
        return 0 if ratio <= 1 else min(math.ceil(math.log2(ratio)), MAX_LEVEL)


def disc_kernel(radius: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """K(r): 1 / taps on the integer offsets with x^2 + y^2 <= r^2, a single tap for r < 0.5;
    shape [2R+1, 2R+1], R = ceil(r)."""
    if not radius >= 0.5:
        return torch.ones(1, 1, dtype=dtype, device=device)
    reach = math.ceil(radius)
    offsets = torch.arange(-reach, reach + 1, dtype=torch.float64)
    inside = (offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius * radius
    kernel = inside.to(torch.float64) / inside.sum()
    return kernel.to(dtype=dtype, device=device)


def membership(d: torch.Tensor, plane: float, p: DofParams) -> torch.Tensor:
    """M_k of each pixel of the clamped disparity d."""
    if p.mask == "hard":
        # compared in float32, as the renderers and the oracle do
        distance = (d.to(torch.float32) - torch.tensor(plane, dtype=torch.float32)).abs()
        return (distance < torch.tensor(1 / p.aperture, dtype=torch.float32)).to(d.dtype)
    if p.mask == "smooth":
        return 0.5 + 0.5 * torch.tanh(p.alpha * (1 / p.aperture - (d - plane).abs()))
    raise ValueError(f"mask must be 'hard' or 'smooth', not {p.mask!r}")


def blur(x: torch.Tensor, radius: float) -> torch.Tensor:
    """x * K(r) with zero padding, per channel; x is [B, C, H, W]."""
    kernel = disc_kernel(radius, x.dtype, x.device)
    if kernel.numel() == 1:
        return x
    c = x.shape[1]
    reach = kernel.shape[0] // 2
    weight = kernel.expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, padding=reach, groups=c)


def blur_downsampled(x: torch.Tensor, radius: float, level: int) -> torch.Tensor:
    """x * K(r) computed on a grid 2^level coarser: area average, K(r / 2^level), bilinear
    upsampling back to x's size."""
    if level == 0:
        return blur(x, radius)
    h, w = x.shape[-2:]
    scale = 2**level
    # pad to whole cells by replication, so border cells average real pixels
    ph, pw = -h % scale, -w % scale
    coarse = F.avg_pool2d(F.pad(x, (0, pw, 0, ph), mode="replicate"), scale)
    blurred = blur(coarse, radius / scale)
    up = F.interpolate(blurred, scale_factor=scale, mode="bilinear", align_corners=False)
    return up[..., :h, :w]


def refocus(image: torch.Tensor, disparity: torch.Tensor, p: DofParams) -> torch.Tensor:
    """Algorithm 1: `image` [B, 3, H, W] (values in [0, 1]), `disparity` [B, 1, H, W]
    (pixels) -> the refocused image, [B, 3, H, W]."""
    if image.dim() != 4 or disparity.dim() != 4 or disparity.shape[1] != 1:
        raise ValueError("image must be [B, C, H, W] and disparity [B, 1, H, W]")
    if image.shape[0] != disparity.shape[0] or image.shape[-2:] != disparity.shape[-2:]:
        raise ValueError(f"image {tuple(image.shape)} and disparity {tuple(disparity.shape)} differ in size")
    if not p.aperture > 0:
        raise ValueError(f"aperture must be > 0, not {p.aperture}")
    d = disparity.clamp(p.dmin, p.dmax)
    return composite(image, (membership(d, plane, p) for plane in p.planes()), p)


def composite(image: torch.Tensor, masks, p: DofParams) -> torch.Tensor:
    """Algorithm 1's lines 4-9 from given plane masks: `masks` yields M_k [B, 1, H, W] for
    each plane of `p.planes()`, back to front (from `refocus`, or predicted: the
    architecture study's variant B)."""
    if not p.aperture > 0:
        raise ValueError(f"aperture must be > 0, not {p.aperture}")
    acc = torch.zeros(image.shape[0], image.shape[1] + 1, *image.shape[-2:], dtype=image.dtype, device=image.device)
    for plane, m in zip(p.planes(), masks):
        if p.mask == "hard" and not bool(m.any()):
            continue  # M_b = 0: compositing is the identity
        r = p.radius(plane)
        b = blur_downsampled(torch.cat([m * image, m], 1), r, p.level(r))
        acc = acc * (1 - b[:, -1:]) + b
    colour, weight = acc[:, :-1], acc[:, -1:]
    covered = weight > 1e-6
    return torch.where(covered, colour / torch.where(covered, weight, torch.ones_like(weight)), image)


class LayeredDoF(torch.nn.Module):
    """`refocus` as a module: `LayeredDoF(DofParams(...))(image, disparity)`."""

    def __init__(self, params: DofParams):
        super().__init__()
        self.params = params

    def forward(self, image: torch.Tensor, disparity: torch.Tensor) -> torch.Tensor:
        return refocus(image, disparity, self.params)
