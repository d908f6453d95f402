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


if __name__ == "__main__":
    unittest.main()
