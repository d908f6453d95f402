"""Version 1's data generator (as at bfd8b00, the data the shipped version 1 was trained on),
which the version 2 network is fine-tuned on since iteration 19,436 (`--data-module
models/train/dataset_v1.py`, see CAMPAIGN.md). Procedural FlyingThings-style stereo scenes
with exact disparity and occlusion.

Every layer of a scene is analytic, so both views are rendered straight from the source
textures (one interpolation each, no resampling of the left view) and the ground truth is
exact:

* geometry: a layer is a plane in disparity space, d(x, y) = a + b*x + c*y (left-view pixel
  coordinates). A left pixel (x, y) on it is seen by the right camera at x_r = x - d(x, y),
  so the right view of the layer is the affine map x = (x_r + a + c*y) / (1 - b).
* texture: texture coordinates are (M @ [x, y, 1]) * s / d(x, y), a homography whose
  denominator is the plane's disparity. This is exactly a texture painted on the 3D plane
  (perspective foreshortening on slanted planes, larger texture on nearer planes).
* shape: an anti-aliased polygon (polygons, ellipses, thin bars and poles, curved wires,
  fences of thin slats, frames with holes), its vertices mapped to the right view exactly.
* compositing: back to front with a per-pixel z-test (larger disparity wins), soft alpha
  for the colour (anti-aliased edges like a real camera), hard 0.5 coverage for the
  ground-truth disparity. Occlusions, the band at the left border that the right camera
  cannot see, and content entering the right view from beyond the left view's right edge
  are all exact.

Scenes: a background plane (often slanted), a strongly slanted ground plane (road-like,
disparity rising toward the bottom of the image) in most scenes, sometimes a receding side
wall, then objects at random depths. Textures: procedural noise / stripes / checks /
smooth gradients and crops of the natural photos scikit-image ships *without* depth ground
truth. `skimage.data.stereo_motorcycle` (the evaluation pair) is never used here.

Photometric augmentation per view: gain, gamma, colour shift, Gaussian noise, blur,
slightly different between left and right.

All of it is numpy + OpenCV, single-threaded; one 160x320 sample takes a few ms.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# OpenCV's own thread pool is not fork-safe (a DataLoader worker forked after the parent
# used cv2 deadlocks) and training must not spawn extra compute threads anyway.
cv2.setNumThreads(0)

# Natural photos shipped inside the scikit-image wheel WITHOUT depth ground truth.
# stereo_motorcycle (Middlebury, our evaluation set) must never appear here.
PHOTO_NAMES = [
    "astronaut", "coffee", "chelsea", "rocket", "coins", "camera",
    "immunohistochemistry", "hubble_deep_field", "brick", "grass", "gravel", "moon",
    "page", "text", "clock", "colorwheel", "retina", "cell", "checkerboard",
]
assert "stereo_motorcycle" not in PHOTO_NAMES

_PHOTOS: list[np.ndarray] | None = None


def load_photos() -> list[np.ndarray]:
    """Float32 RGB [0, 1] photos, each at most 512 px on its longer side."""
    global _PHOTOS
    if _PHOTOS is not None:
        return _PHOTOS
    import skimage.data

    out = []
    for name in PHOTO_NAMES:
        try:
            im = getattr(skimage.data, name)()
        except Exception:  # pragma: no cover - missing optional data file
            continue
        im = np.asarray(im)
        if im.dtype == bool:
            im = im.astype(np.uint8) * 255
        if im.ndim == 2:
            im = np.repeat(im[:, :, None], 3, axis=2)
        im = im[:, :, :3].astype(np.float32) / 255.0
        s = 512.0 / max(im.shape[:2])
        if s < 1.0:
            im = cv2.resize(im, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(im))
    _PHOTOS = out
    return out


# ----------------------------------------------------------------------------- textures

def _noise(rng, size, octaves=4, base=4):
    """Multi-octave value noise in [0, 1], shape (size, size)."""
    acc = np.zeros((size, size), np.float32)
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        n = base * (2 ** o)
        small = rng.random((n, n), dtype=np.float32)
        acc += amp * cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        tot += amp
        amp *= rng.uniform(0.4, 0.8)
    acc /= tot
    acc -= acc.min()
    acc /= max(acc.max(), 1e-6)
    return acc


def _colourise(rng, g):
    """Map a [0,1] grey pattern to two random colours."""
    c0 = rng.random(3, dtype=np.float32)
    c1 = rng.random(3, dtype=np.float32)
    return (c0[None, None, :] * (1 - g[:, :, None]) + c1[None, None, :] * g[:, :, None]).astype(np.float32)


def procedural_texture(rng, size=256):
    kind = rng.integers(0, 7)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == 0:  # coloured multi-octave noise
        t = np.stack([_noise(rng, size, rng.integers(3, 6), rng.integers(2, 8)) for _ in range(3)], 2)
    elif kind == 1:  # stripes (random period/orientation) with noise
        th = rng.uniform(0, math.pi)
        per = rng.uniform(3, 40)
        s = 0.5 + 0.5 * np.sin(2 * math.pi * (xx * math.cos(th) + yy * math.sin(th)) / per)
        if rng.random() < 0.5:
            s = (s > 0.5).astype(np.float32)
        t = _colourise(rng, 0.8 * s + 0.2 * _noise(rng, size))
    elif kind == 2:  # checks
        per = rng.uniform(4, 40)
        s = ((np.floor(xx / per) + np.floor(yy / per)) % 2).astype(np.float32)
        t = _colourise(rng, 0.85 * s + 0.15 * _noise(rng, size, 3, 8))
    elif kind == 3:  # smooth / low texture (sky, walls): the network must interpolate
        t = _colourise(rng, 0.3 * _noise(rng, size, 2, 2) + 0.7 * (yy / size))
        t += rng.normal(0, 0.01, t.shape).astype(np.float32)
    elif kind == 4:  # blotches (thresholded noise) = cartoon-ish regions with edges
        g = _noise(rng, size, 3, rng.integers(3, 10))
        lv = rng.integers(2, 5)
        g = np.floor(g * lv) / (lv - 1)
        t = _colourise(rng, np.clip(g, 0, 1) * 0.85 + 0.15 * _noise(rng, size, 4, 16))
    elif kind == 5:  # fine grain (gravel-like high frequency)
        t = np.stack([_noise(rng, size, 2, rng.integers(16, 64)) for _ in range(3)], 2)
        t = 0.5 * t + 0.5 * rng.random(3, dtype=np.float32)[None, None, :]
    else:  # random polygons drawn into a texture (man-made clutter)
        t = np.zeros((size, size, 3), np.float32) + rng.random(3, dtype=np.float32)
        for _ in range(rng.integers(5, 25)):
            pts = (rng.random((rng.integers(3, 7), 2)) * size).astype(np.int32)
            cv2.fillPoly(t, [pts], rng.random(3).tolist(), lineType=cv2.LINE_AA)
    # fine detail at a higher frequency: real surfaces almost always have some texture
    # (a first run without it for 30% of the textures learned large disparities badly)
    amt = rng.uniform(0.03, 0.1) if kind == 3 else rng.uniform(0.15, 0.5)
    n = int(rng.integers(32, 129))
    det = cv2.resize(rng.random((n, n), dtype=np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        det = 0.5 * det + 0.5 * _noise(rng, size, 2, int(rng.integers(16, 48)))
    t = t * (1 - amt) + amt * det[:, :, None] * rng.uniform(0.5, 1.5, 3).astype(np.float32)[None, None, :]
    return np.clip(t, 0, 1).astype(np.float32)


class TextureBank:
    def __init__(self, rng, n_proc=48, size=256):
        self.photos = load_photos()
        self.rng = rng
        self.size = size
        self.proc = [procedural_texture(rng, size) for _ in range(n_proc)]

    def refresh(self, k=2):
        for _ in range(k):
            self.proc[self.rng.integers(len(self.proc))] = procedural_texture(self.rng, self.size)

    def pick(self, rng):
        """Returns (texture HxWx3 float32, scale hint in texture px per image px)."""
        if rng.random() < 0.55 and self.photos:
            t = self.photos[rng.integers(len(self.photos))]
            # per-layer colour modification of the photo (hue-ish shuffle, tint)
            if rng.random() < 0.3:
                t = t[:, :, rng.permutation(3)]
            if rng.random() < 0.3:
                t = t * rng.uniform(0.6, 1.2, 3).astype(np.float32)[None, None, :]
            return t, rng.uniform(0.7, 2.5)
        return self.proc[rng.integers(len(self.proc))], rng.uniform(0.6, 2.0)


# ----------------------------------------------------------------------------- shapes

def _star_polygon(rng, cx, cy, r, n):
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = r * rng.uniform(0.4, 1.0, n)
    return np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)


def _ellipse(cx, cy, rx, ry, th, n=40):
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x = rx * np.cos(t)
    y = ry * np.sin(t)
    c, s = math.cos(th), math.sin(th)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def _bar(cx, cy, length, width, th):
    c, s = math.cos(th), math.sin(th)
    hx, hy = c * length / 2, s * length / 2
    nx, ny = -s * width / 2, c * width / 2
    return np.array([[cx - hx - nx, cy - hy - ny], [cx + hx - nx, cy + hy - ny],
                     [cx + hx + nx, cy + hy + ny], [cx - hx + nx, cy - hy + ny]])


def _wire(rng, x0, y0, length, width, n=12):
    """A curved thin strip (cable, branch) as a polygon."""
    th = rng.uniform(0, 2 * math.pi)
    dth = rng.normal(0, 0.25, n)
    pts = [(x0, y0)]
    step = length / n
    for i in range(n):
        th += dth[i]
        pts.append((pts[-1][0] + step * math.cos(th), pts[-1][1] + step * math.sin(th)))
    p = np.array(pts)
    d = np.gradient(p, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    nrm = np.stack([-d[:, 1], d[:, 0]], 1) * width / 2
    return np.concatenate([p + nrm, (p - nrm)[::-1]], 0)


def random_shape(rng, H, W):
    """List of polygon contours (first = outer; others are holes) in left coords."""
    S = min(H, W)
    cx = rng.uniform(-0.15, 1.15) * W
    cy = rng.uniform(-0.1, 1.1) * H
    k = rng.random()
    if k < 0.28:
        return [_star_polygon(rng, cx, cy, rng.uniform(0.08, 0.45) * S, rng.integers(3, 9))], "poly"
    if k < 0.48:
        return [_ellipse(cx, cy, rng.uniform(0.05, 0.4) * S, rng.uniform(0.05, 0.4) * S,
                         rng.uniform(0, math.pi))], "ellipse"
    if k < 0.66:  # thin bar / pole, mostly near-vertical or near-horizontal
        th = rng.choice([math.pi / 2, 0.0, rng.uniform(0, math.pi)], p=[0.5, 0.2, 0.3])
        th += rng.normal(0, 0.08)
        return [_bar(cx, cy, rng.uniform(0.4, 1.8) * S, rng.uniform(1.0, 7.0), th)], "bar"
    if k < 0.76:  # wire
        return [_wire(rng, cx, cy, rng.uniform(0.5, 1.5) * S, rng.uniform(1.0, 4.0))], "wire"
    if k < 0.86:  # fence / grille: several parallel slats in one plane
        th = rng.choice([math.pi / 2, 0.0]) + rng.normal(0, 0.1)
        n = rng.integers(3, 9)
        gap = rng.uniform(4, 20)
        w = rng.uniform(1.5, 6)
        length = rng.uniform(0.3, 1.2) * S
        c, s = math.cos(th), math.sin(th)
        polys = []
        for i in range(n):
            off = (i - n / 2) * (gap + w)
            polys.append(_bar(cx - s * off, cy + c * off, length, w, th))
        return polys, "fence"  # separate outers (no holes)
    # frame / ring with a hole
    rx, ry = rng.uniform(0.1, 0.35) * S, rng.uniform(0.1, 0.35) * S
    th = rng.uniform(0, math.pi)
    t = rng.uniform(0.15, 0.5)
    if rng.random() < 0.5:
        outer = _ellipse(cx, cy, rx, ry, th)
        inner = _ellipse(cx, cy, rx * (1 - t), ry * (1 - t), th)
    else:
        outer = _bar(cx, cy, 2 * rx, 2 * ry, th)
        inner = _bar(cx, cy, 2 * rx * (1 - t), 2 * ry * (1 - t), th)
    return [outer, inner], "ring"


def _raster(polys, kind, H, W):
    """Anti-aliased coverage in [0, 1] (float32)."""
    m = np.zeros((H, W), np.uint8)
    sh = 4
    pts = [np.round(p * (1 << sh)).astype(np.int32) for p in polys]
    if kind == "ring":
        cv2.fillPoly(m, pts[:1], 255, lineType=cv2.LINE_AA, shift=sh)
        cv2.fillPoly(m, pts[1:], 0, lineType=cv2.LINE_AA, shift=sh)
    else:
        cv2.fillPoly(m, pts, 255, lineType=cv2.LINE_AA, shift=sh)
    return m.astype(np.float32) * (1.0 / 255.0)


# ----------------------------------------------------------------------------- scene

class Layer:
    __slots__ = ("a", "b", "c", "tex", "Htex", "polys", "kind", "shade", "full")

    def __init__(self, a, b, c, tex, Htex, polys, kind, shade, full=False):
        self.a, self.b, self.c = a, b, c
        self.tex, self.Htex = tex, Htex
        self.polys, self.kind = polys, kind
        self.shade = shade  # (g0, gx, gy) smooth lighting, identical in both views
        self.full = full  # covers the whole frame (background)


def _tex_homography(rng, a, b, c, cx, cy, scale):
    """Texture coords (u, v) = s * d_c * R @ [x - cx, y - cy] / d(x, y) + offset."""
    dc = a + b * cx + c * cy
    th = rng.uniform(0, 2 * math.pi)
    R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]]) * scale * dc
    off = rng.uniform(0, 512, 2)
    # numerator rows: R @ [x - cx, y - cy] + off * d(x,y)
    M = np.zeros((3, 3))
    M[0, :2] = R[0]
    M[0, 2] = -R[0, 0] * cx - R[0, 1] * cy
    M[1, :2] = R[1]
    M[1, 2] = -R[1, 0] * cx - R[1, 1] * cy
    M[2] = [b, c, a]
    M[0] += off[0] * M[2]
    M[1] += off[1] * M[2]
    return M


def _render_layer(L: Layer, H, W, right: bool, grid):
    """Renders one layer in one view inside its bounding box.

    Returns (y0, y1, x0, x1, rgb, alpha, disp) with arrays of the box size (alpha None for
    a full-frame layer)."""
    a, b, c = L.a, L.b, L.c
    polys = L.polys
    if right and polys is not None:
        polys = [np.stack([(1 - b) * p[:, 0] - a - c * p[:, 1], p[:, 1]], 1) for p in polys]
    if L.full:
        x0, y0, x1, y1 = 0, 0, W, H
    else:
        allp = np.concatenate(polys, 0)
        x0 = max(int(math.floor(allp[:, 0].min())) - 1, 0)
        x1 = min(int(math.ceil(allp[:, 0].max())) + 2, W)
        y0 = max(int(math.floor(allp[:, 1].min())) - 1, 0)
        y1 = min(int(math.ceil(allp[:, 1].max())) + 2, H)
        if x1 <= x0 or y1 <= y0:
            return None
    xx = grid[0][y0:y1, x0:x1]
    yy = grid[1][y0:y1, x0:x1]
    Ht = L.Htex
    if right:
        # left x from right x: x = (x_r + a + c*y) / (1 - b)
        k = 1.0 / (1.0 - b)
        A = np.array([[k, c * k, a * k], [0, 1, 0], [0, 0, 1]])
        Ht = Ht @ A
        lx = (xx + a + c * yy) * k
    else:
        lx = xx
    disp = (a + b * lx + c * yy).astype(np.float32)
    T = np.array([[1.0, 0, x0], [0, 1.0, y0], [0, 0, 1]])
    rgb = cv2.warpPerspective(L.tex, Ht @ T, (x1 - x0, y1 - y0),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT_101)
    if L.full:
        alpha = None
    else:
        sh = [np.stack([p[:, 0] - x0, p[:, 1] - y0], 1) for p in polys]
        alpha = _raster(sh, L.kind, y1 - y0, x1 - x0)
        if L.kind == "ground":
            alpha *= (disp > 0.05)
    g0, gx, gy = L.shade
    shade = (g0 + gx * (lx / W - 0.5) + gy * (yy / H - 0.5)).astype(np.float32)
    rgb *= shade[:, :, None]
    return y0, y1, x0, x1, rgb, alpha, disp


class StereoSceneGenerator:
    """Deterministic by (seed, index)."""

    def __init__(self, height=160, width=320, max_disp=120.0, min_scene_max=6.0, seed=0):
        self.H, self.W = height, width
        self.max_disp = max_disp
        self.min_scene_max = min_scene_max
        self.bank = TextureBank(np.random.default_rng([seed, 987654321]))
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.grid = (xx, yy)
        self.seed = seed

    # -- scene description -----------------------------------------------------------
    def _shade(self, rng):
        return (rng.uniform(0.6, 1.1), rng.normal(0, 0.25), rng.normal(0, 0.25))

    def _scene(self, rng):
        H, W = self.H, self.W
        # log-uniform scene disparity range (covers motorcycle half/full and KITTI-like)
        dmax = math.exp(rng.uniform(math.log(self.min_scene_max), math.log(self.max_disp)))
        layers = []

        # background plane, often slanted; disparity low
        d_bg = rng.uniform(0.0, 0.45) * dmax + rng.uniform(0, 1.0)
        bx = rng.normal(0, 0.02) if rng.random() < 0.5 else 0.0
        by = rng.normal(0, 0.02) if rng.random() < 0.5 else 0.0
        a = d_bg - bx * W / 2 - by * H / 2
        a = max(a, 0.2 + max(0.0, -bx * W * 1.2) + max(0.0, -by * H))  # keep > 0 over frame
        tex, sc = self.bank.pick(rng)
        layers.append(Layer(a, bx, by, tex, _tex_homography(rng, a, bx, by, W / 2, H / 2, sc / max(d_bg, 1.0)),
                            None, "full", self._shade(rng), full=True))

        # ground plane: d = k * (y - y_h), rises toward the bottom (road / floor / table)
        if rng.random() < 0.6:
            y_h = rng.uniform(-0.4, 0.75) * H
            d_bottom = rng.uniform(0.5, 1.0) * dmax
            k = d_bottom / max(H - y_h, 1.0)
            bx = rng.normal(0, 0.01)  # slight roll
            a, b, c = -k * y_h - bx * W / 2, bx, k
            tex, sc = self.bank.pick(rng)
            # perspective texture: (u, v) ~ (x - cx, 1) / (y - y_h)
            s = sc * rng.uniform(0.5, 3.0)
            Ht = np.array([[s * H * 0.5, 0, -s * H * 0.5 * W / 2], [0, 0, s * H * 2.0], [b, c, a]])
            poly = [np.array([[-W, y_h + 1.0], [2 * W, y_h + 1.0], [2 * W, 2 * H], [-W, 2 * H]])]
            layers.append(Layer(a, b, c, tex, Ht, poly, "ground", self._shade(rng)))

        # receding side wall (strong horizontal slant)
        if rng.random() < 0.25:
            left_side = rng.random() < 0.5
            x_v = rng.uniform(0.2, 0.8) * W  # vanishing column where wall disparity ~ 0
            k = rng.uniform(0.5, 1.0) * dmax / max(x_v if left_side else W - x_v, 1.0)
            k = min(k, 0.6)
            b = -k if left_side else k
            a = -b * x_v
            tex, sc = self.bank.pick(rng)
            s = sc * rng.uniform(0.5, 3.0)
            Ht = np.array([[0, 0, s * W], [0, s * W * 0.5, 0], [b, 0.0, a]])
            Ht[1] += rng.uniform(0, 300) * Ht[2]
            if left_side:
                poly = [np.array([[-W, -H], [x_v - 1, -H], [x_v - 1, 2 * H], [-W, 2 * H]])]
            else:
                poly = [np.array([[x_v + 1, -H], [2 * W, -H], [2 * W, 2 * H], [x_v + 1, 2 * H]])]
            layers.append(Layer(a, b, 0.0, tex, Ht, poly, "wall", self._shade(rng)))

        # objects
        n_obj = rng.integers(3, 16)
        for _ in range(n_obj):
            polys, kind = random_shape(rng, H, W)
            allp = np.concatenate(polys, 0)
            cx, cy = allp[:, 0].mean(), allp[:, 1].mean()
            dc = rng.uniform(d_bg, dmax)
            if rng.random() < 0.5:
                bx, by = 0.0, 0.0
            else:
                bx, by = rng.normal(0, 0.04), rng.normal(0, 0.04)
            # keep disparity within [0.3, max] over the shape's bounding box
            x0, x1 = allp[:, 0].min(), allp[:, 0].max()
            y0, y1 = allp[:, 1].min(), allp[:, 1].max()
            corners = [dc + bx * (x - cx) + by * (y - cy) for x in (x0, x1) for y in (y0, y1)]
            lo, hi = min(corners), max(corners)
            if lo < 0.3 or hi > self.max_disp:
                bx, by = 0.0, 0.0
            a = dc - bx * cx - by * cy
            tex, sc = self.bank.pick(rng)
            Ht = _tex_homography(rng, a, bx, by, cx, cy, sc / max(dc, 1.0))
            layers.append(Layer(a, bx, by, tex, Ht, polys, kind, self._shade(rng)))
        return layers

    # -- rendering ---------------------------------------------------------------------
    def _composite(self, layers, right):
        H, W = self.H, self.W
        col = np.zeros((H, W, 3), np.float32)
        zb = np.full((H, W), -1.0, np.float32)
        for L in layers:
            r = _render_layer(L, H, W, right, self.grid)
            if r is None:
                continue
            y0, y1, x0, x1, rgb, alpha, disp = r
            if alpha is None:
                col[y0:y1, x0:x1] = rgb
                zb[y0:y1, x0:x1] = disp
                continue
            cv = col[y0:y1, x0:x1]
            zv = zb[y0:y1, x0:x1]
            front = disp >= zv
            w = alpha * front
            cv += (rgb - cv) * w[:, :, None]
            own = (alpha >= 0.5) & front
            zv[own] = disp[own]
        return col, zb

    def sample(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        if index % 64 == 0:
            self.bank.refresh(2)
        layers = self._scene(rng)
        # sort far -> near by a representative disparity (z-test handles intersections)
        H, W = self.H, self.W
        layers[1:] = sorted(layers[1:], key=lambda L: L.a + L.b * W / 2 + L.c * H / 2 if L.kind not in ("ground", "wall") else -1e9 + 0.0)
        left, dl = self._composite(layers, False)
        right, _ = self._composite(layers, True)
        left, right = photometric(rng, left, right)
        return left, right, dl

    def __call__(self, index):
        return self.sample(index)


def photometric(rng, left, right):
    """Camera effects; mostly shared, partly different between the two views."""
    # shared global
    if rng.random() < 0.8:
        sig = rng.uniform(0.0, 1.0)
        if sig > 0.3:
            left = cv2.GaussianBlur(left, (0, 0), sig)
            right = cv2.GaussianBlur(right, (0, 0), sig * rng.uniform(0.85, 1.15))
    gain = rng.uniform(0.5, 1.4)
    outs = []
    for im in (left, right):
        g = gain * rng.uniform(0.9, 1.1)
        tint = rng.uniform(0.95, 1.05, 3).astype(np.float32) if rng.random() < 0.7 else np.ones(3, np.float32)
        im = im * g * tint[None, None, :] + rng.uniform(-0.03, 0.03)
        im = np.clip(im, 0, 1)
        gam = math.exp(rng.normal(0, 0.12))
        im = im ** gam
        sn = rng.uniform(0, 0.02)
        im = im + rng.normal(0, sn, im.shape).astype(np.float32)
        outs.append(np.clip(im, 0, 1).astype(np.float32))
    return outs[0], outs[1]


# ----------------------------------------------------------------------------- torch side

def make_iterable_dataset(height, width, seed, start_index=0, max_disp=120.0, generator=None):
    """The scenes from `start_index` on, as a torch IterableDataset; `generator`: a
    StereoSceneGenerator class (default: this module's; `dataset_v3.py` passes its own)."""
    import torch

    generator = generator or StereoSceneGenerator

    class _DS(torch.utils.data.IterableDataset):
        def __iter__(self):
            cv2.setNumThreads(0)
            gen = generator(height, width, max_disp=max_disp, seed=seed)
            i = start_index
            while True:
                l, r, d = gen.sample(i)
                yield (torch.from_numpy(l.transpose(2, 0, 1).copy()),
                       torch.from_numpy(r.transpose(2, 0, 1).copy()),
                       torch.from_numpy(d[None].copy()), i)
                i += 1

    return _DS()


if __name__ == "__main__":
    import sys
    import time

    gen = StereoSceneGenerator(160, 320, seed=1)
    t = time.time()
    n = 50
    for i in range(n):
        l, r, d = gen.sample(i)
    print(f"{(time.time() - t) / n * 1000:.1f} ms/sample", d.min(), d.max())
    if len(sys.argv) > 1:
        out = sys.argv[1]
        rows = []
        for i in range(6):
            l, r, d = gen.sample(1000 + i)
            dv = cv2.applyColorMap(np.clip(d / d.max() * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1] / 255.0
            rows.append(np.concatenate([l, r, dv.astype(np.float32)], 1))
        cv2.imwrite(out, (np.concatenate(rows, 0)[:, :, ::-1] * 255).astype(np.uint8))
