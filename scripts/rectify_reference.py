"""OpenCV reference for the Rust rectification (src/rectify), used by tests/rectify.rs.

    rectify_reference.py DIR W H

Makes a stereo camera with known parameters (lens distortion, a slightly rotated and
offset right camera), rectifies it with cv2.stereoRectify, and writes into DIR:
  intrinsics.yml, extrinsics.yml   as OpenCV's stereo_calib sample writes them (FileStorage:
                                   M1 D1 M2 D2; R T R1 R2 P1 P2 Q)
  left.yaml, right.yaml            the same calibration as ROS camera_info files
  left.rgba, right.rgba            an unrectified pair: a scene seen through that camera
                                   (8-bit RGBA, W x H)
  rect_left.rgba, rect_right.rgba  what cv2.initUndistortRectifyMap + cv2.remap (bilinear,
                                   black border) make of them
  map_left.f32, map_right.f32      OpenCV's maps, (x, y) per pixel, float32
Run with the project's venv: .venv/bin/python scripts/rectify_reference.py ...
"""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import skimage.data


def camera(w, h):
    k1 = np.array([[0.9 * w, 0, w / 2 + 3.5], [0, 0.9 * w, h / 2 - 2.5], [0, 0, 1]], np.float64)
    k2 = np.array([[0.91 * w, 0, w / 2 - 4.0], [0, 0.91 * w, h / 2 + 1.5], [0, 0, 1]], np.float64)
    d1 = np.array([[-0.18, 0.06, 0.0012, -0.0008, 0.0]], np.float64)
    d2 = np.array([[-0.16, 0.04, -0.0010, 0.0006, 0.0]], np.float64)
    r, _ = cv2.Rodrigues(np.array([0.012, -0.018, 0.006]))
    t = np.array([[-0.12], [0.003], [0.002]], np.float64)
    return k1, d1, k2, d2, r, t


def write_ros(path, w, h, name, k, d, r, p):
    def matrix(key, m):
        m = np.asarray(m, np.float64)
        rows, cols = m.shape
        data = ", ".join(repr(float(v)) for v in m.flatten())
        return f"{key}:\n  rows: {rows}\n  cols: {cols}\n  data: [{data}]\n"

    with open(path, "w") as f:
        f.write(f"image_width: {w}\nimage_height: {h}\ncamera_name: {name}\n")
        f.write(matrix("camera_matrix", k))
        f.write("distortion_model: plumb_bob\n")
        f.write(matrix("distortion_coefficients", d))
        f.write(matrix("rectification_matrix", r))
        f.write(matrix("projection_matrix", p))


def main():
    out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    k1, d1, k2, d2, r, t = camera(w, h)
    r1, r2, p1, p2, q, _, _ = cv2.stereoRectify(k1, d1, k2, d2, (w, h), r, t, alpha=0)
    fs = cv2.FileStorage(os.path.join(out, "intrinsics.yml"), cv2.FILE_STORAGE_WRITE)
    for key, m in (("M1", k1), ("D1", d1), ("M2", k2), ("D2", d2)):
        fs.write(key, m)
    fs.release()
    fs = cv2.FileStorage(os.path.join(out, "extrinsics.yml"), cv2.FILE_STORAGE_WRITE)
    for key, m in (("R", r), ("T", t), ("R1", r1), ("R2", r2), ("P1", p1), ("P2", p2), ("Q", q)):
        fs.write(key, m)
    fs.release()
    write_ros(os.path.join(out, "left.yaml"), w, h, "left", k1, d1, r1, p1)
    write_ros(os.path.join(out, "right.yaml"), w, h, "right", k2, d2, r2, p2)
    # a textured scene (a photograph without depth ground truth), the right view a shifted crop
    scene = cv2.resize(skimage.data.astronaut(), (w + 40, h), interpolation=cv2.INTER_AREA)
    views = {"left": scene[:, 20:20 + w], "right": scene[:, 8:8 + w]}
    for name, k, d, rr, p in (("left", k1, d1, r1, p1), ("right", k2, d2, r2, p2)):
        rgba = cv2.cvtColor(np.ascontiguousarray(views[name]), cv2.COLOR_RGB2RGBA)
        rgba.tofile(os.path.join(out, f"{name}.rgba"))
        mx, my = cv2.initUndistortRectifyMap(k, d, rr, p, (w, h), cv2.CV_32FC1)
        rect = cv2.remap(rgba, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        rect.tofile(os.path.join(out, f"rect_{name}.rgba"))
        np.stack([mx, my], axis=-1).astype(np.float32).tofile(os.path.join(out, f"map_{name}.f32"))


if __name__ == "__main__":
    main()
