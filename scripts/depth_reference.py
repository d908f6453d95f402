"""Reference runner for the Rust depth module (src/depth), used by tests/depth.rs.

An independent implementation of the same pre- and post-processing with numpy, OpenCV and
Python onnxruntime, so the Rust output can be compared with it on the same input.

    depth_reference.py raw MODEL DIR W H
        DIR/left.f32, DIR/right.f32: network inputs [1, 3, H, W] (raw little-endian float32)
        writes DIR/raw_output.f32: the model's `disparity` [1, 1, H, W]
    depth_reference.py pipeline MODEL DIR W H SCALE
        DIR/left.rgba, DIR/right.rgba: 8-bit RGBA images W x H, tightly packed
        writes DIR/py_left.f32, DIR/py_right.f32 (the padded network inputs) and
        DIR/py_disparity.f32 (H x W, disparity in input pixels)
    depth_reference.py make-models DIR
        writes small models for the bad-input tests: wrong_inputs.onnx (inputs named `image`
        and `other`), wrong_type.onnx (float64 inputs), nan.onnx (right layout, NaN output)
        and red.onnx (right layout, disparity = 8 x red channel of `left`, stride 16)

Run with the project's venv: .venv/bin/python scripts/depth_reference.py ...
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

CPU_THREADS = 2


def session(model):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = CPU_THREADS
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def stride_of(sess):
    return int(sess.get_modelmeta().custom_metadata_map.get("stride", "32"))


def read_f32(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def raw(model, d, w, h):
    sess = session(model)
    left = read_f32(os.path.join(d, "left.f32"), (1, 3, h, w))
    right = read_f32(os.path.join(d, "right.f32"), (1, 3, h, w))
    out = sess.run(["disparity"], {"left": left, "right": right})[0]
    out.astype("<f4").tofile(os.path.join(d, "raw_output.f32"))


def round_half_up(x):
    # Rust's f64::round rounds halves away from zero; Python's round() does not
    return int(math.floor(x + 0.5))


def pipeline(model, d, w, h, scale):
    import cv2

    sess = session(model)
    stride = stride_of(sess)
    ww, wh = max(1, round_half_up(w * scale)), max(1, round_half_up(h * scale))
    pw, ph = -(-ww // stride) * stride, -(-wh // stride) * stride
    tensors = {}
    for name in ("left", "right"):
        rgba = np.fromfile(os.path.join(d, f"{name}.rgba"), dtype=np.uint8).reshape(h, w, 4)
        img = rgba[..., :3].astype(np.float32) / np.float32(255.0)
        if (ww, wh) != (w, h):
            img = cv2.resize(img, (ww, wh), interpolation=cv2.INTER_AREA)
        img = np.pad(img, ((0, ph - wh), (0, pw - ww), (0, 0)), mode="edge")
        tensor = np.ascontiguousarray(img.transpose(2, 0, 1)[None])
        tensor.astype("<f4").tofile(os.path.join(d, f"py_{name}.f32"))
        tensors[name] = tensor
    out = sess.run(["disparity"], tensors)[0][0, 0, :wh, :ww]
    if (ww, wh) != (w, h):
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / ww)
    out.astype("<f4").tofile(os.path.join(d, "py_disparity.f32"))


def make_models(d):
    import onnx
    from onnx import TensorProto, helper

    os.makedirs(d, exist_ok=True)

    def tensor(name, elem=TensorProto.FLOAT, channels=3):
        return helper.make_tensor_value_info(name, elem, [1, channels, "height", "width"])

    def save(nodes, inputs, outputs, name, meta=None, initializers=()):
        graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        for k, v in (meta or {}).items():
            p = m.metadata_props.add()
            p.key, p.value = k, v
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(d, name))

    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [0])
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [1])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    eight = helper.make_tensor("eight", TensorProto.FLOAT, [], [8.0])
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    # disparity = 8 * left[:, 0:1] + 0 * right[:, 0:1]
    red_nodes = [
        helper.make_node("Slice", ["left", "starts", "ends", "axes"], ["left_red"]),
        helper.make_node("Slice", ["right", "starts", "ends", "axes"], ["right_red"]),
        helper.make_node("Mul", ["left_red", "eight"], ["scaled"]),
        helper.make_node("Mul", ["right_red", "zero"], ["nothing"]),
        helper.make_node("Add", ["scaled", "nothing"], ["disparity"]),
    ]
    save(red_nodes, [tensor("left"), tensor("right")], [tensor("disparity", channels=1)], "red.onnx",
         {"stride": "16", "max_disparity": "8"}, [starts, ends, axes, eight, zero])
    # disparity = sqrt(red - 2): NaN everywhere (inputs are in [0, 1])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nan_nodes = red_nodes[:2] + [
        helper.make_node("Sub", ["left_red", "two"], ["negative"]),
        helper.make_node("Mul", ["right_red", "zero"], ["nothing"]),
        helper.make_node("Add", ["negative", "nothing"], ["sum"]),
        helper.make_node("Sqrt", ["sum"], ["disparity"]),
    ]
    save(nan_nodes, [tensor("left"), tensor("right")], [tensor("disparity", channels=1)], "nan.onnx",
         {}, [starts, ends, axes, two, zero])
    wrong = [helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["disparity"]),
             helper.make_node("Identity", ["other"], ["unused"])]
    save(wrong, [tensor("image"), tensor("other")], [tensor("disparity", channels=1), tensor("unused")],
         "wrong_inputs.onnx", {}, [starts, ends, axes])
    doubles = [helper.make_node("Slice", ["left", "starts", "ends", "axes"], ["disparity"]),
               helper.make_node("Identity", ["right"], ["unused"])]
    save(doubles, [tensor("left", TensorProto.DOUBLE), tensor("right", TensorProto.DOUBLE)],
         [tensor("disparity", TensorProto.DOUBLE, channels=1), tensor("unused", TensorProto.DOUBLE)],
         "wrong_type.onnx", {}, [starts, ends, axes])


def main(argv):
    if len(argv) >= 2 and argv[1] == "raw" and len(argv) == 6:
        raw(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif len(argv) >= 2 and argv[1] == "pipeline" and len(argv) == 7:
        pipeline(argv[2], argv[3], int(argv[4]), int(argv[5]), float(argv[6]))
    elif len(argv) == 3 and argv[1] == "make-models":
        make_models(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
