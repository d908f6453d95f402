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


def codes(left, right):
    return model.census_code(left), model.census_code(right)


class CensusCode(unittest.TestCase):
    def test_flat_areas_have_no_bits_and_a_bright_pixel_sets_its_neighbours_bit(self):
        g = torch.zeros(1, 1, 5, 5)
        self.assertEqual(float(model.census_code(g + 1e-6 * torch.rand(1, 1, 5, 5)).abs().max()), 0.0)
        g[0, 0, 2, 3] = 1.0  # right of the centre: bit 4 (row-major order, the centre skipped)
        self.assertEqual(float(model.census_code(g)[0, 0, 2, 2]), 16.0)

    def test_the_match_table_counts_differing_bits(self):
        table = model._code_match_table()
        self.assertEqual(float(table[0b1011 * 256 + 0b1011]), 1.0)
        self.assertEqual(float(table[0b1011 * 256 + 0b0011]), 0.75)
        self.assertEqual(float(table[255 * 256]), -1.0)


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
        once = pick(d, *codes(left, right))
        # the band's pixels lean to the neighbours above and below that match, the rest
        # (all candidates 6) stays
        self.assertGreater(float(once[..., 10:12, 24:36].min()), 5.0)
        self.assertTrue(torch.allclose(once[..., 16:, 8:56], d[..., 16:, 8:56], atol=1e-5))
        # after three steps (version 4's 1/2-stage plan) the band is right
        thrice = pick(pick(once, *codes(left, right)), *codes(left, right))
        self.assertTrue(torch.allclose(thrice[..., 10:12, 20:40], torch.full((1, 1, 2, 20), 6.0), atol=0.15))

    def test_refinement_moves_the_estimate_towards_the_match(self):
        # the true disparity 6 everywhere, the estimate 5.3: of 4.3, 5.3 and 6.3 the last
        # points at the right pixel; near zero the candidates stay at or above zero
        g = torch.Generator().manual_seed(4)
        left = torch.rand(1, 1, 32, 64, generator=g)
        right = torch.roll(left, shifts=-6, dims=3)
        refine = model.CensusPick(deltas=model.CensusPick.REFINE)
        out = refine(torch.full((1, 1, 32, 64), 5.3), *codes(left, right))
        self.assertGreater(float(out[..., 4:-4, 12:-4].mean()), 6.0)
        self.assertGreaterEqual(float(refine(torch.zeros(1, 1, 32, 64), *codes(left, right)).min()), 0.0)

    def test_plans_parse_to_their_steps(self):
        steps = model.parse_picks("p4,h8@0.05,v2,r9,o")
        self.assertEqual([type(s).__name__ for s in steps], ["CensusPick"] * 4 + ["OcclusionFill"])
        self.assertEqual(steps[1].offsets, ((0, 0), (0, -8), (0, 8)))
        self.assertEqual(steps[1].temperature, 0.05)
        self.assertEqual(steps[3].window, 9)
        self.assertEqual(model.parse_picks("none"), [])
        with self.assertRaises(ValueError):
            model.parse_picks("q3")

    def test_has_no_weights_so_old_checkpoints_load(self):
        self.assertEqual(list(model.CensusPick().state_dict()), [])
        net = model.StereoNet(half_picks="p4,p4,p4,r9", full_picks="p2,r9,o")
        self.assertEqual(net.state_dict().keys(), model.StereoNet().state_dict().keys())
        self.assertEqual(model.plans_of({"pick_steps": 3}), ("p4,p4,p4,r9", ""))


class OcclusionFill(unittest.TestCase):
    def test_the_fattened_foreground_edge_takes_the_background(self):
        # background at disparity 4, a square at 12 (columns 30..49 of the left view): the
        # 8 columns left of it (22..29) are occluded (the right camera sees the square
        # there). The estimate gives them the square's 12 (fattening).
        g = torch.Generator().manual_seed(5)
        H, W = 32, 96
        background = torch.rand(1, 1, H, W + 16, generator=g)
        square = torch.rand(1, 1, H, W, generator=g)
        xs = torch.arange(W)
        right = background[..., 4:4 + W].clone()  # right(x) = background(x + 4)
        right[..., 18:38] = square[..., 30:50]  # right(x) = square(x + 12)
        left = background[..., :W].clone()
        left[..., 30:50] = square[..., 30:50]
        truth = torch.where((xs >= 30) & (xs < 50), 12.0, 4.0).expand(1, 1, H, W)
        fattened = torch.where((xs >= 22) & (xs < 50), 12.0, 4.0).expand(1, 1, H, W)
        out = model.OcclusionFill()(fattened, *codes(left, right))
        rows = slice(3, H - 3)  # away from the top and bottom borders' averaging
        self.assertTrue(torch.equal(out[..., rows, 23:29], truth[..., rows, 23:29]))
        # the square itself and the visible background keep their disparities
        self.assertTrue(torch.equal(out[..., rows, 31:49], truth[..., rows, 31:49]))
        self.assertTrue(torch.equal(out[..., rows, 6:20], truth[..., rows, 6:20]))

    def test_a_wide_occlusion_next_to_a_thin_object_takes_the_background_beyond_it(self):
        # background at 4 seen between a pole (columns 18..21) and a square (30..49), both
        # at 12: the gap 22..29 is hidden from the right camera by the square; the estimate
        # gives it 12. Its nearest visible pixels are the pole's and the square's, so the
        # nearest fill keeps 12; with `spread` the background left of the pole is in reach.
        g = torch.Generator().manual_seed(5)
        H, W = 32, 96
        background = torch.rand(1, 1, H, W + 16, generator=g)
        near = torch.rand(1, 1, H, W, generator=g)
        xs = torch.arange(W)
        right = background[..., 4:4 + W].clone()
        right[..., 6:10] = near[..., 18:22]
        right[..., 18:38] = near[..., 30:50]
        left = background[..., :W].clone()
        left[..., 18:22] = near[..., 18:22]
        left[..., 30:50] = near[..., 30:50]
        fattened = torch.where((xs >= 18) & (xs < 50), 12.0, 4.0).expand(1, 1, H, W)
        rows = slice(4, H - 4)  # (at row 3 the pole's last pixel loses a claim by a hair)
        nearest = model.OcclusionFill()(fattened, *codes(left, right))
        self.assertTrue(torch.equal(nearest[..., rows, 23:26], fattened[..., rows, 23:26]))
        spread = model.parse_picks("o16")[0](fattened, *codes(left, right))
        self.assertTrue(torch.equal(spread[..., rows, 23:26], torch.full_like(spread[..., rows, 23:26], 4.0)))
        # the pole, the square and the background left of the pole keep their disparities
        self.assertTrue(torch.equal(spread[..., rows, 18:22], fattened[..., rows, 18:22]))
        self.assertTrue(torch.equal(spread[..., rows, 31:49], fattened[..., rows, 31:49]))
        self.assertTrue(torch.equal(spread[..., rows, 14:18], fattened[..., rows, 14:18]))


class ModeFilter(unittest.TestCase):
    def test_a_fattened_edge_moves_to_the_colour_edge(self):
        # a dark square (disparity 12, columns 40..63) on a bright background (4), noise
        # in both; the estimate carries the square 5 pixels into the background either side
        g = torch.Generator().manual_seed(8)
        H, W = 16, 96
        xs = torch.arange(W)
        inside = (xs >= 40) & (xs < 64)
        image = torch.where(inside, -1.0, 1.0).expand(1, 3, H, W) + 0.05 * torch.randn(1, 3, H, W, generator=g)
        truth = torch.where(inside, 12.0, 4.0).expand(1, 1, H, W)
        fattened = torch.where((xs >= 35) & (xs < 69), 12.0, 4.0).expand(1, 1, H, W)
        out = model.parse_picks("m12s3")[0](fattened, image)
        self.assertTrue(torch.equal(out, truth))

    def test_moves_a_slanted_surface_by_at_most_half_its_radius(self):
        # one colour, a disparity ramp (a wall at an angle): the candidates 6 pixels away
        # collect as many votes as the pixel's own (the documented limit), so a pixel
        # moves by at most 6 * slope, 12 * slope at the borders; flat disparity stays
        ramp = torch.linspace(2.0, 30.0, 96).expand(1, 1, 8, 96).contiguous()
        slope = 28.0 / 95.0
        out = model.ModeFilter()(ramp, torch.zeros(1, 3, 8, 96))
        moved = (out - ramp).abs()
        self.assertLessEqual(float(moved[..., 12:-12].max()), 6 * slope + 1e-4)
        self.assertLessEqual(float(moved.max()), 12 * slope + 1e-4)
        flat = torch.full((1, 1, 8, 96), 7.5)
        self.assertTrue(torch.equal(model.ModeFilter()(flat, torch.randn(1, 3, 8, 96)), flat))


class CensusSearch(unittest.TestCase):
    def test_finds_a_disparity_far_from_the_estimate(self):
        # the true disparity 20 everywhere, the estimate 3: no propagation step reaches it
        g = torch.Generator().manual_seed(6)
        left = torch.rand(1, 1, 32, 96, generator=g)
        right = torch.roll(left, shifts=-20, dims=3)
        out = model.CensusSearch(40)(torch.full((1, 1, 32, 96), 3.0), *codes(left, right))
        inside = out[..., 4:-4, 24:-4]  # right of the columns the right view does not see
        self.assertGreater(float((inside == 20.0).float().mean()), 0.95)

    def test_keeps_the_estimate_where_nothing_matches_or_everything_does(self):
        g = torch.Generator().manual_seed(7)
        d = torch.rand(1, 1, 32, 96, generator=g) * 10
        search = model.CensusSearch(40)
        # independent views: no disparity matches well enough (the floor, the left-right check)
        unrelated = search(d, *codes(torch.rand(1, 1, 32, 96, generator=g), torch.rand(1, 1, 32, 96, generator=g)))
        self.assertGreater(float((unrelated == d).float().mean()), 0.95)
        # a flat pair: every disparity matches equally, none better than the estimate
        flat = torch.zeros(1, 1, 32, 96)
        self.assertTrue(torch.equal(search(d, *codes(flat, flat)), d))

    def test_bands_of_rows_give_the_winners_of_the_whole_volume(self):
        # 16 rows searched (8 bands of 2) and 8 (the smallest input's: 8 bands of 1), against
        # one band, which is the rows' mean with avg_pool2d's zero padding
        g = torch.Generator().manual_seed(8)
        for rows in (32, 16):
            left = torch.rand(1, 1, rows, 96, generator=g)
            right = torch.roll(left, shifts=-11, dims=3) + 0.02 * torch.rand(1, 1, rows, 96, generator=g)
            lc, rc = codes(left, right)
            search = model.CensusSearch(40)
            banded = search.winners(lc, rc)
            search.BANDS = 1
            whole = search.winners(lc, rc)
            self.assertTrue(torch.equal(banded[0], whole[0]) and torch.equal(banded[1], whole[1]))
            sub = lc[:, :, ::2]
            D = search.max_disparity + 1
            r = torch.nn.functional.pad(rc[:, :, ::2].to(torch.int32), (D - 1, 0, 0, 0), mode="replicate")
            r = torch.cat([r[..., D - 1 - d:D - 1 - d + 96] for d in range(D)], dim=1)
            m = model._code_match_table()[model.code_pairs(sub, r)]
            m = torch.nn.functional.avg_pool2d(m, (1, 7), stride=1, padding=(0, 3))
            m = torch.nn.functional.avg_pool2d(m, (5, 1), stride=1, padding=(2, 0))
            self.assertTrue(torch.equal(whole[0], torch.argmax(m, dim=1, keepdim=True).float()))

    def test_a_winner_that_no_neighbour_agrees_with_is_not_kept(self):
        search = model.CensusSearch(40, support=1)
        left = torch.full((1, 1, 6, 8), 5.0)
        kept = torch.zeros(1, 1, 6, 8, dtype=torch.bool)
        kept[..., 1:3, 1:3] = True  # a patch of four agreeing winners
        left[..., 4, 6] = 30.0  # a lone winner, its neighbours 25 away
        kept[..., 4, 6] = True
        count = search.agreeing_neighbours(left, kept)
        self.assertEqual(float(count[0, 0, 1, 1]), 3.0)
        self.assertEqual(float(count[0, 0, 4, 6]), 0.0)
        self.assertEqual(float(count[0, 0, 0, 0]), 1.0)  # not kept itself, one kept neighbour
        # the search on a textured pair keeps its winners where they agree
        g = torch.Generator().manual_seed(9)
        image = torch.rand(1, 1, 32, 96, generator=g)
        right = torch.roll(image, shifts=-20, dims=3)
        out = search(torch.full((1, 1, 32, 96), 3.0), *codes(image, right))
        self.assertGreater(float((out[..., 4:-4, 24:-4] == 20.0).float().mean()), 0.95)

    def test_plans_name_it(self):
        step = model.parse_picks("s96w9")[0]
        self.assertEqual((type(step).__name__, step.max_disparity, step.window, step.support), ("CensusSearch", 96, 9, 0))
        step = model.parse_picks("s96k1")[0]
        self.assertEqual((step.max_disparity, step.window, step.support), (96, 7, 1))


class OptionalParts(unittest.TestCase):
    def test_a_checkpoint_loads_into_a_network_without_some_parts(self):
        full = model.StereoNet()
        self.assertEqual(model.parts_in(full.state_dict()), list(model.PARTS))
        lean = model.StereoNet(parts=["propagate"])
        lean.load_state_dict(model.without_parts(full.state_dict(), ["propagate"]))  # strict
        self.assertEqual(model.parts_in(lean.state_dict()), ["propagate"])
        x = torch.rand(1, 3, 64, 128)
        with torch.no_grad():
            d8, d4, _, d1 = lean.eval()(x, x, all_scales=True)
        # no 1/4 stage: the 1/4 estimate is the 1/8 one upsampled; bilinear to full resolution
        up = torch.nn.functional.interpolate(d8, scale_factor=2.0, mode="bilinear", align_corners=False)
        self.assertTrue(torch.allclose(d4, up))
        self.assertEqual(d1.shape, (1, 1, 64, 128))


if __name__ == "__main__":
    unittest.main()
