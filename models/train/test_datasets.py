"""The training scenes of the campaign's current leg (`dataset_v3.py`): deterministic, and
with what they add to version 1's (`dataset_v1.py`).

    python -m unittest models/train/test_datasets.py
"""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset_v1  # noqa: E402
import dataset_v3  # noqa: E402

H, W, LIMIT = 96, 192, 200.0


class Scenes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v1 = dataset_v1.StereoSceneGenerator(H, W, max_disp=LIMIT, seed=3)
        cls.v3 = dataset_v3.StereoSceneGenerator(H, W, max_disp=LIMIT, seed=3)

    def test_a_sample_is_the_same_from_a_fresh_generator_with_the_same_seed(self):
        again = dataset_v3.StereoSceneGenerator(H, W, max_disp=LIMIT, seed=3)
        for a, b in zip(dataset_v3.StereoSceneGenerator(H, W, max_disp=LIMIT, seed=3).sample(5), again.sample(5)):
            np.testing.assert_array_equal(a, b)
        left, right, d = again.sample(6)
        self.assertEqual(left.shape, (H, W, 3))
        self.assertEqual(d.shape, (H, W))
        self.assertTrue(np.isfinite(d).all() and (d >= 0).all() and (d <= LIMIT).all())

    def test_thin_objects_are_added_nearer_than_every_object(self):
        for i in range(20):
            rng = np.random.default_rng([3, i])
            layers = self.v1._scene(rng)
            objects = [dataset_v3.layer_disparity(L, H, W) for L in layers if L.kind not in ("full", "ground", "wall")]
            added = self.v3.near_thin_objects(rng, layers)
            self.assertTrue(1 <= len(added) <= 4)
            for L in added:
                self.assertIn(L.kind, dataset_v3.THIN_KINDS)
                self.assertGreaterEqual(L.a, min(max(objects) + 2.0, LIMIT - 1.0) - 1e-6)
                self.assertLessEqual(L.a, LIMIT)
                self.assertEqual((L.b, L.c), (0.0, 0.0))

    def test_more_scenes_reach_large_disparities_than_version_1s(self):
        def large(gen):
            return sum(float(gen.sample(i)[2].max()) >= 100.0 for i in range(1, 41))
        self.assertGreater(large(self.v3), large(self.v1) + 4)


if __name__ == "__main__":
    unittest.main()
