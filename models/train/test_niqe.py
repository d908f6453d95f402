"""niqe.py: scikit-video's NIQE runs on today's NumPy and SciPy, and ranks as NIQE should:
a photograph is more natural (lower) than the same photograph blurred or noised.

    python -m unittest models/train/test_niqe.py
"""

from __future__ import annotations

import os
import sys
import unittest

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from niqe import niqe, niqe_rgb  # noqa: E402


class NiqeTest(unittest.TestCase):
    def test_blur_and_noise_are_less_natural_than_the_photograph(self):
        photo = skimage.data.astronaut().astype(np.float32) / 255.0
        sharp = niqe_rgb(photo)
        blurred = niqe_rgb(cv2.GaussianBlur(photo, (0, 0), 3))
        noisy = niqe_rgb(np.clip(photo + np.random.default_rng(0).normal(0, 0.1, photo.shape), 0, 1))
        self.assertTrue(np.isfinite(sharp))
        self.assertLess(sharp + 2, blurred)
        self.assertLess(sharp + 2, noisy)

    def test_small_or_colour_input_is_refused(self):
        with self.assertRaises(ValueError):
            niqe(np.zeros((100, 300)))
        with self.assertRaises(ValueError):
            niqe(np.zeros((300, 300, 3)))


if __name__ == "__main__":
    unittest.main()
