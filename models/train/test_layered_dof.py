"""Tests of the differentiable layered depth of field (`layered_dof.py`): agreement with the
Rust CPU oracle on the vectors it writes (`testdata/dof_vectors.txt`, kept current by
`tests/dof_vectors.rs`), gradients by `torch.autograd.gradcheck` in float64, and the
adaptive downsampling. Run: `.venv/bin/python -m unittest models/train/test_layered_dof.py`
(a few seconds on a CPU)."""

from __future__ import annotations

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layered_dof import DofParams, LayeredDoF, disc_kernel, refocus  # noqa: E402

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "dof_vectors.txt")


def read_vectors(path=VECTORS):
    """The oracle's cases: [(name, DofParams, image [1,3,H,W], disparity [1,1,H,W], expected)]."""
    with open(path) as f:
        lines = f.read().splitlines()
    cases = []
    for i in range(0, len(lines), 4):
        head = lines[i].split()
        assert head[0] == "case", f"line {i + 1}: not a case"
        f = dict(zip(head[2::2], head[3::2]))
        w, h = int(f["width"]), int(f["height"])
        params = DofParams(aperture=float(f["aperture"]), focus=float(f["focus"]), dmin=float(f["dmin"]),
                           dmax=float(f["dmax"]), mask=f["mask"], alpha=float(f["alpha"]))

        def values(line, key, n):
            k, *v = line.split()
            assert k == key and len(v) == n, f"{head[1]}: {key} has {len(v)} values, not {n}"
            return torch.tensor([float(x) for x in v], dtype=torch.float64)

        image = values(lines[i + 1], "image", w * h * 3).reshape(1, h, w, 3).permute(0, 3, 1, 2) / 255
        disparity = values(lines[i + 2], "disparity", w * h).to(torch.float32).to(torch.float64).reshape(1, 1, h, w)
        expected = values(lines[i + 3], "expected", w * h * 3).reshape(1, h, w, 3).permute(0, 3, 1, 2)
        cases.append((head[1], params, image, disparity, expected))
    return cases


def scene(h=6, w=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, h, w, generator=g, dtype=torch.float64)
    # disparities away from the planes and the range's ends, where |D - d_k| and the clamp
    # have kinks that finite differences straddle
    disparity = 1.3 + 9.4 * torch.rand(1, 1, h, w, generator=g, dtype=torch.float64)
    return image, disparity


class OracleAgreement(unittest.TestCase):
    def test_every_case_within_1e4_of_the_rust_oracle(self):
        cases = read_vectors()
        self.assertGreaterEqual(len(cases), 4)
        for name, params, image, disparity, expected in cases:
            with self.subTest(name):
                out = refocus(image, disparity, params)
                err = (out - expected).abs().max().item()
                self.assertLess(err, 1e-4, f"{name}: max |torch - oracle| = {err:.2e}")
                # and the case is not trivial: the oracle's output is not the input
                self.assertGreater((expected - image).abs().max().item(), 0.1)

    def test_float32_agrees_too(self):
        for name, params, image, disparity, expected in read_vectors():
            with self.subTest(name):
                out = refocus(image.float(), disparity.float(), params)
                self.assertLess((out.double() - expected).abs().max().item(), 1e-4)


class Gradients(unittest.TestCase):
    def test_gradcheck_smooth_mask_image_and_disparity(self):
        image, disparity = scene()
        params = DofParams(aperture=0.5, focus=4.0, dmin=0.0, dmax=12.0, mask="smooth", alpha=1.5)
        image.requires_grad_(True)
        disparity.requires_grad_(True)
        self.assertTrue(torch.autograd.gradcheck(lambda i, d: refocus(i, d, params), (image, disparity)))

    def test_gradcheck_downsampled_planes(self):
        image, disparity = scene(8, 9, seed=1)
        params = DofParams(aperture=0.8, focus=2.0, dmin=0.0, dmax=12.0, mask="smooth", alpha=1.0, max_kernel=3)
        self.assertGreater(max(params.level(params.radius(d)) for d in params.planes()), 1)
        image.requires_grad_(True)
        disparity.requires_grad_(True)
        self.assertTrue(torch.autograd.gradcheck(lambda i, d: refocus(i, d, params), (image, disparity)))

    def test_disparity_gradient_is_not_zero(self):
        image, disparity = scene()
        params = DofParams(aperture=0.5, focus=4.0, dmin=0.0, dmax=12.0, mask="smooth", alpha=1.5)
        disparity.requires_grad_(True)
        LayeredDoF(params)(image, disparity).sum().backward()
        self.assertGreater(disparity.grad.abs().max().item(), 1e-3)


class Conventions(unittest.TestCase):
    def test_disc_taps(self):
        self.assertEqual(disc_kernel(0.49).numel(), 1)
        self.assertEqual(int((disc_kernel(1.0) > 0).sum()), 5)  # the centre and 4 neighbours
        self.assertEqual(int((disc_kernel(1.5) > 0).sum()), 9)
        self.assertAlmostEqual(disc_kernel(3.7).sum().item(), 1.0, places=6)

    def test_planes_and_levels(self):
        p = DofParams(aperture=0.25, focus=40.0, dmin=0.0, dmax=80.0, max_kernel=11)
        planes = p.planes()
        self.assertEqual(len(planes), 21)
        self.assertEqual(planes[-1], 80.0)
        self.assertEqual(p.level(p.radius(40.0)), 0)
        self.assertEqual(p.level(5.0), 0)  # 2r + 1 = 11
        self.assertEqual(p.level(5.5), 1)  # 12 / 11
        self.assertEqual(p.level(10.0), 1)  # 21 / 11
        self.assertEqual(p.level(11.0), 2)  # 23 / 11

    def test_in_focus_is_the_identity(self):
        image, _ = scene()
        disparity = torch.full((1, 1, 6, 7), 4.0, dtype=torch.float64)
        out = refocus(image, disparity, DofParams(aperture=0.5, focus=4.0, dmin=0.0, dmax=12.0))
        self.assertLess((out - image).abs().max().item(), 1e-12)

    def test_large_kmax_is_exact_mode_and_small_kmax_is_close(self):
        image, disparity = scene(24, 32, seed=2)
        exact = DofParams(aperture=0.6, focus=2.0, dmin=0.0, dmax=12.0)
        out = refocus(image, disparity, exact)
        wide = refocus(image, disparity, DofParams(**{**exact.__dict__, "max_kernel": 99}))
        self.assertLess((wide - out).abs().max().item(), 1e-12)
        fast = refocus(image, disparity, DofParams(**{**exact.__dict__, "max_kernel": 5}))
        self.assertLess((fast - out).abs().mean().item(), 0.05)

    def test_bad_input_says_what(self):
        image, disparity = scene()
        p = DofParams(aperture=0.5, focus=4.0, dmin=0.0, dmax=12.0)
        with self.assertRaisesRegex(ValueError, "differ in size"):
            refocus(image, disparity[..., :5], p)
        with self.assertRaisesRegex(ValueError, "aperture"):
            refocus(image, disparity, DofParams(aperture=0.0, focus=4.0, dmin=0.0, dmax=12.0))
        with self.assertRaisesRegex(ValueError, "mask"):
            refocus(image, disparity, DofParams(aperture=0.5, focus=4.0, dmin=0.0, dmax=12.0, mask="soft"))


if __name__ == "__main__":
    unittest.main()
