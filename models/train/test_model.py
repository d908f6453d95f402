"""Fast tests of model.py's parts that the training's checkpoints rely on."""

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402


class SoftArgmin(unittest.TestCase):
    def test_soft_argmin_of_a_peaked_cost_is_its_bin(self):
        cost = torch.full((1, model.BINS, 2, 2), -50.0)
        cost[0, 7] = 50.0
        self.assertTrue(torch.allclose(model.soft_argmin(cost), torch.full((1, 1, 2, 2), 7.0)))


class Propagation(unittest.TestCase):
    def test_shifts_move_by_k_with_the_border_replicated(self):
        x = torch.arange(20.0).reshape(1, 1, 4, 5)
        self.assertTrue(torch.equal(model.shift_down(x, 1)[0, 0, 1:], x[0, 0, :-1]))
        self.assertTrue(torch.equal(model.shift_down(x, 1)[0, 0, 0], x[0, 0, 0]))
        self.assertTrue(torch.equal(model.shift_down(x, -2)[0, 0, :2], x[0, 0, 2:]))
        self.assertTrue(torch.equal(model.shift_down(x, -2)[0, 0, 3], x[0, 0, 3]))

    def test_starts_as_the_identity_and_picks_among_neighbours(self):
        g = torch.Generator().manual_seed(2)
        prop = model.Propagation()
        d = torch.rand(1, 1, 16, 32, generator=g) * 20
        left = torch.rand(1, 3, 16, 32, generator=g)
        luma = torch.rand(1, 1, 16, 32, generator=g)
        self.assertLess(float((prop(d, left, luma, luma, 2.0) - d).abs().max()), 1e-3)
        with torch.no_grad():
            prop.gate.bias.fill_(1.0)  # gate open, uniform scores: the candidates' mean
        out = prop(d, left, luma, luma, 2.0)
        candidates = torch.cat([model.shift_down(model.shift_right(d, dx), dy) for dy, dx in prop.OFFSETS], 1)
        self.assertTrue(torch.allclose(out, candidates.mean(dim=1, keepdim=True), atol=1e-5))


class CensusPick(unittest.TestCase):
    def test_takes_the_neighbours_disparity_that_matches(self):
        # a textured left view and the right view 6 px to the left of it: the true disparity
        # is 6 everywhere; a band of pixels wrongly at 2 is next to right ones
        g = torch.Generator().manual_seed(3)
        left = torch.rand(1, 1, 32, 64, generator=g)
        right = torch.roll(left, shifts=-6, dims=3)
        d = torch.full((1, 1, 32, 64), 6.0)
        d[..., 10:12, 20:40] = 2.0
        pick = model.CensusPick()
        once = pick(d, left, right)
        # the band's pixels lean to the neighbours above and below that match, the rest
        # (all candidates 6) stays
        self.assertGreater(float(once[..., 10:12, 24:36].min()), 5.0)
        self.assertTrue(torch.allclose(once[..., 16:, 8:56], d[..., 16:, 8:56], atol=1e-5))
        # after the three steps the shipped network takes (version 4), the band is right
        thrice = pick(pick(once, left, right), left, right)
        self.assertTrue(torch.allclose(thrice[..., 10:12, 20:40], torch.full((1, 1, 2, 20), 6.0), atol=0.15))

    def test_refinement_moves_the_estimate_towards_the_match(self):
        # the true disparity 6 everywhere, the estimate 5.5: of 4.5, 5.5 and 6.5 the last
        # matches best; near zero the candidates stay at or above zero
        g = torch.Generator().manual_seed(4)
        left = torch.rand(1, 1, 32, 64, generator=g)
        right = torch.roll(left, shifts=-6, dims=3)
        refine = model.CensusPick(deltas=model.CensusPick.REFINE)
        out = refine(torch.full((1, 1, 32, 64), 5.5), left, right)
        self.assertGreater(float(out[..., 4:-4, 12:-4].mean()), 6.0)
        self.assertGreaterEqual(float(refine(torch.zeros(1, 1, 32, 64), left, right).min()), 0.0)

    def test_has_no_weights_so_old_checkpoints_load(self):
        self.assertEqual(list(model.CensusPick().state_dict()), [])
        self.assertEqual(model.StereoNet(pick_steps=3).state_dict().keys(), model.StereoNet().state_dict().keys())


if __name__ == "__main__":
    unittest.main()
